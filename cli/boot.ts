import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UnsupportedError } from '../bytes/errors.js';
import { RUN_FORMATS, type RunFormat } from '../reports/formats.js';
import { painter, safeTerminalText, useColour } from '../reports/style.js';
import { EXIT } from '../engine/results.js';
import { selectionFrom } from '../engine/select.js';
import { loadSpecOrThrow } from '../requirements/spec-load.js';
import { guardInterrupts, interruptExitCode } from '../boot/interrupt.js';
import { describeBoot, planBoots } from '../boot/plan.js';
import type { BootEnvironment, BootImage, BootRunner, GuestAgent, PhaseEvent } from '../boot/types.js';
import { wantsCloudInit, type BootParts, type BootRequest } from '../boot/request.js';
import { addReportOptions, addSelectionOptions, collect, formatOption, outputOption, positiveInt, prepareReports, verboseOption, type SpecSelectionFlags } from './options.js';
import { finishReports, renderOutput } from './output.js';
import { writeStdout } from './stdout.js';

/** Options of `vmspec boot` as commander hands them over. */
export interface BootFlags extends BootRequest, SpecSelectionFlags {
  format: RunFormat;
  output?: string;
  verbose?: boolean;
  report?: string[];
  waivers?: string;
  /** `--accel kvm` without an aarch64 /dev/kvm: the nested L1 host's GIC (boot/nested). */
  kvmHostGic?: '2' | '3' | 'match';
}

const BOOT_HELP = `
What it does:
  1. obtain the image (a path, an http(s)/file URL with a pinned checksum, or a
     named reference; none given: the built-in reference)
  2. verify it statically; a failing MUST image clause stops here (--force boots anyway)
  3. find UEFI firmware from QEMU's firmware descriptors (or --firmware)
  4. boot 1: write a test UEFI variable; boot 2 (power cycle, same variable
     store): check it. --gic both (default) gives boot 1 a GICv2, boot 2 a GICv3.
     The built-in reference under QEMU ends boot 2 with a guest reset (PSCI
     SYSTEM_RESET), stopped once the VM starts again
  5. read each boot's evidence disk, the serial logs and the variable store,
     and report one verdict per clause (with no selection option: every
     clause, since a boot observes the image, the guest and the host side)

Exit codes:
  0    every selected MUST/SHALL clause passed (or was waived)
  1    a MUST/SHALL clause failed (a boot the hypervisor refused, or in which the
       firmware started no OS, fails the clauses that boot exists to prove), or the
       image is not compliant (without --force)
  2    usage or input error (bad option, unreadable image, download or checksum failure, no firmware)
  3    a clause errored (a probe could not run); the report is still written
  4    no MUST/SHALL clause failed, but one is undecided (its input was missing or
       unreadable, e.g. a boot that left no evidence); the report is still written
  130  interrupted (SIGINT); 143: terminated (SIGTERM). QEMU is stopped, temporary files removed`;

