import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createEvidenceDisk } from '../../boot/reference/evidence-disk.js';
import { jobYaml } from '../../lava/emit.js';
import { createShellJobEvidenceDisk } from '../../lava/evidence-disk.js';
import { COLLECTOR_PATH, generateJobs } from '../../lava/generate.js';
import { runScript, writeFileStep, type InlineDefinition } from '../../lava/inline-definition.js';
import type { GeneratedJob, LavaJob } from '../../lava/job.js';
import { parseMatrix } from '../../lava/matrix.js';
import { STEP_CASES, TEST_CASE_NAME, testCaseNames } from '../../lava/names.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { lavaCommonMissing, lavaValidate } from './lava-validator.js';

/**
 * Generated jobs against LAVA's own validator (lava_common.schemas, strict),
 * the shell they carry against shellcheck and sh itself, and the test case
 * names against LAVA's rules.
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-lava-jobs-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const MATRIX = `images:
  - { name: debian12, url: https://lab.example/debian-12-genericcloud-arm64.qcow2, sha256: ${'c'.repeat(64)} }
  - { name: reference, url: /srv/vmspec/reference.img.zst }
firmware:
  - name: aavmf
    code: { url: https://lab.example/AAVMF_CODE.fd, sha256: ${'d'.repeat(64)} }
    vars: { url: https://lab.example/AAVMF_VARS.fd }
gic: [2, 3]
acpi: [true, false]
hypervisors:
  - name: worker
  - name: qemu-9.0
    docker: { image: registry.lab/qemu:9.0, binary: qemu-system-aarch64, local: true }
    tags: [qemu-9]
`;

const spec = loadSpecOrThrow('vmspec-v2');
const requirements = spec.requirements.filter((r) => r.probe?.startsWith('evidence.') || r.id === 'V2-IMG-GPT' || r.manual);

function generate(extra: Partial<Parameters<typeof generateJobs>[0]['settings']> = {}): GeneratedJob[] {
  return generateJobs({
    matrix: parseMatrix(MATRIX, 'matrix.yaml'),
    specName: 'vmspec-v2',
    spec,
    requirements,
    settings: {
      artifacts: 'https://store.lab.example/vmspec/',
      runId: 'run-1',
      evidenceDisk: 'file:///srv/vmspec/evidence-disk.img',
      verdict: { image: 'vmspec:0.1.0', local: false },
      login: { prompts: ['root@[^ ]*:.*# '], username: 'root', password: "it's", loginPrompt: 'login:', passwordPrompt: 'Password:' },
      cpu: 'cortex-a57',
      memoryMiB: 2048,
      jobTimeoutMinutes: 90,
      consoleFrame: true,
      toolVersion: '0.1.0',
      ...extra,
    },
  });
}

function writeJob(name: string, definition: unknown): string {
  const p = join(work, name);
  writeFileSync(p, jobYaml(definition, `test job ${name}`));
  return p;
}

const lavaMissing = lavaCommonMissing();

t.test('every generated job passes LAVA\'s validator', { skip: lavaMissing }, async (t) => {
  const jobs = generate();
  t.equal(jobs.length, 2 * 1 * 2 * 2 * 2, 'one job per matrix cell');
  const paths = jobs.map((j) => writeJob(j.fileName, j.definition));
  const verdicts = lavaValidate(paths);
  t.equal(verdicts.length, jobs.length);
  for (const v of verdicts) t.ok(v.ok, `${v.path}: ${v.error ?? 'valid'}`);
});

t.test('LAVA\'s validator rejects broken jobs (so the check above can fail)', { skip: lavaMissing }, async (t) => {
  const base = generate()[0]!.definition;
  const clone = (): LavaJob => JSON.parse(JSON.stringify(base)) as LavaJob;
  const noTimeouts = clone() as Partial<LavaJob>;
  delete noTimeouts.timeouts;
  const badBoot = clone();
  (badBoot.actions[1] as { boot: { method: string } }).boot.method = 'qemu-typo';
  const strayKey = clone();
  ((strayKey.actions[0] as { deploy: { images: Record<string, Record<string, string>> } }).deploy.images.disk!).partition_table = 'gpt';
  const badContext = clone();
  badContext.context.gic_version = 3;
  const longAction = clone();
  (longAction.actions[2] as { test: { timeout: { minutes: number } } }).test.timeout.minutes = 600;
  const badTestdef = clone();
  const def = (badTestdef.actions[2] as { test: { definitions: InlineDefinition[] } }).test.definitions[0]!;
  (def.repository.metadata as { format: string }).format = 'Lava-Test Test Definition 2.0';
  const cases = { noTimeouts, badBoot, strayKey, badContext, longAction, badTestdef };
  const verdicts = lavaValidate(Object.entries(cases).map(([name, d]) => writeJob(`broken-${name}.yaml`, d)));
  for (const v of verdicts) t.notOk(v.ok, `${v.path} rejected: ${v.error ?? 'ACCEPTED'}`);
  t.match(verdicts[0]!.error, /timeouts/);
  t.match(verdicts[1]!.error, /unknown action type .*qemu_typo/);
});

t.test('what a job carries', async (t) => {
  const jobs = generate();
  const j = jobs.find((x) => x.slug === 'debian12-aavmf-gicv2-dt-qemu-9-0')!;
  t.ok(j, 'slug names image, firmware, GIC, description and hypervisor');
  const d = parse(jobYaml(j.definition, 'x'), { version: '1.1' }) as LavaJob;
  t.same(d.context, { arch: 'arm64', machine: 'virt,gic-version=2,acpi=off', cpu: 'cortex-a57', memory: 2048, guestfs_interface: 'virtio', netdevice: 'user' });
  t.same(d.tags, ['qemu-9']);
  t.same(d.metadata['vmspec.image'], 'debian12');
  t.same(d.metadata['vmspec.firmware'], 'aavmf');
  t.same(d.metadata['vmspec.gic'], '2');
  t.same(d.metadata['vmspec.acpi'], 'false');
  t.same(d.metadata['vmspec.hypervisor'], 'qemu-9.0');
  t.same(d.metadata['vmspec.spec'], 'vmspec-v2');
  t.same(d.metadata['vmspec.bundle'], 'https://store.lab.example/vmspec/run-1/debian12-aavmf-gicv2-dt-qemu-9-0.tar');
  const deploy = (d.actions[0] as { deploy: { to: string; images: Record<string, Record<string, string>> } }).deploy;
  t.equal(deploy.to, 'tmpfs');
  t.same(deploy.images.firmware_code, { url: 'https://lab.example/AAVMF_CODE.fd', image_arg: '-drive if=pflash,format=raw,unit=0,readonly=on,file={firmware_code}', sha256sum: 'd'.repeat(64) });
  t.same(deploy.images.firmware_vars!.image_arg, '-drive if=pflash,format=raw,unit=1,file={firmware_vars}');
  t.same(deploy.images.disk, { url: 'https://lab.example/debian-12-genericcloud-arm64.qcow2', image_arg: '-drive if=virtio,format=qcow2,file={disk}', sha256sum: 'c'.repeat(64) });
  t.same(deploy.images.evidence!.image_arg, '-drive if=virtio,format=raw,file={evidence}');
  for (const [label, img] of Object.entries(deploy.images)) t.ok(img.image_arg!.includes(`{${label}}`), `${label}: image_arg names its own placeholder`);
  const boot = (d.actions[1] as { boot: Record<string, unknown> }).boot;
  t.same(boot.docker, { image: 'registry.lab/qemu:9.0', binary: 'qemu-system-aarch64', local: true });
  t.same(boot.auto_login, { login_prompt: 'login:', username: 'root', password_prompt: 'Password:', password: "it's" });
  const verdict = (d.actions[3] as { test: { docker: unknown } }).test;
  t.same(verdict.docker, { image: 'vmspec:0.1.0' });

  const ref = jobs.find((x) => x.slug === 'reference-aavmf-gicv3-acpi-worker')!;
  const refDisk = (ref.definition.actions[0] as { deploy: { images: Record<string, Record<string, string>> } }).deploy.images.disk!;
  t.same(refDisk, { url: 'file:///srv/vmspec/reference.img.zst', image_arg: '-drive if=virtio,format=raw,file={disk}', compression: 'zstd' });
  t.notOk('tags' in ref.definition, 'no tags for the worker QEMU');
  t.notOk('docker' in (ref.definition.actions[1] as { boot: object }).boot, 'no docker for the worker QEMU');
});

t.test('test case names: one per selected requirement, a-z 0-9 and hyphens, unique', async (t) => {
  for (const id of ['vmspec-v2', 'vmspec-v1']) {
    const all = loadSpecOrThrow(id).requirements.map((r) => r.id);
    const names = testCaseNames(all);
    t.equal(names.size, all.length, `${id}: every requirement named`);
    t.equal(new Set(names.values()).size, all.length, `${id}: names are unique`);
    for (const n of names.values()) if (!TEST_CASE_NAME.test(n) || n.length > 100) t.fail(`${id}: unsafe name ${n}`);
  }
  for (const n of Object.values(STEP_CASES)) t.match(n, TEST_CASE_NAME, `step case ${n}`);
  t.throws(() => testCaseNames(['V2-A.B', 'V2-A-B']), /V2-A-B and requirement V2-A\.B would share the LAVA test case name "v2-a-b"/);
  t.throws(() => testCaseNames(['VMSPEC-COLLECT']), /the job step "vmspec-collect"/);
  t.throws(() => testCaseNames(['---']), /no usable LAVA test case name/);

  const j = generate()[0]!;
  // The step's last argument: the ids the shipped command reports, one case each (test/lava/verdict-step.test.ts).
  const ids = /'([A-Z0-9,-]+)' \|\| lava-test-case vmspec-verify --result fail$/.exec(j.verdictStep!)?.[1];
  t.same(ids?.split(','), requirements.map((r) => r.id), 'the verdict step judges exactly the selection, in spec order');
  const lavaCalls = [...`${j.scripts!.guest}\n${j.verdictStep!}`.matchAll(/(?:result|lava-test-reference) (vmspec-[a-z-]+)/g)].map((m) => m[1]);
  for (const c of new Set(lavaCalls)) t.ok((Object.values(STEP_CASES) as string[]).includes(c!), `${c} is a declared step case`);
});

t.test('the shell: shellcheck clean, and the guest definition is one line that runs the script the evidence disk carries', async (t) => {
  const j = generate()[0]!;
  const guestDef = (j.definition.actions[2] as { test: { definitions: InlineDefinition[] } }).test.definitions[0]!;
  const verdictDef = (j.definition.actions[3] as { test: { definitions: InlineDefinition[] } }).test.definitions[0]!;
  const files: Record<string, string> = {
    'guest.sh': j.scripts!.guest,
    'guest-run.sh': runScript(guestDef),
    'verdict-run.sh': runScript(verdictDef),
  };
  for (const [name, text] of Object.entries(files)) {
    const p = join(work, name);
    writeFileSync(p, text);
    const r = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', p], { encoding: 'utf8' });
    t.equal(r.status, 0, `shellcheck ${name}: ${r.stdout}${r.stderr}`);
  }
  t.same(verdictDef.repository.run.steps, [j.verdictStep], 'the verdict definition is one line: the command the verdict image ships');
  t.match(j.verdictStep!, /^vmspec-lava-verdict bundle 'https:\/\/store\.lab\.example\/vmspec\/run-1\/debian12-aavmf-gicv2-acpi-worker\.tar' 'https:\/\/store\.lab\.example\/vmspec\/run-1\/debian12-aavmf-gicv2-acpi-worker\.json' 'vmspec-v2' 'debian12-aavmf-gicv2-acpi-worker' /);
  t.same(guestDef.repository.run.steps, [j.guestStep], 'the guest definition is one line');
  t.notOk(j.guestStep!.includes('\n'), 'one line');
  t.ok(j.guestStep!.length < 1024, `the step is ${j.guestStep!.length} characters`);
  // Every job of the generation runs the same script (so one evidence disk serves them all).
  for (const other of generate()) if (other.scripts) t.equal(other.scripts.guest, j.scripts!.guest);

  // The script writes the collector it carries byte for byte (run up to the collector's here-document only).
  const collector = readFileSync(COLLECTOR_PATH, 'utf8');
  const head = j.scripts!.guest.split('\nrm -rf "$out" "$tar"\n')[0]!.replace('collector=/tmp/vmspec-collect.sh', `collector=${join(work, 'rebuilt-collect.sh')}`);
  t.equal(spawnSync('sh', ['-c', head], { encoding: 'utf8' }).status, 0);
  t.equal(readFileSync(join(work, 'rebuilt-collect.sh'), 'utf8'), collector, 'collect.sh arrives unchanged');
  t.match(j.scripts!.guest, new RegExp(`\n# vmspec-lava-guest end ${Buffer.byteLength(j.scripts!.guest)}\n$`), 'the end line names the script\'s own size');
  t.throws(() => writeFileStep('/tmp/x', 'a\nVMSPEC_X\nb', 'VMSPEC_X'), /would end the here-document early/);

  // The URL reaches the guest through shellQuote: a quote in it stays data.
  const quoted = generate({ artifacts: "https://store.lab.example/it's/" })[0]!;
  const echoArgs = quoted.guestStep!.replace(/then sh \/tmp\/vmspec-lava-guest\.sh /, 'then printf "%s|" ').replace(/^.*?(then printf)/, 'if true; $1');
  t.equal(spawnSync('sh', ['-c', echoArgs], { encoding: 'utf8' }).stdout, "https://store.lab.example/it's/run-1/debian12-aavmf-gicv2-acpi-worker.tar|1|");
});

t.test('the run step copies the guest script off the evidence disk, or fails vmspec-collect visibly', async (t) => {
  const j = generate()[0]!;
  const bin = join(work, 'step-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'lava-test-case'), `#!/bin/sh\necho "lava-test-case $*"\n`);
  chmodSync(join(bin, 'lava-test-case'), 0o755);
  // The step as the guest runs it, with two stand-ins: a disk image file for the /dev/vd? block devices,
  // and a report of what it would run instead of running collect.sh on this host.
  const copied = join(work, 'copied-guest.sh');
  const run = (disk: string) => {
    const step = j.guestStep!
      .replace('for d in /dev/vd[a-z] /dev/sd[a-z]', `for d in ${disk}`)
      .replace('[ -b "$d" ]', '[ -f "$d" ]')
      .replaceAll('/tmp/vmspec-lava-guest.sh', copied)
      .replace(`then sh ${copied}`, 'then echo RUN');
    rmSync(copied, { force: true });
    return spawnSync('sh', ['-c', step], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }).stdout;
  };
  const good = join(work, 'evidence-good.img');
  createShellJobEvidenceDisk(good, j.scripts!.guest);
  t.equal(run(good), 'RUN https://store.lab.example/vmspec/run-1/debian12-aavmf-gicv2-acpi-worker.tar 1\n', 'the script is found and run with the bundle URL and console frame');
  t.equal(readFileSync(copied, 'utf8'), j.scripts!.guest, 'the copy is the guest script byte for byte');
  t.equal(readFileSync(good).subarray(0, 22).toString(), 'VMSPEC-EVIDENCE-DISK 1', 'the header is kept in sector 0');

  const blank = join(work, 'evidence-blank.img');
  createEvidenceDisk(blank);
  t.match(run(blank), /no evidence disk carrying this job's guest script[\s\S]*lava-test-case vmspec-collect --result fail/, 'a blank evidence disk: vmspec-collect fails');
  const other = join(work, 'evidence-other.img');
  createShellJobEvidenceDisk(other, j.scripts!.guest.replace('#!/bin/sh\n', '#!/bin/sh\n# another version\n'));
  t.match(run(other), /lava-test-case vmspec-collect --result fail/, 'another vmspec\'s script: vmspec-collect fails');
  t.match(run(join(work, 'no-such-disk.img')), /lava-test-case vmspec-collect --result fail/, 'no evidence disk: vmspec-collect fails');
});

t.test('a shell job with a LAVA URL: the bundle comes back in the job log, no store', { skip: lavaMissing }, async (t) => {
  const jobs = generate({ artifacts: '', verdict: { image: 'vmspec:0.1.0', local: true, lavaUrl: 'http://127.0.0.1:8000/' } });
  const j = jobs.find((x) => x.collects === 'shell')!;
  t.notOk(j.bundleUrl, 'no upload URL');
  t.notOk(j.resultsUrl, 'no results URL');
  t.equal(j.metadata['vmspec.bundle'], 'job log (console frame)');
  t.match(j.verdictStep!, /^vmspec-lava-verdict console 'http:\/\/127\.0\.0\.1:8000\/' 'vmspec-v2' 'debian12-aavmf-gicv2-acpi-worker' '/, 'the verdict step reads the console frame from the job log');
  t.match(j.guestStep!, / then sh \/tmp\/vmspec-lava-guest\.sh '' 1;/, 'the guest uploads nothing and frames the bundle on the console');
  const verdicts = lavaValidate(jobs.map((x) => writeJob(`lava-url-${x.fileName}`, x.definition)));
  for (const v of verdicts) t.ok(v.ok, `${v.path}: ${v.error ?? 'valid'}`);
  t.throws(() => generate({ consoleFrame: false, verdict: { image: 'vmspec:0.1.0', local: true, lavaUrl: 'http://127.0.0.1:8000/' } }), /do not turn the frame off/);
});

t.test('the YAML is read back identically by LAVA\'s reader (PyYAML, YAML 1.1)', { skip: lavaMissing }, async (t) => {
  const j = generate()[0]!;
  const p = writeJob('roundtrip.yaml', j.definition);
  const r = spawnSync('/usr/bin/python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', p], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), JSON.parse(JSON.stringify(j.definition)));
});
