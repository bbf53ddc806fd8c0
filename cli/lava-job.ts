import { Option, type Command } from 'commander';
import { selectionFrom } from '../engine/select.js';
import type { LavaJobRequest } from '../lava/run.js';
import { addSelectionOptions, collect, positiveInt, type SpecSelectionFlags } from './options.js';

/** Options of `vmspec lava-job`, as commander hands them over. */
interface LavaJobFlags extends SpecSelectionFlags, Omit<LavaJobRequest, 'selection' | 'memoryMiB' | 'jobTimeoutMinutes'> {
  memory: string;
  timeout: string;
}

const HELP = `
What a job does (docs/scale.md has the whole data flow):
  1. deploy (to: tmpfs): the disk image, the firmware CODE (pflash unit 0,
     read-only) and VARS (pflash unit 1, a fresh copy per job), and the
     evidence disk (blank but for its header and the guest script);
  2. boot (method: qemu, machine virt,gic-version=N[,acpi=off]) and log in;
  3. in the guest: one run step copies the guest script (with collect.sh)
     off the evidence disk and runs it: collect, copy the bundle to
     the evidence disk, PUT it to --artifacts; test cases vmspec-collect,
     vmspec-evidence-disk, vmspec-upload-bundle;
  4. on the worker, in the --verdict-image container (LAVA docker test
     shell): fetch the bundle, run vmspec verify --evidence, report ONE test
     case per selected requirement (id in lower case: V2-FW-UEFI ->
     v2-fw-uefi) from its result, PUT the results JSON beside the bundle.
  Result mapping: pass->pass, fail->fail, skip/manual/waived->skip,
  error or no result (bundle or vmspec missing)->unknown.
An image with "collects: console" in the matrix (the built-in reference,
vmspec reference build) has no login shell: its job only boots, and LAVA
test monitors record the console frame (vmspec-frame.evidence) and the
collector's exit (vmspec-collect.vmspec_done) before it powers off. The
bundle is in the job log: scripts/lava-results.sh fetches each log and
judges it with vmspec verify --evidence; --artifacts is not needed. With
--lava-url, console jobs also get a verdict step in the lab: LAVA's docker
test shell (--verdict-image, namespace vmspec-verdicts) fetches the job's
own log from that server, judges the frame with vmspec verify --evidence
and reports one test case per requirement (same mapping as above).
Shell jobs with --lava-url need no --artifacts store either: the guest
frames the bundle on the console instead of uploading it, and step 4
reads that frame from the job's log in the same way.

Without selection options the requirements judged from in-guest evidence
are selected. Exit: 0 jobs written, 2 usage or input error.

Examples:
  vmspec lava-job --image https://lab/debian-12-genericcloud-arm64.qcow2 \\
    --firmware https://lab/AAVMF_CODE.fd --vars https://lab/AAVMF_VARS.fd \\
    --gic both --artifacts https://store.lab/vmspec/ --output jobs/
  vmspec lava-job --matrix matrix.yaml --artifacts https://store.lab/vmspec/ --output jobs/
  for f in jobs/*.yaml; do lavacli jobs submit "$f"; done`;

/**
 * `vmspec lava-job`: LAVA job definitions for a matrix of images, firmware,
 * GIC versions, ACPI/DT and hypervisors. Modules load only when it runs.
 */
export function addLavaJobCommand(program: Command): void {
  addSelectionOptions(program
    .command('lava-job')
    .description('write LAVA job definitions (device_type qemu) that collect evidence in the guest: login jobs judge it with vmspec in the lab, one test case per requirement; console jobs (collects: console) carry the evidence frame in the log for scripts/lava-results.sh to judge'), { specHelp: 'built-in spec to judge against: vmspec-v2 or vmspec-v1 (not a directory: the verdict image carries the built-in specs)' })
    .option('--image <url|path>', 'disk image to boot (raw or qcow2; .gz/.xz/.bz2/.zst are decompressed by LAVA). A path becomes a file:// URL that must exist on the worker')
    .option('--image-sha256 <hex>', 'sha256 LAVA checks the downloaded image against')
    .addOption(new Option('--image-format <format>', 'disk format (default: qcow2 when the name ends in .qcow2, else raw)').choices(['raw', 'qcow2']))
    .option('--firmware <url|path>', 'UEFI firmware CODE (e.g. AAVMF_CODE.fd), pflash unit 0, read-only')
    .option('--firmware-sha256 <hex>', 'sha256 of the CODE file')
    .option('--vars <url|path>', 'pristine UEFI variable store (e.g. AAVMF_VARS.fd), pflash unit 1')
    .option('--vars-sha256 <hex>', 'sha256 of the VARS file')
    .addOption(new Option('--gic <version>', 'GIC version: 2, 3, or both (two jobs)').choices(['2', '3', 'both']))
    .option('--acpi', 'boot with ACPI tables (the default)')
    .option('--no-acpi', 'boot with a device tree only (-machine virt,acpi=off)')
    .option('--matrix <file>', 'YAML matrix (schema/lava-matrix.schema.json): images x firmware x gic x acpi x hypervisors; replaces --image/--firmware/--vars/--gic/--acpi')
    .option('--artifacts <url>', 'http(s) base URL that accepts PUT from the guest and GET from the worker: bundles and results go to URL/RUN-ID/JOB.tar and .json (shell jobs: with --lava-url, unused: the bundle travels in the job log)')
    .option('--run-id <id>', 'name of this generation under --artifacts (default: UTC time and a random suffix)')
    .option('--evidence-disk <url|path>', 'evidence disk to attach, one vmspec lava-job --output wrote (it carries the guest script; default: written as OUTPUT/evidence-disk.img and referenced as a file:// URL, so OUTPUT must be readable on the worker)')
    .option('-o, --output <dir>', 'write one JOB.yaml per job, index.json and the evidence disk here (default: the single job to standard output)')
    .option('--verdict-image <image>', 'container image with vmspec and vmspec-lava-verdict (lava/verdict-image/) on PATH, run by the LAVA docker test shell (docs/scale.md shows how to build it)', 'vmspec:latest')
    .option('--verdict-image-local', 'the verdict image is already on the worker: do not pull it')
    .option('--lava-url <url>', 'the LAVA server as the worker\'s containers reach it (e.g. http://lava.lab/); console jobs get a verdict step that reads the job\'s own log from its REST API and reports one test case per requirement; shell jobs\' verdict step reads the bundle from the console frame in their log too (no --artifacts store)')
    .option('--prompt <regex>', 'shell prompt of the booted image, a regular expression (repeatable; default: "root@[^ ]*:.*# ")', collect)
    .option('--login <user>', 'user LAVA logs in as on the serial console (the collector needs root for efivars)', 'root')
    .option('--password <password>', 'password for --login, if the image asks for one (stored in the job definition in clear)')
    .option('--cpu <model>', 'QEMU -cpu (TCG on x86 workers)', 'cortex-a57')
    .option('--memory <MiB>', 'guest memory (the device dictionary may cap it)', '2048')
    .option('--timeout <minutes>', 'whole-job timeout in minutes', '90')
    .option('--no-console-frame', 'do not also print the bundle as base64 on the console (the LAVA log)')
    .addHelpText('after', HELP)
    .action(async (o: LavaJobFlags) => {
      const { runLavaJob } = await import('../lava/run.js');
      const { memory, timeout, ...rest } = o;
      await runLavaJob({
        ...rest,
        selection: selectionFrom(o),
        memoryMiB: positiveInt('memory', memory, 1024 * 1024),
        jobTimeoutMinutes: positiveInt('timeout', timeout, 24 * 60),
      });
    });
}