/** `vmspec boot`: the original vmspec-boot, rebuilt (boot/run.ts). Heavy modules load only when it runs. */
export function addBootCommand(program: Command): void {
  const cmd = addReportOptions(addSelectionOptions(
    program
      .command('boot')
      .description('boot an image under QEMU with UEFI firmware, collect evidence inside it twice (with a power cycle), and verify everything, clause by clause')
      .argument('[image]', 'disk image path (raw or qcow2, never modified) or http(s)/file URL; default: the built-in reference'),
  ));
  cmd
    .option('--reference <name>', 'a named reference image from boot/references.yaml (builtin: built locally from Debian packages)')
    .option('--sha256 <hex>', 'expected sha256 of a downloaded image')
    .option('--sha512 <hex>', 'expected sha512 of a downloaded image')
    .option('--sums <url>', 'a SHA256SUMS/SHA512SUMS/CHECKSUM file listing the downloaded image')
    .option('--allow-unverified', 'download without any checksum (not recommended)')
    .option('--cache-dir <dir>', 'cache root for downloads and the built-in reference (default: $XDG_CACHE_HOME/vmspec)')
    .option('--firmware <code>', 'UEFI firmware code (pflash 0, padded to 64 MiB in a copy) instead of the QEMU firmware descriptors; alone, any single firmware image, loaded as -bios (variables volatile); with --hypervisor xen: the domain\'s guest firmware, loaded by xl as its kernel')
    .option('--vars-template <vars>', 'variable-store template copied per VM (pflash 1); with --firmware')
    .option('--firmware-feature <feature>', 'require a descriptor feature (e.g. secure-boot), or exclude it with no-FEATURE; repeatable', collect)
    .addOption(new Option('--gic <version>', 'GIC of boot 1 and boot 2: both = GICv2 then GICv3').choices(['2', '3', 'both']).default('both'))
    .option('--acpi', 'boot with ACPI tables (the default)')
    .option('--no-acpi', 'boot with a device tree only (-M virt,acpi=off)')
    .option('--no-persistent-vars', 'give boot 2 a fresh variable store (shows what a hypervisor that loses variables fails)')
    .addOption(new Option('--cloud-init <mode>', 'run the collector through a cloud-init NoCloud seed: auto (when the image has cloud-init), on, off (the image runs collect.sh itself)').choices(['auto', 'on', 'off']).default('auto'))
    .addOption(new Option('--hypervisor <name>', 'qemu boots here; xen boots the image as a Xen domU (Debian\'s Xen 4.17 nested in QEMU TCG; docs/xen.md), or prints its xl configuration with --dry-run').choices(['qemu', 'xen']).default('qemu'))
    .option('--dry-run', 'print what would run (for xen: the xl domain configuration) and exit')
    .option('--qemu <path>', 'qemu-system-aarch64 to use (default: from PATH)')
    .option('--qemu-arg <arg>', 'extra QEMU argument, passed as is; repeatable', collect)
    .option('--memory <MiB>', 'guest memory', '1024')
    .option('--cpus <n>', 'guest CPUs', '2')
    .option('--timeout <seconds>', 'per boot: stop QEMU after this long', '300')
    .addOption(new Option('--accel <accel>', 'kvm (on an aarch64 host with /dev/kvm; elsewhere KVM inside a nested aarch64 host emulated with TCG, docs/kvm.md), tcg, or auto (KVM only where /dev/kvm is usable)').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .addOption(new Option('--kvm-host-gic <gic>', 'the nested KVM host\'s GIC (--accel kvm without an aarch64 /dev/kvm): 3 offers only vGICv3, as a GICv3 host without GICv2 compatibility (a GICv2 boot is refused); 2 offers only vGICv2; match: each boot\'s own').choices(['2', '3', 'match']).default('3'))
    .option('--force', 'boot even when the image fails a mandatory image clause')
    .addOption(new Option('--backing <mode>', 'qcow2 backing files: refuse, or follow (read-only; QEMU then opens the chain too)').choices(['follow', 'refuse']).default('refuse'))
    .option('--keep', 'keep the work directory (variable stores, evidence disks, serial logs) and print its path')
    .option('--work-dir <dir>', 'where the per-run work directory is made (default: the system temporary directory)')
    .addOption(formatOption(RUN_FORMATS, { default: 'text' }))
    .addOption(outputOption('the report'))
    .addOption(verboseOption())
    .addHelpText('after', BOOT_HELP)
    .action(async (image: string | undefined, o: BootFlags) => {
      const { defaultParts } = await import('../boot/real-parts.js');
      await bootAction(image, o, defaultParts);
    });
}

/** Obtain, find QEMU and firmware, boot (boot/run.ts), then report; signals and boot failures become exit codes. */
export async function bootAction(image: string | undefined, o: BootFlags, parts: BootParts): Promise<void> {
  const memoryMiB = positiveInt('memory', o.memory, 1024 * 1024);
  const cpus = positiveInt('cpus', o.cpus, 512);
  const timeoutMs = positiveInt('timeout', o.timeout, 24 * 3600) * 1000;
  if (image !== undefined && o.reference !== undefined) throw new UnsupportedError('give an IMAGE (path or URL) or --reference NAME, not both');
  const prepared = prepareReports(o);
  const spec = loadSpecOrThrow(o.spec);
  const say = (m: string) => process.stderr.write(`vmspec boot: ${safeTerminalText(m)}\n`);
  // From here to the end a signal in any phase ends in cleanup and 130/143 (boot/interrupt.ts: why not process.once).
  const interrupt = guardInterrupts(say);
  const signal = interrupt.signal;
  try {
    // The boot layer (and the probes behind it) loads only when a boot runs.
    const [{ chooseAccelerator, kvmUsable, qemuVersion }, { findQemu }, { runBoot }, { BootCanceledError, ImageNotCompliantError, throwIfCanceled }] = await Promise.all([
      import('../boot/environment.js'), import('../boot/qemu-run.js'), import('../boot/run.js'), import('../boot/errors.js'),
    ]);
    const progress = await phaseProgress();
    try {
      const obtained = await parts.resolveImage(image, o, (m) => progress({ phase: `obtain: ${m}`, state: 'start' }), signal);
      signal.throwIfAborted(); // a download or build that finished anyway: reported as interrupted while obtaining
      progress({ phase: 'obtain', state: 'done', ms: 0, detail: `${obtained.source} (${obtained.format})` });
      if (o.hypervisor === 'xen' && o.dryRun) {
        writeStdout(parts.xlConfig(obtained, o));
        return;
      }
      const qemu = o.qemu ?? findQemu();
      if (qemu === undefined || !existsSync(qemu)) throw new UnsupportedError(`QEMU not found${o.qemu ? ` at ${o.qemu}` : ' (qemu-system-aarch64 on PATH)'}`, 'apt-get install --no-install-recommends qemu-system-arm, or give --qemu PATH');
      const version = await qemuVersion(qemu);
      // --accel kvm where this host has no aarch64 KVM: KVM inside a nested L1 host (boot/nested, docs/kvm.md).
      const nested = o.hypervisor !== 'xen' && o.accel === 'kvm' && !kvmUsable();
      const hostGic = o.kvmHostGic === '2' ? 2 : o.kvmHostGic === 'match' ? 'match' : 3;
      if (nested) say(`--accel kvm: this ${process.arch} host has no aarch64 /dev/kvm; each boot runs under KVM inside a nested L1 aarch64 host (QEMU TCG with EL2, ${hostGic === 'match' ? 'L1 GIC = each boot\'s' : `L1 GICv${hostGic}`}): minutes per boot (docs/kvm.md)`);
      const agent: GuestAgent = wantsCloudInit(o.cloudInit, obtained) ? parts.cloudInitAgent() : { kind: 'reference-init' };
      let env: BootEnvironment;
      let runner: BootRunner | undefined;
      const routeWarnings: string[] = [];
      if (o.hypervisor === 'xen') {
        // Xen nested in QEMU TCG (docs/xen.md): the domain boots the given guest firmware, else the image's kernel directly.
        if (o.varsTemplate !== undefined) throw new UnsupportedError('--vars-template has no meaning with --hypervisor xen: a Xen domain has no variable-store file');
        if (o.accel === 'kvm') throw new UnsupportedError('--hypervisor xen runs Xen nested in QEMU TCG: --accel kvm does not apply');
        const { xenRoute } = await import('../boot/xen/xen-route.js');
        const route = await xenRoute(obtained, { qemu, qemuVersion: version, ...(o.firmware !== undefined ? { firmware: o.firmware } : {}), ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}), onProgress: (m) => progress({ phase: `Xen host: ${m}`, state: 'start' }) });
        signal.throwIfAborted();
        progress({ phase: 'Xen host', state: 'done', ms: 0, detail: `${route.host.key}${route.host.cached ? ' (cached)' : ''}` });
        env = route.env;
        runner = route.runner;
        if (route.domu.kind === 'direct') routeWarnings.push(`${route.env.firmware.description ?? ''}: ${route.domu.from}; the UEFI clauses are judged (and fail) on that evidence (docs/xen.md)`);
      } else {
        const accelerator = nested ? 'kvm' : chooseAccelerator(o.accel);
        const firmware = await parts.resolveFirmware(o, qemu);
        env = { hypervisor: `QEMU ${version.split(' ')[0]} (${accelerator.toUpperCase()})`, qemu: { path: qemu, version }, accelerator, firmware };
      }
      if (o.dryRun) {
        // QEMU here and the nested KVM route both watch boot 2's reset (boot/run.ts resetNotExercised).
        writeStdout(dryRunText(obtained, nested ? { ...env, hypervisor: `KVM nested in a TCG L1 aarch64 host (built or found cached on the first real run)` } : env, agent, o, agent.kind === 'reference-init')
          + (nested ? `route:       L0 ${qemu} -M virt,virtualization=on,gic-version=${hostGic === 'match' ? 'BOOT\'S' : hostGic} (TCG) boots the L1 KVM host; inside it qemu-system-aarch64 -accel kvm -cpu host runs each boot (docs/kvm.md)\n` : ''));
        return;
      }
      if (nested) {
        const { nestedKvmRoute } = await import('../boot/nested/route.js');
        const route = await nestedKvmRoute({ l0Qemu: qemu, l0Version: version, hostGic, ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}), onProgress: (m) => progress({ phase: m, state: 'start' }), signal });
        progress({ phase: 'L1 KVM host', state: 'done', ms: 0, detail: `${route.host.key}${route.host.cached ? ' (cached)' : ' (built)'}` });
        env.hypervisor = route.hypervisor;
        runner = route.runner;
      }
      const run = await runBoot({
        spec, selection: selectionFrom(o), ...(prepared.waivers ? { waivers: prepared.waivers } : {}),
        image: obtained, agent, env, varsFileFacts: parts.varsFileFacts, ...(runner ? { runner } : {}),
        // A Xen domain's disks are PV block devices on xenbus (xvda, xvdb, …), not virtio on PCI: what PLAT-2 expects to find.
        ...(o.hypervisor === 'xen' ? { guestDisks: 'xen-vbd' as const } : {}),
        gic: o.gic, acpi: o.acpi !== false, persistentVars: o.persistentVars,
        memoryMiB, cpus, timeoutMs, qemuArgs: o.qemuArg ?? [],
        force: o.force ?? false, keep: o.keep ?? false, backing: o.backing,
        ...(o.workDir ? { workDir: o.workDir } : {}),
        signal,
        onPhase: progress,
      });
      if (routeWarnings.length > 0) run.warnings = [...routeWarnings, ...(run.warnings ?? [])];
      const finished = await finishReports(run, prepared, spec, new Date(), o.verbose ?? false);
      // An interrupt during the reports' evaluation: the run is over, nothing is printed.
      throwIfCanceled(signal);
      await renderOutput(RUN_FORMATS, o.format, finished, { output: o.output, spec, verbose: o.verbose });
      if (run.boot.workDir) process.stderr.write(`kept: ${run.boot.workDir}\n`);
      const failed = run.boot.boots.flatMap((b) => (b.failure ? [b.failure] : []));
      for (const f of failed) say(`${f.reason}${f.hypervisorMessage ? `\n  QEMU: ${f.hypervisorMessage.replace(/\n/g, '\n  QEMU: ')}` : ''}`);
      // A boot that gave no evidence leaves clauses undecided: that is never "every clause passed".
      process.exitCode = failed.length && finished.exitCode === EXIT.ok ? EXIT.undecided : finished.exitCode;
    } catch (e) {
      if (e instanceof BootCanceledError) {
        say(e.message);
        process.exitCode = interruptExitCode(e.signalName);
        return;
      }
      if (signal.aborted) {
        say(`interrupted by ${String(signal.reason)} while obtaining or preparing: nothing was left running`);
        process.exitCode = interruptExitCode(signal.reason);
        return;
      }
      if (e instanceof ImageNotCompliantError) {
        say(`${e.message}\n(${e.hint})`);
        process.exitCode = EXIT.failed;
        return;
      }
      throw e;
    }
  } finally {
    interrupt.dispose();
  }
}

