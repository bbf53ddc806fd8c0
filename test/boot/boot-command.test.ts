/**
 * `vmspec boot` end to end, through the built CLI: the built-in reference
 * under real QEMU (TCG) and AAVMF, two boots with a power cycle each run.
 *
 *   reference, defaults   boot 1 ACPI/GICv2 write, boot 2 ACPI/GICv3 check, same store:
 *                         every automated MUST passes except V2-HW-DT-TABLE-GUID (AAVMF
 *                         installs no DT with ACPI on), which the shipped waiver file waives
 *   --no-acpi --no-persistent-vars --gic 3
 *                         fails exactly V2-HW-ACPI-TABLE-GUID, V2-FW-VARS-PERSIST and
 *                         V2-FW-VARS-PERSIST-HOST
 *   a non-compliant image stops before booting (exit 1); with --force it boots, finds
 *                         nothing to run and hits --timeout: no OS started, which the broken
 *                         image explains, so only image clauses fail (exit 1, report written)
 *   QEMU refusing an option in every boot: the GIC and ACPI clauses fail (exit 1)
 *   SIGINT / SIGTERM while QEMU runs: exit 130 / 143, no QEMU left, nothing left behind
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { vmspec } from '../cli/cli-runner.js';
import { repoRoot } from '../fixtures/cache.js';
import { gptOnePartition, sha256File } from '../fixtures/disk-builder.js';
import { realBootSkip } from '../fixtures/real-boot-skip.js';
import { qemuUnder } from './qemu-processes.js';

const { skip } = realBootSkip();
const WAIVERS = join(repoRoot, 'waivers', 'known-firmware-deviations.yaml');

interface Results {
  exitCode: number;
  summary: Record<string, number>;
  target: { kind: string; hypervisor?: string };
  environment: { hypervisor: string; accelerator: string; firmware: { code: string; descriptor: string | null } };
  boot: { nonce: string; workDir: string | null; boots: { name: string; acpi: boolean; gic: number; phase: string; exitCode: number; varsStore: string; serial: { firmwareMessages: boolean; kernelMessages: boolean; collectorExit: number }; varsFileAfter: { nonceVariable: string; contentMatchesNonce: boolean | null }; end: string; reset: unknown }[] };
  results: { id: string; status: string; mandatory: boolean; message: string; runs?: { run: string; status: string }[] }[];
}

function validateResults(t: Test, json: unknown): void {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schema', 'results.schema.json'), 'utf8')));
  t.ok(validate(json), 'results validate against schema/results.schema.json', { errors: validate.errors });
}

const failing = (r: Results) => r.results.filter((x) => x.status === 'fail').map((x) => x.id).sort();
/**
 * GUEST-4 (STRONGLY RECOMMENDED), judged from the booted kernel (the reference has no root filesystem):
 * its initramfs carries virtio_pci and virtio_blk only, not virtio_net, virtio_mmio or the Xen front-ends.
 */
/** GUEST-4 recommendations the reference fails: none (its initramfs carries the virtio and Xen front-end modules, boot/reference/build.ts). */
const REFERENCE_GUEST4: string[] = [];
const status = (r: Results, id: string) => r.results.find((x) => x.id === id)?.status;

function workDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vmspec-boot-test-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('--help documents the command and its exit codes', async (t) => {
  const r = vmspec(['boot', '--help']);
  t.equal(r.status, 0);
  for (const o of ['--reference', '--sha256', '--firmware-feature', '--gic', '--no-acpi', '--no-persistent-vars', '--cloud-init', '--hypervisor', '--dry-run', '--qemu-arg', '--timeout', '--keep', '--force', '--waivers']) t.match(r.stdout, o);
  t.match(r.stdout, /130\s+interrupted/);
  const alias = vmspec(['--help'], { bin: 'vmspec-boot.js' });
  t.equal(alias.status, 0, 'vmspec-boot is an alias');
  t.match(alias.stdout, /--no-persistent-vars/);
});

