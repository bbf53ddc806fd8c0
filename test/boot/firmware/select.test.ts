/**
 * Firmware selection from QEMU firmware descriptors: the descriptors
 * qemu-efi-aarch64 installs here, real QEMU for the canonical machine type,
 * and temporary descriptor directories for overrides, masking, malformed
 * files, machine globs, features and "nothing fits".
 */
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { findQemu } from '../../../boot/qemu-run.js';
import { considerFirmware, findFirmware, selectFirmware } from '../../../boot/firmware/select.js';
import { firmwareSearchDirs, listDescriptorFiles } from '../../../boot/firmware/descriptor-files.js';
import { parseDescriptor } from '../../../boot/firmware/descriptor.js';
import { featureRequirements } from '../../../boot/firmware/features.js';
import { globMatch } from '../../../boot/firmware/machine-glob.js';
import { canonicalMachine, parseMachineHelp, resolveMachineType } from '../../../boot/firmware/machine-type.js';

const SYSTEM_DIR = '/usr/share/qemu/firmware';
const AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd';
const AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd';
const installed = existsSync(join(SYSTEM_DIR, '60-edk2-aarch64.json')) ? false : 'qemu-efi-aarch64 descriptors not installed (apt-get install --no-install-recommends qemu-efi-aarch64)';
const qemu = findQemu();

/** A descriptor as the Debian packages write them, with overrides. */
function descriptor(over: { description?: string; interfaces?: string[]; mapping?: unknown; arch?: string; machines?: string[]; features?: string[] } = {}): string {
  return JSON.stringify({
    description: over.description ?? 'test firmware',
    'interface-types': over.interfaces ?? ['uefi'],
    mapping: over.mapping ?? { device: 'flash', executable: { filename: AAVMF_CODE, format: 'raw' }, 'nvram-template': { filename: AAVMF_VARS, format: 'raw' } },
    targets: [{ architecture: over.arch ?? 'aarch64', machines: over.machines ?? ['virt-*'] }],
    features: over.features ?? [],
    tags: [],
  });
}

function tempDirs(t: Test): { user: string; etc: string; share: string; dirs: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'vmspec-fw-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const user = join(root, 'config', 'qemu', 'firmware');
  const etc = join(root, 'etc');
  const share = join(root, 'share');
  for (const d of [user, etc, share]) mkdirSync(d, { recursive: true });
  return { user, etc, share, dirs: [user, etc, share] };
}