function dryRunText(image: BootImage, env: BootEnvironment, agent: GuestAgent, o: BootFlags, exerciseReset: boolean): string {
  return [
    `image:       ${image.source} (${image.format}${image.sha256 ? `, sha256 ${image.sha256}` : ''})`,
    `             ${image.path}`,
    `hypervisor:  ${env.hypervisor}: ${env.qemu.path}`,
    `firmware:    ${env.firmware.code}${env.firmware.descriptor ? ` (from ${env.firmware.descriptor})` : ''}`,
    `vars:        ${env.firmware.varsTemplate !== undefined ? `a copy of ${env.firmware.varsTemplate} per VM instance` : 'none: the firmware is loaded as -bios, its variables are volatile'}`,
    `collector:   ${agent.kind === 'cloud-init' ? 'cloud-init NoCloud seed (CIDATA) runs collect.sh' : 'the reference image\'s /init runs collect.sh'}`,
    `boots:       ${planBoots({ gic: o.gic, acpi: o.acpi !== false, persistentVars: o.persistentVars, exerciseReset }).map((b) => `${describeBoot(b)} ${b.phase}s the test variable${b.vars === 'same' ? ' (same variable store)' : b.vars === 'fresh' ? ' (fresh variable store)' : ''}${b.end === 'reset' ? ', then resets the VM (PSCI SYSTEM_RESET)' : ''}`).join('; ')}`,
    '',
  ].join('\n');
}

/** Phases on stderr with elapsed times: a spinner on a terminal, nothing otherwise (CI logs stay clean). */
async function phaseProgress(): Promise<(e: PhaseEvent) => void> {
  if (!process.stderr.isTTY) return () => {};
  const { default: ora } = await import('ora');
  const paint = painter(useColour());
  let spinner: ReturnType<typeof ora> | undefined;
  return (e) => {
    if (e.state === 'start') {
      if (spinner?.isSpinning) spinner.text = e.phase;
      else spinner = ora({ stream: process.stderr, text: e.phase }).start();
      return;
    }
    const line = `${e.phase}${e.detail ? `: ${e.detail}` : ''} ${paint('dim', `(${(e.ms / 1000).toFixed(1)} s)`)}`;
    if (e.state === 'done') spinner?.succeed(line);
    else spinner?.fail(line);
    spinner = undefined;
  };
}