t.test('bad options are usage errors', async (t) => {
  const r = vmspec(['boot', '--memory', 'lots']);
  t.equal(r.status, 2);
  t.match(r.stderr, /--memory "lots": expected a whole number/);
  const both = vmspec(['boot', 'x.img', '--reference', 'builtin']);
  t.equal(both.status, 2);
  t.match(both.stderr, /not both/);
});

t.test('the built-in reference, default matrix', { skip }, async (t) => {
  const dir = workDir();
  const out = join(dir, 'results.json');
  const image = vmspec(['reference', 'build']).stdout.trim();
  const before = sha256File(image);
  const r = vmspec(['boot', '--format', 'json', '-o', out, '--work-dir', dir]);
  t.equal(sha256File(image), before, 'the booted image is byte-identical afterwards (attached snapshot=on)');
  t.comment(r.stderr.trim());
  const res = JSON.parse(readFileSync(out, 'utf8')) as Results;
  validateResults(t, res);
  t.same(failing(res), [...REFERENCE_GUEST4, 'V2-HW-DT-TABLE-GUID'].sort(), 'the only MUST failure is AAVMF\'s missing DT configuration table in an ACPI boot', { results: res.results.filter((x) => x.status === 'fail' || x.status === 'error') });
  t.equal(r.status, 1, 'exit 1: a MUST clause failed');
  t.equal(res.summary.error, 0, 'no probe errors');
  t.equal(res.target.kind, 'boot');
  t.match(res.environment.hypervisor, /^QEMU \d+\.\d+/);
  t.match(res.environment.firmware.code, /AAVMF|edk2/);
  t.same(res.boot.boots.map((b) => [b.gic, b.acpi, b.phase, b.varsStore, b.exitCode]), [[2, true, 'write', 'new', 0], [3, true, 'check', 'same as the previous boot', 0]]);
  // ARCH-4's reboot: boot 2's guest resets the VM, which starts again; the host stops it there (test/boot/reset-boot.test.ts fails it).
  t.same(res.boot.boots.map((b) => [b.end, b.reset]), [['poweroff', null], ['reset', { requested: true, restarted: true, stoppedByHost: true }]]);
  t.equal(status(res, 'V2-ARCH-PSCI-RESET-HOST'), 'pass', 'the guest\'s PSCI reset restarted the VM');
  t.equal(status(res, 'V2-ARCH-PSCI-HOST'), 'pass', 'boot 1\'s power-off ended QEMU cleanly');
  for (const b of res.boot.boots) {
    t.ok(b.serial.firmwareMessages && b.serial.kernelMessages, `${b.name}: firmware and kernel output on the UART`);
    t.equal(b.serial.collectorExit, 0, `${b.name}: the collector finished`);
    t.equal(b.varsFileAfter.nonceVariable, 'present', `${b.name}: the nonce variable is in the instance's store file after power-off`);
    t.equal(b.varsFileAfter.contentMatchesNonce, true);
  }
  for (const id of ['V2-FW-VARS-PERSIST', 'V2-FW-VARS-PERSIST-HOST', 'V2-FW-NO-PRESET-BOOTVARS-HOST', 'V2-PLAT-GICV2', 'V2-PLAT-GICV3', 'V2-PLAT-UART', 'V2-PLAT-UART-HOST', 'V2-HW-ACPI-TABLE-GUID', 'V2-FW-RTC', 'V2-IMG-BOOTAA64-PATH']) {
    t.equal(status(res, id), 'pass', `${id} passes`);
  }
  const gic2 = res.results.find((x) => x.id === 'V2-PLAT-GICV2')!;
  t.same(gic2.runs?.map((x) => x.status), ['skip', 'pass', 'skip', 'skip'], 'GICv2 decided by boot 1 (image, boot 1, boot 2, host)');
  t.equal(res.boot.workDir, null);
  t.same(readdirSync(dir).filter((f) => f.startsWith('vmspec-boot-')), [], 'the work directory is gone');

  // The known firmware deviation, waived on purpose: every automated MUST then passes.
  const w = vmspec(['report', 'render', out, '--format', 'json', '--waivers', WAIVERS]);
  const waived = JSON.parse(w.stdout) as Results;
  t.equal(status(waived, 'V2-HW-DT-TABLE-GUID'), 'waived');
  t.equal(waived.summary.fail, REFERENCE_GUEST4.length, 'nothing fails with the known-deviation waiver');
  // GUEST-1..4 are decided from the kernel the guest booted (the reference has no root partition): nothing is undecided.
  t.same(waived.results.filter((r) => r.status === 'undecided').map((r) => r.id), [], 'nothing is undecided');
  t.equal(waived.exitCode, 0);
});