t.test('the descriptors installed here (qemu-efi-aarch64)', { skip: installed }, async (t) => {
  const dirs = [SYSTEM_DIR];
  const considered = considerFirmware({ machine: 'virt-7.2' }, { dirs });
  const byName = Object.fromEntries(considered.map((c) => [c.path.split('/').pop(), c]));
  t.match(byName['40-edk2-aarch64-secure-enrolled.json'], { status: 'rejected', reasons: [/has secure-boot \(excluded by default/] }, 'the MS-enrolled Secure Boot firmware is excluded by the policy');
  t.match(byName['50-edk2-aarch64-secure.json'], { status: 'rejected', reasons: [/has secure-boot/] });
  t.equal(byName['60-edk2-aarch64.json']?.status, 'selected', 'the plain one is selected');

  const sel = selectFirmware({ machine: 'virt-7.2' }, { dirs });
  const d = JSON.parse(readFileSync(join(SYSTEM_DIR, '60-edk2-aarch64.json'), 'utf8')) as { description: string; features: string[]; mapping: { executable: { filename: string }; 'nvram-template': { filename: string } } };
  t.same(sel, {
    descriptorPath: join(SYSTEM_DIR, '60-edk2-aarch64.json'),
    description: d.description,
    code: { filename: d.mapping.executable.filename, format: 'raw' },
    varsTemplate: { filename: d.mapping['nvram-template'].filename, format: 'raw' },
    features: d.features,
    mode: 'split',
    warnings: [],
  }, 'the selection is what the descriptor says');

  const sb = selectFirmware({ machine: 'virt-7.2', features: ['secure-boot'] }, { dirs });
  t.equal(sb.descriptorPath, join(SYSTEM_DIR, '40-edk2-aarch64-secure-enrolled.json'), 'asking for secure-boot takes the first Secure Boot descriptor');
  t.ok(sb.features.includes('enrolled-keys'));

  // Debian's 50-edk2-aarch64-secure.json names AAVMF_CODE.secboot.fd, which the package does not ship.
  const secboot = join(SYSTEM_DIR, '50-edk2-aarch64-secure.json');
  const declared = (JSON.parse(readFileSync(secboot, 'utf8')) as { mapping: { executable: { filename: string } } }).mapping.executable.filename;
  if (!existsSync(declared)) {
    const err = t.throws(() => selectFirmware({ machine: 'virt-7.2', features: ['secure-boot', 'no-enrolled-keys'] }, { dirs })) as UnsupportedError;
    t.match(err.message, new RegExp(`50-edk2-aarch64-secure\\.json: rejected: executable ${declared.replace(/\./g, '\\.')} does not exist`), 'a descriptor whose code file is missing is passed over, with the reason');
  } else {
    t.comment(`${declared} exists on this host`);
  }
  t.throws(() => selectFirmware({ machine: 'virt-7.2', features: ['secure-boot', 'no-secure-boot'] }, { dirs }), { name: 'UnsupportedError', message: /both secure-boot and no-secure-boot/ });
  t.throws(() => selectFirmware({ machine: 'virt-7.2', features: ['secureboot'] }, { dirs }), { name: 'UnsupportedError', message: /"secureboot" is not a QEMU firmware feature/ });
});

t.test('the canonical machine type from the real QEMU', { skip: qemu === undefined ? 'qemu-system-aarch64 not installed' : false }, async (t) => {
  const help = execFileSync(qemu as string, ['-machine', 'help'], { encoding: 'utf8' });
  const alias = /^virt\s+.*\(alias of (virt-[0-9.]+)\)/m.exec(help)?.[1];
  t.ok(alias, `QEMU says virt is an alias (${alias})`);
  const m = await resolveMachineType('virt', qemu);
  t.equal(m.canonical, alias, 'virt resolves to the versioned machine QEMU names');
  t.match(m.canonical, /^virt-\d+\.\d+$/);
  t.equal((await resolveMachineType('virt-6.2', qemu)).canonical, 'virt-6.2', 'a versioned machine is its own canonical name');
  await t.rejects(resolveMachineType('no-such-board', qemu), { name: 'UnsupportedError', message: /machine type "no-such-board" is not known to/ });
  if (!installed) {
    const f = await findFirmware({ qemu: qemu as string, dirs: [SYSTEM_DIR] });
    t.equal(f.machine, alias);
    t.equal(f.descriptorPath, join(SYSTEM_DIR, '60-edk2-aarch64.json'), 'findFirmware: resolve, then select');
  }
});

t.test('machine help parsing and globs', async (t) => {
  const entries = parseMachineHelp('Supported machines are:\nnone                 empty machine\nvirt                 QEMU 9.1 ARM Virtual Machine (alias of virt-9.1)\nvirt-9.1             QEMU 9.1 ARM Virtual Machine\nsbsa-ref             QEMU \'SBSA Reference\' ARM Virtual Machine\n');
  t.equal(canonicalMachine('virt', entries).canonical, 'virt-9.1');
  t.equal(canonicalMachine('sbsa-ref', entries).canonical, 'sbsa-ref');
  t.throws(() => canonicalMachine('virt-1.0', entries), { name: 'UnsupportedError', hint: /virt, virt-9\.1/ });
  t.ok(globMatch('virt-*', 'virt-7.2'));
  t.notOk(globMatch('virt-*', 'virt'), 'the bare alias does not match virt-*: why it must be resolved');
  t.ok(globMatch('virt-?.?', 'virt-7.2'));
  t.ok(globMatch('virt-[6-8].*', 'virt-7.2'));
  t.notOk(globMatch('virt-[!7].*', 'virt-7.2'));
  t.ok(globMatch('*', 'anything'));
  t.notOk(globMatch('pc-q35-*', 'virt-7.2'));
  t.ok(globMatch('a*b*c*d*e*f', 'aXbXcXdXeXf'));
  t.notOk(globMatch('a*a*a*a*a*a*a*a*b', 'a'.repeat(200)), 'no exponential backtracking');
});

t.test('search directories: precedence, override, masking, order', async (t) => {
  const home = { HOME: '/home/u' } as NodeJS.ProcessEnv;
  t.same(firmwareSearchDirs(home), ['/home/u/.config/qemu/firmware', '/etc/qemu/firmware', '/usr/share/qemu/firmware']);
  t.same(firmwareSearchDirs({ HOME: '/home/u', XDG_CONFIG_HOME: '/x' }), ['/x/qemu/firmware', '/etc/qemu/firmware', '/usr/share/qemu/firmware']);

  const d = tempDirs(t);
  writeFileSync(join(d.share, '50-a.json'), descriptor({ description: 'share a' }));
  writeFileSync(join(d.share, '60-b.json'), descriptor({ description: 'share b' }));
  writeFileSync(join(d.share, '70-c.json'), descriptor({ description: 'share c' }));
  writeFileSync(join(d.etc, '60-b.json'), descriptor({ description: 'etc b' }));
  writeFileSync(join(d.user, '50-a.json'), ''); // masks share's 50-a
  writeFileSync(join(d.etc, '55-d.json'), descriptor({ description: 'etc d' }));
  writeFileSync(join(d.etc, '.hidden.json'), descriptor({ description: 'hidden' }));
  mkdirSync(join(d.etc, '10-dir.json'));

  const files = listDescriptorFiles(d.dirs);
  t.same(files.map((f) => f.name), ['50-a.json', '55-d.json', '60-b.json', '70-c.json'], 'sorted by file name across the dirs; hidden files and directories skipped');
  t.match(files[0], { path: join(d.user, '50-a.json'), masked: true, shadows: [join(d.share, '50-a.json')] }, 'an empty file masks');
  t.match(files[2], { path: join(d.etc, '60-b.json'), masked: false, shadows: [join(d.share, '60-b.json')] }, 'a higher-priority file overrides');

  const sel = selectFirmware({ machine: 'virt-7.2' }, { dirs: d.dirs });
  t.equal(sel.description, 'etc d', 'the masked 50-a is gone; 55-d from /etc comes first');
  const considered = considerFirmware({ machine: 'virt-7.2' }, { dirs: d.dirs });
  t.same(considered.map((c) => c.status), ['masked', 'selected', 'candidate', 'candidate']);
  t.equal(considered[2]?.descriptor?.description, 'etc b', 'the overriding file is the one read');
});

t.test('malformed descriptors are skipped with file and reason, unless alone', async (t) => {
  const d = tempDirs(t);
  writeFileSync(join(d.share, '10-broken.json'), '{ "description": "x", ');
  writeFileSync(join(d.share, '20-wrong.json'), JSON.stringify({ 'interface-types': 'uefi', mapping: {}, targets: [], features: [] }));
  writeFileSync(join(d.share, '30-nomode.json'), descriptor({ mapping: { device: 'flash', mode: 'sideways', executable: { filename: AAVMF_CODE, format: 'raw' } } }));
  writeFileSync(join(d.share, '50-good.json'), descriptor({ description: 'good' }));
  const sel = selectFirmware({ machine: 'virt-7.2' }, { dirs: d.dirs });
  t.equal(sel.description, 'good');
  t.equal(sel.warnings.length, 3, 'one warning per malformed file');
  t.match(sel.warnings[0], new RegExp(`10-broken\\.json: not valid JSON`));
  t.match(sel.warnings[1], /20-wrong\.json: "interface-types" must be an array of strings/);
  t.match(sel.warnings[2], /30-nomode\.json: mapping\.mode "sideways" is not split, combined or stateless/);

  const alone = tempDirs(t);
  writeFileSync(join(alone.etc, '50-only.json'), '[1, 2');
  const err = t.throws(() => selectFirmware({ machine: 'virt-7.2' }, { dirs: alone.dirs })) as ParseError;
  t.ok(err instanceof ParseError, 'the only descriptor being malformed is its ParseError');
  t.match(err.message, /QEMU firmware descriptor.*50-only\.json: not valid JSON/);

  t.throws(() => parseDescriptor('{"interface-types":["uefi"],"mapping":{"device":"flash","executable":{"filename":"/x","format":"raw"}},"targets":[],"features":[]}', 'split.json'), { message: /split\.json: mapping\."nvram-template" must be an object .* \(it is missing\)/ }, 'split mode needs nvram-template');
  const combined = parseDescriptor(descriptor({ mapping: { device: 'flash', mode: 'combined', executable: { filename: AAVMF_CODE, format: 'raw' } } }), 'c.json');
  t.match(combined.mapping, { device: 'flash', mode: 'combined' });
  t.throws(() => parseDescriptor('x'.repeat(1024 * 1024 + 1), 'big.json'), { message: /larger than the 1048576-byte cap/ });
});

t.test('filters: interface, device, architecture, machine glob, mode, features, files', async (t) => {
  const d = tempDirs(t);
  const write = (name: string, text: string): void => writeFileSync(join(d.share, name), text);
  write('10-bios.json', descriptor({ interfaces: ['bios'] }));
  write('11-memory.json', descriptor({ mapping: { device: 'memory', filename: AAVMF_CODE } }));
  write('12-x86.json', descriptor({ arch: 'x86_64', machines: ['pc-q35-*'] }));
  write('13-sbsa.json', descriptor({ machines: ['sbsa-ref'] }));
  write('14-stateless.json', descriptor({ mapping: { device: 'flash', mode: 'stateless', executable: { filename: AAVMF_CODE, format: 'raw' } } }));
  write('15-sb.json', descriptor({ features: ['secure-boot', 'enrolled-keys'] }));
  write('16-missing.json', descriptor({ mapping: { device: 'flash', executable: { filename: '/nonexistent/CODE.fd', format: 'raw' }, 'nvram-template': { filename: AAVMF_VARS, format: 'raw' } } }));
  write('17-qcow.json', descriptor({ mapping: { device: 'flash', executable: { filename: AAVMF_CODE, format: 'qcow2' }, 'nvram-template': { filename: AAVMF_VARS, format: 'raw' } } }));
  write('18-vmdk.json', descriptor({ mapping: { device: 'flash', executable: { filename: AAVMF_CODE, format: 'vmdk' }, 'nvram-template': { filename: AAVMF_VARS, format: 'raw' } } }));
  write('19-s3.json', descriptor({ description: 'with s3', features: ['acpi-s3'] }));

  const hasAavmf = existsSync(AAVMF_CODE) && existsSync(AAVMF_VARS);
  const sel = (c: Parameters<typeof selectFirmware>[0]) => selectFirmware(c, { dirs: d.dirs });
  const reasons = (c: Parameters<typeof selectFirmware>[0]) => Object.fromEntries(considerFirmware(c, { dirs: d.dirs }).map((x) => [x.path.split('/').pop(), x.reasons.join('; ')]));

  const r = reasons({ machine: 'virt-7.2', modes: ['split'] });
  t.match(r['10-bios.json'], /interface-types \[bios\] has no uefi/);
  t.match(r['11-memory.json'], /mapping\.device is memory, not flash/);
  t.match(r['12-x86.json'], /no target for aarch64 \(targets: x86_64\)/);
  t.match(r['13-sbsa.json'], /aarch64 machines \[sbsa-ref\] do not match virt-7\.2/);
  t.match(r['14-stateless.json'], /flash mode stateless is not accepted \(accepted: split\)/);
  t.match(r['15-sb.json'], /has secure-boot \(excluded by default/);
  t.match(r['16-missing.json'], /executable \/nonexistent\/CODE\.fd does not exist/);
  t.match(r['18-vmdk.json'], /executable format "vmdk" is not raw or qcow2/);
  if (hasAavmf) {
    t.match(r['17-qcow.json'], /executable \/usr\/share\/AAVMF\/AAVMF_CODE\.fd is declared qcow2 but is raw/, 'the declared format is checked against the file');
    t.equal(sel({ machine: 'virt-7.2', modes: ['split'] }).description, 'with s3', 'the first descriptor that fits');
    t.equal(sel({ machine: 'virt-7.2' }).mode, 'stateless', 'all modes accepted by default: the stateless one comes first');
    t.equal(sel({ machine: 'sbsa-ref', modes: ['split'] }).description, 'test firmware', 'a glob naming another machine type fits that type');
    t.match(sel({ machine: 'virt-7.2', features: ['secure-boot'] }), { features: ['secure-boot', 'enrolled-keys'] }, 'require a feature');
    t.equal(sel({ machine: 'virt-7.2', features: ['acpi-s3'] }).description, 'with s3');
    t.throws(() => sel({ machine: 'virt-7.2', features: ['no-acpi-s3'], modes: ['split'] }), { name: 'UnsupportedError' }, 'exclude a feature: only 19 fitted otherwise');
  }

  const err = t.throws(() => sel({ machine: 'virt-7.2', features: ['amd-sev'] })) as UnsupportedError;
  t.ok(err instanceof UnsupportedError);
  t.match(err.message, /no QEMU firmware descriptor fits aarch64 machine virt-7\.2, requiring amd-sev, without secure-boot/);
  for (const n of ['10-bios', '11-memory', '12-x86', '13-sbsa', '14-stateless', '15-sb', '16-missing', '17-qcow', '18-vmdk', '19-s3']) {
    t.match(err.message, new RegExp(`${n}\\.json: rejected: `), `${n} listed with its reason`);
  }
  t.match(err.message, /19-s3\.json: rejected: lacks amd-sev \(requested\)/);
  t.match(err.hint, /--firmware CODE --vars-template VARS/, 'the hint names the override');

  const empty = tempDirs(t);
  t.throws(() => selectFirmware({ machine: 'virt-7.2' }, { dirs: empty.dirs }), { name: 'UnsupportedError', message: /no QEMU firmware descriptors found \(searched /, hint: /--firmware CODE --vars-template VARS/ });
});

t.test('feature requirements', async (t) => {
  t.same(featureRequirements([]), { require: [], exclude: ['secure-boot'], reasons: { 'secure-boot': featureRequirements().reasons['secure-boot'] } });
  t.same(featureRequirements(['secure-boot', 'no-enrolled-keys']).exclude, ['enrolled-keys'], 'asking for secure-boot lifts the default exclusion');
  t.same(featureRequirements(['no-secure-boot']).reasons['secure-boot'], 'excluded on request');
});
