import t, { type Test } from 'tap';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validator } from '../../requirements/schemas.js';
import type { Result, RunResults } from '../../engine/results.js';
import { vmspec } from './cli-runner.js';
import { buildGptDisk } from '../fixtures/disk-builder.js';
import { efiBinaries } from '../fixtures/efi-binaries.js';
import { buildFatImage } from '../fixtures/fat-builder.js';
import { copyBundle, evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';

/**
 * `vmspec verify --evidence BUNDLE --format json` (the built CLI: run
 * `npm run build` first) on collector-made bundles: the reference
 * configurations and mutations of them, each of which must fail exactly
 * its clause; tar and directory alike; integrity; usage errors.
 */

type Run = RunResults & { warnings?: string[]; evidence?: { path: string; kind: string; integrity: { ok: boolean; hasManifest: boolean; issues: { path: string; kind: string }[] }; efiVariableTest: unknown } };
const work = mkdtempSync(join(tmpdir(), 'vmspec-evidence-cli-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const runs = new Map<string, Run>();

/** Run the CLI once per argument list (the JSON is checked on that first run). */
function verify(t: Test, args: string[]): Run {
  const key = JSON.stringify(args);
  const seen = runs.get(key);
  if (seen) return seen;
  const r = vmspec(['verify', ...args, '--format', 'json']);
  t.equal(r.stderr, '', 'nothing on stderr');
  const run = JSON.parse(r.stdout) as Run;
  const validate = validator('results');
  t.ok(validate(run), `results JSON is schema-valid ${JSON.stringify(validate.errors ?? [])}`);
  t.equal(r.status, run.exitCode, 'process exit code matches the JSON');
  runs.set(key, run);
  return run;
}

const bundle = (name: keyof typeof RECIPES) => evidenceBundle(name, RECIPES[name] as BundleRecipe);
const ids = (run: Run, status: Result['status']) => run.results.filter((r) => r.status === status).map((r) => r.id).sort();
const result = (run: Run, id: string) => run.results.find((r) => r.id === id);

/** Every firmware/hypervisor clause the evidence now decides (v2), with its probe. */
const AUTOMATED_V2 = [
  'V2-ARCH-FW-EL1', 'V2-ARCH-ACPI-SBBR', 'V2-ARCH-PSCI',
  'V2-FW-UEFI', 'V2-FW-UEFI-2-6', 'V2-FW-VARS-PERSIST', 'V2-FW-RTC',
  'V2-HW-UEFI-CONFIG-TABLE', 'V2-HW-ACPI-TABLE-GUID', 'V2-HW-DT-TABLE-GUID', 'V2-HW-ACPI-COMPLETE', 'V2-HW-DT-COMPLETE',
  'V2-PLAT-UART', 'V2-PLAT-GICV2', 'V2-PLAT-GICV3', 'V2-PLAT-VIRTUAL-TIMER', 'V2-PLAT-HOTPLUG-BUS',
];

t.test('ACPI reference (QEMU virt defaults, GICv2): only the device-tree table is missing', async (t) => {
  const run = verify(t, ['--evidence', bundle('acpiGicv2').dir]);
  t.match(run.target, { kind: 'evidence', path: bundle('acpiGicv2').dir, format: 'bundle directory' });
  t.match(run.evidence, { kind: 'directory', integrity: { ok: true, hasManifest: true }, efiVariableTest: { phase: 'write', nonce: 'N1234', result: 'written' } });
  t.equal(run.warnings, undefined, 'no warnings');
  t.same(ids(run, 'fail'), ['V2-HW-DT-TABLE-GUID'], 'edk2 installs no DT configuration table when ACPI is on');
  t.same(ids(run, 'error'), []);
  t.equal(run.exitCode, 1);
  t.same(ids(run, 'pass'), [
    'V2-ARCH-ACPI-SBBR', 'V2-ARCH-FW-EL1', 'V2-ARCH-PSCI', 'V2-FW-RTC', 'V2-FW-RTC-ACCURACY', 'V2-FW-UEFI', 'V2-FW-UEFI-2-6', 'V2-HW-ACPI-COMPLETE', 'V2-HW-ACPI-TABLE-GUID',
    'V2-HW-UEFI-CONFIG-TABLE', 'V2-PLAT-GICV2', 'V2-PLAT-HOTPLUG-BUS', 'V2-PLAT-UART', 'V2-PLAT-VIRTUAL-TIMER',
  ]);
  t.match(result(run, 'V2-FW-VARS-PERSIST'), { status: 'skip', message: /persistence\.phase is "write"/ }, 'the write phase is not judged');
  t.match(result(run, 'V2-PLAT-GICV3'), { status: 'skip', message: /inUse is "GICv2"/ }, 'one guest shows one GIC');
  t.match(result(run, 'V2-HW-DT-COMPLETE'), { status: 'skip', message: /booted is "ACPI"/ });
  t.match(result(run, 'V2-HW-DT-TABLE-GUID'), { message: /found "absent", expected "present"/, observed: { configTables: { deviceTreeEvidence: /only \/chosen/ } } }, 'with its evidence');
  t.equal(result(run, 'V2-IMG-GPT'), undefined, 'the default selection leaves out the clauses evidence cannot decide');
  const asked = verify(t, ['--evidence', bundle('acpiGicv2').dir, '--only', 'V2-IMG-GPT']);
  t.match(result(asked, 'V2-IMG-GPT'), { status: 'skip', message: /needs a disk image/ }, 'asked for, an image clause is not applicable to evidence');
  for (const id of AUTOMATED_V2) t.not(result(run, id)?.status, 'manual', `${id} is automated`);
});

t.test('GICv3 instead of GICv2: the per-version clauses swap, nothing else changes', async (t) => {
  const v2 = verify(t, ['--evidence', bundle('acpiGicv2').dir]);
  const v3 = verify(t, ['--evidence', bundle('acpiGicv3').dir]);
  t.equal(result(v3, 'V2-PLAT-GICV3')?.status, 'pass');
  t.match(result(v3, 'V2-PLAT-GICV2'), { status: 'skip', message: /inUse is "GICv3"/ });
  t.same(ids(v3, 'fail'), ids(v2, 'fail'));
});

/** Each mutation against the configuration it mutates: the failures it adds, exactly. */
const MUTATIONS: [keyof typeof RECIPES, keyof typeof RECIPES, string[], string][] = [
  ['dtGicv2', 'acpiGicv2', ['V2-HW-ACPI-TABLE-GUID'], 'no ACPI (acpi=off): the ACPI configuration-table entry is missing'],
  ['noSpcr', 'acpiGicv2', ['V2-ARCH-ACPI-SBBR', 'V2-PLAT-UART'], 'no SPCR: the SBBR table set is incomplete and the firmware names no console UART'],
  ['pl031', 'dtGicv2', ['V2-FW-RTC'], 'PL031 instead of rtc-efi: no UEFI time services'],
  ['checkAbsent', 'checkPresent', ['V2-FW-VARS-PERSIST'], 'the nonce is gone after the power cycle'],
  ['consoleTty0', 'acpiGicv2', [], 'the console on a virtual terminal is the guest\'s choice: no hypervisor clause fails'],
  ['cpuDown', 'acpiGicv2', ['V2-ARCH-PSCI'], 'a vCPU never came online'],
];

for (const [mutant, base, adds, why] of MUTATIONS) {
  t.test(`${mutant}: ${why}`, async (t) => {
    const b = verify(t, ['--evidence', bundle(base).dir]);
    const m = verify(t, ['--evidence', bundle(mutant).dir]);
    const baseFails = new Set(ids(b, 'fail'));
    const mutantFails = ids(m, 'fail');
    t.same(mutantFails.filter((id) => !baseFails.has(id)), adds, `fails ${adds.join(', ')} and nothing else`);
    if (mutant !== 'dtGicv2') t.same(ids(b, 'fail').filter((id) => !mutantFails.includes(id)), [], 'and still fails what the base fails');
    t.same(ids(m, 'error'), []);
    for (const id of adds) t.ok(result(m, id)?.observed, `${id} carries its evidence`);
  });
}

t.test('no ACPI: the device-tree route passes, the ACPI clauses are not applicable', async (t) => {
  const run = verify(t, ['--evidence', bundle('dtGicv2').dir]);
  t.same(ids(run, 'fail'), ['V2-HW-ACPI-TABLE-GUID']);
  for (const id of ['V2-HW-DT-TABLE-GUID', 'V2-HW-DT-COMPLETE', 'V2-PLAT-UART', 'V2-PLAT-GICV2', 'V2-ARCH-PSCI', 'V2-FW-RTC']) t.equal(result(run, id)?.status, 'pass', `${id} passes`);
  t.match(result(run, 'V2-ARCH-ACPI-SBBR'), { status: 'skip', message: /present is false/ });
  t.match(result(run, 'V2-HW-ACPI-COMPLETE'), { status: 'skip', message: /booted is "device tree"/ });
});

t.test('persistence: the check phase with the nonce back passes', async (t) => {
  const run = verify(t, ['--evidence', bundle('checkPresent').dir]);
  t.equal(result(run, 'V2-FW-VARS-PERSIST')?.status, 'pass');
  const absent = verify(t, ['--evidence', bundle('checkAbsent').dir]);
  t.match(result(absent, 'V2-FW-VARS-PERSIST'), {
    status: 'fail', message: /persistence\.result differs.*found "absent", expected "present"/,
    observed: { persistence: { phase: 'check', nonce: 'N1234', inEvidence: false } },
  });
  t.equal(absent.exitCode, 1, 'the DT-table MUST still fails the run; persistence is STRONGLY RECOMMENDED');
});

t.test('a wrapped kernel log: the clauses it decides are undecided, never passed on silence', async (t) => {
  const run = verify(t, ['--evidence', bundle('configGz').dir]);
  t.match(result(run, 'V2-ARCH-PSCI'), { status: 'undecided', message: /dmesgCoverage is "truncated/ });
  t.match(result(run, 'V2-ARCH-FW-EL1'), { status: 'undecided' });
  t.match(result(run, 'V2-FW-UEFI-2-6'), { status: 'skip', message: /systemTableRevision is null/ });
  t.equal(result(run, 'V2-PLAT-VIRTUAL-TIMER')?.status, 'pass', '/proc/interrupts still shows the virtual timer');
  t.same(ids(run, 'fail'), ['V2-HW-DT-TABLE-GUID']);
});

t.test('a tar bundle reads as its directory', async (t) => {
  const dir = verify(t, ['--evidence', bundle('checkAbsent').dir]);
  const tar = verify(t, ['--evidence', bundle('checkAbsent').tar, '--sha256']);
  t.match(tar.target, { kind: 'evidence', format: 'bundle tar', size: Number, sha256: /^[0-9a-f]{64}$/ });
  t.same(tar.results.map((r) => [r.id, r.status, r.message]), dir.results.map((r) => [r.id, r.status, r.message]));
});

t.test('vmspec-v1: the v1 clauses from the same evidence', async (t) => {
  const dt = verify(t, ['--spec', 'vmspec-v1', '--evidence', bundle('dtGicv2').dir]);
  t.same(ids(dt, 'fail'), [], 'v1 asks for the device tree only: the DT guest passes');
  for (const id of ['V1-FW-UEFI', 'V1-FW-UEFI-2-4', 'V1-FW-RTC', 'V1-HW-UEFI-CONFIG-TABLE', 'V1-HW-DT-TABLE-GUID', 'V1-HW-DT-COMPLETE', 'V1-PLAT-CONSOLE', 'V1-PLAT-CONSOLE-KIND', 'V1-PLAT-GIC', 'V1-PLAT-VIRTUAL-TIMER', 'V1-PLAT-HOTPLUG-BUS']) {
    t.equal(result(dt, id)?.status, 'pass', `${id} passes`);
  }
  const acpi = verify(t, ['--spec', 'vmspec-v1', '--evidence', bundle('acpiGicv2').dir]);
  t.same(ids(acpi, 'fail'), ['V1-HW-DT-TABLE-GUID'], 'an ACPI-only guest gives v1 no device tree');
  t.match(result(acpi, 'V1-HW-DT-COMPLETE'), { status: 'skip' });
  const tty = verify(t, ['--spec', 'vmspec-v1', '--evidence', bundle('consoleTty0').dir]);
  t.same(ids(tty, 'fail'), ['V1-HW-DT-TABLE-GUID'], 'console=tty0 is the guest\'s choice: the VM still offers its PL011');
  const persist = verify(t, ['--spec', 'vmspec-v1', '--evidence', bundle('checkAbsent').dir]);
  t.equal(result(persist, 'V1-FW-VARS-PERSIST')?.status, 'fail');
});

t.test('integrity: altered evidence errors the clauses that read it, and says so', async (t) => {
  const dir = copyBundle(bundle('dtGicv2').dir, join(work, 'altered'));
  appendFileSync(join(dir, 'proc/consoles'), 'ttyS0                -W- (EC   a)    4:64\n');
  const run = verify(t, ['--evidence', dir]);
  t.match(result(run, 'V2-PLAT-UART'), { status: 'error', message: /proc\/consoles: size \d+ does not match the manifest/ });
  t.match(run.evidence?.integrity, { ok: false, issues: [{ path: 'proc/consoles', kind: 'size-mismatch' }] });
  t.match(run.warnings, [/evidence does not match its manifest: proc\/consoles/]);
  t.equal(result(run, 'V2-FW-RTC')?.status, 'pass', 'clauses not resting on the altered file still decide');
  t.equal(run.exitCode, 1, 'the ACPI-table MUST of this DT guest still fails the run (3 when nothing mandatory fails)');
  const only = verify(t, ['--evidence', dir, '--only', 'V2-PLAT-UART,V2-FW-RTC']);
  t.equal(only.exitCode, 3, 'a probe could not run');
  const text = vmspec(['verify', '--evidence', dir, '--only', 'V2-PLAT-UART']);
  t.match(text.stdout, /Warnings:\n  evidence does not match its manifest/);
  t.match(text.stdout, /ERROR\s+V2-PLAT-UART/);

  const bare = copyBundle(bundle('dtGicv2').dir, join(work, 'bare'));
  rmSync(join(bare, 'manifest.json'));
  const noManifest = verify(t, ['--evidence', bare]);
  t.match(noManifest.warnings, [/has no manifest\.json/]);
  t.same(ids(noManifest, 'fail'), ['V2-HW-ACPI-TABLE-GUID'], 'still judged');
  t.match(result(noManifest, 'V2-FW-VARS-PERSIST'), { status: 'skip', message: /persistence\.phase is null/ }, 'without a manifest there is no persistence record');
});

t.test('IMAGE and --evidence together', async (t) => {
  const efi = efiBinaries();
  const esp = buildFatImage('cli-good', { fatBits: 32, sizeMiB: 40, sectorsPerCluster: 1, label: 'ESP', dirs: ['/EFI', '/EFI/BOOT'], files: [{ path: '/EFI/BOOT/BOOTAA64.EFI', from: efi.grubaa64 }] });
  const image = buildGptDisk([
    { type: '8300', sizeMiB: 4, name: 'data' },
    { type: 'EF00', sizeMiB: 48, name: 'EFI system', contentFile: esp },
    { type: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', sizeMiB: 8, name: 'root' },
  ], { label: 'cli-disk' });
  const run = verify(t, [image, '--evidence', bundle('dtGicv2').dir]);
  t.match(run.target, { kind: 'image', path: image });
  t.match(run.evidence, { path: bundle('dtGicv2').dir, kind: 'directory' });
  t.equal(result(run, 'V2-IMG-GPT')?.status, 'pass', 'image clauses judged');
  t.equal(result(run, 'V2-FW-RTC')?.status, 'pass', 'and evidence clauses');
});

t.test('usage errors', async (t) => {
  const none = vmspec(['verify']);
  t.equal(none.status, 2);
  t.match(none.stderr, /nothing to verify: give a disk IMAGE, --evidence BUNDLE .* or --live/);
  const both = vmspec(['verify', '--live', '--evidence', bundle('dtGicv2').dir]);
  t.equal(both.status, 2);
  t.match(both.stderr, /--live and --evidence exclude each other/);
  const liveImage = vmspec(['verify', 'disk.img', '--live']);
  t.equal(liveImage.status, 2);
  t.match(liveImage.stderr, /--live reads the running system/);
  const missing = vmspec(['verify', '--evidence', join(work, 'no-such-bundle')]);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /no-such-bundle: ENOENT/);
  const notBundle = vmspec(['verify', '--evidence', join(bundle('dtGicv2').dir, 'proc', 'consoles')]);
  t.equal(notBundle.status, 2);
  t.match(notBundle.stderr, /not an evidence bundle/);
  const alias = vmspec(['--evidence', bundle('dtGicv2').dir, '--only', 'V2-FW-RTC', '--format', 'json'], { bin: 'vmspec-verify.js' });
  t.equal((JSON.parse(alias.stdout) as Run).results[0]?.status, 'pass', 'vmspec-verify --evidence works too');
});

t.test('--live reads this machine through the same probes', async (t) => {
  const r = vmspec(['verify', '--live', '--target', 'firmware,hypervisor', '--format', 'json']);
  const run = JSON.parse(r.stdout) as Run;
  t.ok(validator('results')(run), 'schema-valid');
  t.match(run.target, { kind: 'live', path: '/' });
  t.match(run.evidence, { kind: 'live', integrity: { hasManifest: false } });
  t.same(run.results.filter((x) => x.status === 'error' && /internal error/.test(x.message)).map((x) => x.id), [], 'no internal errors on a live system');
});