t.test('ACPI off and a variable store that is not kept: exactly those clauses fail', { skip }, async (t) => {
  const dir = workDir();
  const out = join(dir, 'results.json');
  const r = vmspec(['boot', '--no-acpi', '--no-persistent-vars', '--gic', '3', '--format', 'json', '-o', out, '--waivers', WAIVERS]);
  t.comment(r.stderr.trim());
  const res = JSON.parse(readFileSync(out, 'utf8')) as Results;
  validateResults(t, res);
  t.same(failing(res), [...REFERENCE_GUEST4, 'V2-FW-VARS-PERSIST', 'V2-FW-VARS-PERSIST-HOST', 'V2-HW-ACPI-TABLE-GUID'].sort(), 'no ACPI entry; the variable is lost with the store', { results: res.results.filter((x) => x.status === 'fail' || x.status === 'error') });
  t.equal(r.status, 1);
  t.equal(status(res, 'V2-HW-DT-TABLE-GUID'), 'pass', 'with ACPI off AAVMF installs the DT entry');
  t.same(res.boot.boots.map((b) => [b.acpi, b.gic, b.varsStore]), [[false, 3, 'new'], [false, 3, 'fresh copy']]);
  t.equal(res.boot.boots[0]!.varsFileAfter.nonceVariable, 'present', 'boot 1 wrote it to its own store');
  t.equal(res.boot.boots[1]!.varsFileAfter.nonceVariable, 'absent', 'the fresh store of boot 2 never had it');
  t.match(res.results.find((x) => x.id === 'V2-FW-VARS-PERSIST')!.message, /boot 2/);
});

t.test('a non-compliant image is refused before booting; --force boots it into a timeout', { skip }, async (t) => {
  const img = gptOnePartition();
  const dir = workDir();
  const r = vmspec(['boot', img, '--cloud-init', 'off', '--work-dir', dir]);
  t.equal(r.status, 1);
  t.match(r.stderr, /the image fails \d+ mandatory clause\(s\)/);
  t.match(r.stderr, /V2-IMG-ESP-TYPE/);
  t.match(r.stderr, /--force/);
  t.same(readdirSync(dir), [], 'nothing was booted or created');

  const out = join(workDir(), 'forced.json');
  const f = vmspec(['boot', img, '--cloud-init', 'off', '--force', '--timeout', '25', '--work-dir', dir, '--format', 'json', '-o', out]);
  t.equal(f.status, 1, 'exit 1: the image fails its clauses; the boots that started no OS are judged, not an error');
  t.match(f.stderr, /boot 1 \(ACPI, GICv2\): no power-off within 25 s \(QEMU was stopped\) without any operating system starting/);
  const res = JSON.parse(readFileSync(out, 'utf8')) as Results & { boot: { boots: { failure: { kind: string; serialTail: string } | null }[] } };
  t.match(res.boot.boots[0]!.failure, { kind: 'no-os', serialTail: /UEFI firmware|BdsDxe/ }, 'the serial tail shows the firmware ran');
  t.not(status(res, 'V2-FW-UEFI'), 'fail', 'the image, failing its own clauses, explains why no OS started: the firmware is not blamed');
  t.ok(failing(res).every((id) => id.startsWith('V2-IMG-') || id === 'V2-FW-NO-PRESET-BOOTVARS-HOST'), 'only image clauses fail (FW-6 from the host: no OS from a fresh store)', { failing: failing(res) });
  t.ok(failing(res).includes('V2-FW-NO-PRESET-BOOTVARS-HOST'), 'the firmware\'s boot manager ran and found nothing to start');
  t.same(readdirSync(dir), [], 'the work directory was removed');
  t.same(qemuUnder(dir), [], 'no QEMU left running');
});

t.test('a qcow2 overlay of the reference: refused with its backing file unless --backing follow; then booted, unchanged', { skip }, async (t) => {
  const dir = workDir();
  const base = join(dir, 'base.qcow2');
  const overlay = join(dir, 'overlay.qcow2');
  execFileSync('qemu-img', ['convert', '-O', 'qcow2', vmspec(['reference', 'build']).stdout.trim(), base]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
  const refused = vmspec(['boot', overlay, '--cloud-init', 'off', '--work-dir', dir]);
  t.equal(refused.status, 2);
  t.match(refused.stderr, /backing file .*--backing follow/);
  const before = [sha256File(base), sha256File(overlay)];
  const out = join(dir, 'results.json');
  const r = vmspec(['boot', overlay, '--cloud-init', 'off', '--backing', 'follow', '--gic', '3', '--format', 'json', '-o', out, '--work-dir', dir, '--waivers', WAIVERS]);
  t.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(out, 'utf8')) as Results & { boot: { image: { format: string } } };
  t.equal(res.boot.image.format, 'qcow2', 'QEMU was told the format');
  t.same(failing(res), REFERENCE_GUEST4, 'the same verdicts as the raw image');
  t.same([sha256File(base), sha256File(overlay)], before, 'neither file of the chain was written');
});

t.test('QEMU refusing its arguments in every boot: the configurations tried fail, with QEMU\'s own words', { skip }, async (t) => {
  const dir = workDir();
  const out = join(workDir(), 'refused.json');
  const r = vmspec(['boot', '--qemu-arg', '-bogus-option', '--work-dir', dir, '--format', 'json', '-o', out]);
  t.equal(r.status, 1, 'exit 1 and a report, not exit 3');
  t.match(r.stderr, /boot 1 \(ACPI, GICv2\): the hypervisor refused this configuration \(QEMU exited with 1 before any output on the UART\)\n\s+QEMU: .*-bogus-option/);
  const res = JSON.parse(readFileSync(out, 'utf8')) as Results;
  t.same(failing(res), ['V2-HW-ACPI-COMPLETE', 'V2-PLAT-GICV2', 'V2-PLAT-GICV3'], 'no boot ran: GICv2, GICv3 and ACPI are all unproven');
  t.match(res.results.find((x) => x.id === 'V2-PLAT-GICV3')!.message, /-bogus-option/);
  t.equal(status(res, 'V2-FW-UEFI'), 'undecided', 'the firmware never ran: undecided, not failed');
  t.same(readdirSync(dir), []);
  t.same(qemuUnder(dir), []);
});

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  t.test(`${signal} while QEMU runs: QEMU stopped, nothing left behind`, { skip }, async (t) => {
    const dir = workDir();
    // Without tap's preload (processinfo puts NODE_OPTIONS back into every child's env): its early signal-exit listeners hid a bug here.
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, join(repoRoot, 'bin', 'vmspec.js'), 'boot', '--work-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const deadline = Date.now() + 180_000;
    while (qemuUnder(dir).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    t.ok(qemuUnder(dir).length > 0, 'QEMU started');
    await new Promise((r) => setTimeout(r, 1500));
    child.kill(signal);
    const exitCode = await exited;
    t.equal(exitCode, code, `exit ${code}`);
    t.match(stderr, new RegExp(`interrupted by ${signal}`));
    t.same(qemuUnder(dir), [], 'no QEMU left running');
    t.same(readdirSync(dir), [], 'the work directory was removed');
  });
}
