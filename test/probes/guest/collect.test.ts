import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../fixtures/cache.js';
import { parseManifest, type EvidenceManifest } from '../../../probes/sysroot/manifest.js';
import { DirectorySysroot } from '../../../probes/sysroot/directory.js';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { extractConsoleBundle } from '../../../probes/sysroot/console.js';
import { readText } from '../../../probes/sysroot/types.js';

const collect = join(repoRoot, 'probes', 'guest', 'collect.sh');
const GUID = 'd960bf04-3984-4c09-8f49-6e746736ed9f';

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const busybox = which('busybox');
const work = mkdtempSync(join(tmpdir(), 'vmspec-collect-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** A PATH holding only busybox applets, as in the reference image's initramfs. */
function busyboxPath(): string {
  const dir = join(work, 'busybox-bin');
  if (!existsSync(dir)) {
    mkdirSync(dir);
    const applets = execFileSync(busybox as string, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const a of applets) symlinkSync(busybox as string, join(dir, a));
  }
  return dir;
}

interface Shell {
  name: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

function shells(): Shell[] {
  const out: Shell[] = [];
  if (which('dash')) out.push({ name: 'dash', argv: ['dash'] });
  if (which('bash')) out.push({ name: 'bash', argv: ['bash'] });
  if (busybox) out.push({ name: 'busybox sh (busybox applets only)', argv: [busybox, 'sh'], env: { ...process.env, PATH: busyboxPath() } });
  return out;
}

function runCollect(shell: Shell, args: string[], opts: { input?: string } = {}): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(shell.argv[0] as string, [...shell.argv.slice(1), collect, ...args], {
    env: shell.env ?? process.env,
    input: opts.input ?? '',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

function readManifest(dir: string): EvidenceManifest {
  return parseManifest(readFileSync(join(dir, 'manifest.json')), dir);
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A fake guest root: the layout collect.sh reads, with a few awkward cases. */
function fakeRoot(dir: string): string {
  const w = (p: string, data: string | Uint8Array): void => {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), data);
  };
  w('sys/firmware/acpi/tables/APIC', Buffer.from('APIC\x2c\x00\x00\x00binary\x00\xff', 'latin1'));
  w('sys/firmware/acpi/tables/FACP', Buffer.alloc(276, 7));
  w('sys/firmware/acpi/tables/dynamic/SSDT1', 'SSDT');
  mkdirSync(join(dir, 'sys/firmware/acpi/tables/data'), { recursive: true });
  w('sys/firmware/fdt', Buffer.from([0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 0x28]));
  w('sys/firmware/efi/fw_platform_size', '64\n');
  const efivars = 'sys/firmware/efi/efivars';
  w(`${efivars}/BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c`, Buffer.from([7, 0, 0, 0, 1, 0, 0, 0]));
  w(`${efivars}/Weird Name "q"-${GUID}`, Buffer.from([7, 0, 0, 0, 0x41]));
  // A fifo where a variable should be: recorded as unreadable, never opened.
  execFileSync('mkfifo', [join(dir, efivars, `Fifo-${GUID}`)]);
  w('proc/consoles', 'ttyAMA0              -W- (EC p a)  204:64\n');
  w('proc/cpuinfo', 'processor\t: 0\nBogoMIPS\t: 125.00\n\n');
  w('proc/interrupts', '           CPU0\n 11:   1   GICv3  27 Level     arch_timer\n');
  w('proc/meminfo', 'MemTotal:        1000 kB\n');
  w('proc/version', 'Linux version 6.1.0-fake\n');
  w('proc/cmdline', 'panic=-1 quiet\n');
  w('proc/modules', 'efivarfs 20480 1 - Live 0x0000000000000000\n');
  w('proc/tty/driver/ttyAMA', 'serinfo:1.0 driver revision:\n0: uart:PL011 rev1 mmio:0x09000000 irq:12\n');
  w('sys/class/tty/ttyAMA0/type', '0\n');
  mkdirSync(join(dir, 'sys/class/tty/tty0'), { recursive: true });
  w('sys/devices/platform/rtc/rtc0/name', 'rtc-efi rtc-efi.0\n');
  w('sys/devices/platform/rtc/rtc0/date', '2026-11-27\n');
  w('sys/devices/platform/rtc/rtc0/time', '05:00:00\n');
  w('sys/devices/platform/rtc/rtc0/since_epoch', '1795755600\n');
  w('sys/devices/platform/rtc/rtc0/hctosys', '1\n');
  mkdirSync(join(dir, 'sys/class/rtc'), { recursive: true });
  symlinkSync('../../devices/platform/rtc/rtc0', join(dir, 'sys/class/rtc/rtc0'));
  const pci = 'sys/devices/pci0000:00/0000:00:01.0';
  for (const [a, v] of Object.entries({ vendor: '0x1af4', device: '0x1001', class: '0x010000', revision: '0x00', subsystem_vendor: '0x1af4', subsystem_device: '0x0002' })) {
    w(`${pci}/${a}`, `${v}\n`);
  }
  mkdirSync(join(dir, 'sys/bus/pci/drivers/virtio-pci'), { recursive: true });
  symlinkSync('../../../bus/pci/drivers/virtio-pci', join(dir, pci, 'driver'));
  mkdirSync(join(dir, 'sys/bus/pci/devices'), { recursive: true });
  symlinkSync(`../../../devices/pci0000:00/0000:00:01.0`, join(dir, 'sys/bus/pci/devices/0000:00:01.0'));
  w('sys/devices/system/cpu/online', '0-1\n');
  w('sys/devices/system/cpu/possible', '0-1\n');
  w('sys/devices/system/cpu/present', '0-1\n');
  return dir;
}

t.test('shellcheck -s sh is clean (collect.sh, the reference image /init)', { skip: which('shellcheck') ? false : 'shellcheck is not installed (apt-get install shellcheck)' }, async (t) => {
  for (const file of [collect, join(repoRoot, 'boot', 'reference', 'init.sh')]) {
    const r = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
    t.equal(r.status, 0, file, { output: r.stdout + r.stderr });
  }
});

t.test('usage', async (t) => {
  const sh = { name: 'sh', argv: ['sh'] };
  const help = runCollect(sh, ['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout.toString(), /--phase write/);
  t.match(help.stdout.toString(), /--console/);
  for (const [args, msg] of [
    [['--bogus'], /unknown argument/],
    [['--phase', 'write'], /needs --nonce/],
    [['--phase', 'erase', '--nonce', 'a1'], /must be write or check/],
    [['--phase', 'write', '--nonce', 'a-b'], /letters and digits/],
    [['--phase', 'write', '--nonce', 'x'.repeat(65)], /longer than 64/],
    [['--nonce', 'abc'], /needs --phase/],
    [['--out'], /needs a directory/],
  ] as const) {
    const r = runCollect(sh, [...args]);
    t.equal(r.status, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, msg);
  }
  const full = join(work, 'not-empty');
  mkdirSync(full);
  writeFileSync(join(full, 'x'), 'x');
  const r = runCollect(sh, ['--out', full]);
  t.equal(r.status, 2);
  t.match(r.stderr, /not empty/);
});

for (const shell of shells()) {
  t.test(`live run on this host under ${shell.name}`, async (t) => {
    const out = join(work, `live-${shell.name.split(' ')[0]}`);
    const tar = `${out}.tar`;
    const started = Date.now();
    const r = runCollect(shell, ['--out', out, '--tar', tar]);
    t.comment(`collect.sh took ${Date.now() - started} ms`);
    t.equal(r.status, 0, 'collect.sh exits 0', { stderr: r.stderr });
    const m = readManifest(out);
    t.equal(m.collector.name, 'collect.sh');
    t.equal(m.root, '/');
    t.ok(m.startedAtEpoch !== null && m.finishedAtEpoch !== null && m.finishedAtEpoch >= m.startedAtEpoch);
    t.equal(m.efiVariableTest, null);
    t.ok(Object.keys(m.files).length > 5, 'some files collected');
    t.ok(Object.hasOwn(m.files, 'proc/cpuinfo'));
    t.ok(Object.hasOwn(m.files, 'cmd/uname-a'));
    // This host boots without UEFI: recorded as absent, not as an error.
    if (!existsSync('/sys/firmware/efi')) {
      t.ok(m.absent.includes('/sys/firmware/efi'), 'missing EFI recorded as absent');
      t.equal(m.efivarfs, 'no-efi');
    }
    for (const u of m.unreadable) t.ok(u.reason.length > 0, `reason given for ${u.path}`);
    // Bytes copied exactly.
    t.equal(readFileSync(join(out, 'proc/version'), 'utf8'), readFileSync('/proc/version', 'utf8'));
    const dir = new DirectorySysroot(out);
    const report = dir.verify();
    t.ok(report.ok, JSON.stringify(report.issues));
    t.equal(report.checked, Object.keys(m.files).length);
    const fromTar = new TarSysroot(tar);
    t.same(fromTar.manifest, dir.manifest, 'tar carries the same manifest');
    t.ok(fromTar.verify().ok);
    t.equal(readText(fromTar, '/proc/cpuinfo'), readText(dir, '/proc/cpuinfo'));
    fromTar.close();
  });
}

t.test('fake root: every kind of fact, odd names, unreadable entries', async (t) => {
  const root = fakeRoot(join(work, 'fake1'));
  for (const shell of shells()) {
    const out = join(work, `fake1-out-${shell.name.split(' ')[0]}`);
    const r = runCollect(shell, ['--root', root, '--out', out]);
    t.equal(r.status, 0, 'collect.sh exits 0', { stderr: r.stderr });
    const m = readManifest(out);
    t.equal(m.root, root);
    t.equal(m.efivarfs, 'not-mounted-by-request');
    const files = Object.keys(m.files);
    t.ok(files.includes('sys/firmware/acpi/tables/APIC'), shell.name);
    t.ok(files.includes('sys/firmware/acpi/tables/dynamic/SSDT1'));
    t.ok(files.includes(`sys/firmware/efi/efivars/Weird Name "q"-${GUID}`), 'name with space and quote survives JSON');
    t.same(m.unreadable.map((u) => u.path), [`/sys/firmware/efi/efivars/Fifo-${GUID}`]);
    t.match(m.unreadable[0]?.reason, /not a regular file/);
    t.ok(m.absent.includes('/sys/bus/xen/devices'));
    t.ok(m.absent.includes('/sys/firmware/devicetree'));
    t.same(m.symlinks, { 'sys/bus/pci/devices/0000:00:01.0/driver': '../../../bus/pci/drivers/virtio-pci' });
    t.same(readFileSync(join(out, 'sys/firmware/acpi/tables/APIC')), readFileSync(join(root, 'sys/firmware/acpi/tables/APIC')), 'binary copied exactly');
    t.equal(readFileSync(join(out, 'sys/class/rtc/rtc0/name'), 'utf8'), 'rtc-efi rtc-efi.0\n');
    t.equal(readFileSync(join(out, 'sys/bus/pci/devices/0000:00:01.0/vendor'), 'utf8'), '0x1af4\n');
    t.equal(readFileSync(join(out, 'sys/class/tty/ttyAMA0/type'), 'utf8'), '0\n');
    t.notOk(existsSync(join(out, 'sys/class/tty/tty0')), 'ttys without type are skipped');
    t.equal(m.files['sys/firmware/fdt']?.sha256, sha256(readFileSync(join(root, 'sys/firmware/fdt'))));
    t.equal(m.files['sys/firmware/fdt']?.size, 8);
    t.ok(new DirectorySysroot(out).verify().ok);
  }
});

t.test('fake root: persistence phases', async (t) => {
  const root = fakeRoot(join(work, 'fake2'));
  const sh = shells()[0] as Shell;
  const efivars = join(root, 'sys/firmware/efi/efivars');
  const name = `VmspecNonceN0nce42-${GUID}`;

  let r = runCollect(sh, ['--root', root, '--out', join(work, 'p-check0'), '--phase', 'check', '--nonce', 'N0nce42']);
  t.equal(r.status, 0, 'collect.sh exits 0', { stderr: r.stderr });
  t.match(readManifest(join(work, 'p-check0')).efiVariableTest, { phase: 'check', result: 'absent', name, content: null });
  t.notOk(existsSync(join(efivars, name)), 'the check phase never creates the variable');

  r = runCollect(sh, ['--root', root, '--out', join(work, 'p-write'), '--phase', 'write', '--nonce', 'N0nce42']);
  t.equal(r.status, 0, 'collect.sh exits 0', { stderr: r.stderr });
  const written = readManifest(join(work, 'p-write'));
  t.match(written.efiVariableTest, { phase: 'write', result: 'written', nonce: 'N0nce42', guid: GUID, name, content: 'N0nce42', attributes: '07000000' });
  t.same([...readFileSync(join(efivars, name))], [7, 0, 0, 0, ...Buffer.from('N0nce42')], 'attributes then data, in one file');
  t.ok(Object.hasOwn(written.files, `sys/firmware/efi/efivars/${name}`), 'the new variable is in the bundle');

  r = runCollect(sh, ['--root', root, '--out', join(work, 'p-write2'), '--phase', 'write', '--nonce', 'N0nce42']);
  t.match(readManifest(join(work, 'p-write2')).efiVariableTest, { result: 'already-present' });

  r = runCollect(sh, ['--root', root, '--out', join(work, 'p-check'), '--phase', 'check', '--nonce', 'N0nce42']);
  t.match(readManifest(join(work, 'p-check')).efiVariableTest, { phase: 'check', result: 'present', content: 'N0nce42', attributes: '07000000' });

  r = runCollect(sh, ['--root', root, '--out', join(work, 'p-other'), '--phase', 'check', '--nonce', 'Other1']);
  t.match(readManifest(join(work, 'p-other')).efiVariableTest, { result: 'absent' });
  t.same(readdirSync(efivars).filter((f) => f.startsWith('VmspecNonce')), [name], 'only the written variable exists');

  // No efivarfs at all.
  const bare = join(work, 'bare');
  mkdirSync(join(bare, 'proc'), { recursive: true });
  r = runCollect(sh, ['--root', bare, '--out', join(work, 'p-bare'), '--phase', 'write', '--nonce', 'abc']);
  t.equal(r.status, 0);
  t.match(readManifest(join(work, 'p-bare')).efiVariableTest, { result: 'unavailable' });
});

t.test('--console frames the tar on stdout', async (t) => {
  const root = fakeRoot(join(work, 'fake3'));
  for (const shell of shells()) {
    const r = runCollect(shell, ['--root', root, '--console']);
    t.equal(r.status, 0, 'collect.sh exits 0', { stderr: r.stderr });
    const text = r.stdout.toString('latin1');
    t.match(text, /^-----BEGIN VMSPEC EVIDENCE size=\d+ sha256=[0-9a-f]{64}-----\n/);
    t.match(text, /\n-----END VMSPEC EVIDENCE-----\n$/);
    // As on a serial line: CRLF, a kernel message in the middle.
    const lines = text.split('\n');
    lines.splice(3, 0, '[   12.345678] random: crng init done');
    const noisy = lines.join('\r\n');
    const tar = extractConsoleBundle(noisy);
    const s = new TarSysroot(new BufferByteSource(tar, 'console'));
    t.ok(s.verify().ok, shell.name);
    t.equal(readText(s, '/sys/class/rtc/rtc0/name'), 'rtc-efi rtc-efi.0\n');
    t.notOk(existsSync(join(tmpdir(), 'vmspec-collect.')), 'no work directory left behind');
  }
});

t.test('tar to a raw "block device" file: read in place, trailing junk ignored', async (t) => {
  const root = fakeRoot(join(work, 'fake4'));
  const disk = join(work, 'evidence.img');
  writeFileSync(disk, Buffer.alloc(4 * 1024 * 1024, 0xa5)); // stale data everywhere
  const r = runCollect(shells()[0] as Shell, ['--root', root, '--tar', disk]);
  t.equal(r.status, 0, 'collect.sh exits 0', { stderr: r.stderr });
  const s = new TarSysroot(disk);
  t.ok(s.verify().ok);
  t.equal(readText(s, '/proc/consoles'), 'ttyAMA0              -W- (EC p a)  204:64\n');
  s.close();
});

t.test('a file that cannot be read is recorded with its reason, the rest is collected', { skip: process.getuid?.() === 0 ? false : 'needs root to make an unreadable-for-root situation' }, async (t) => {
  // As root every permission is granted, so use a file whose read fails:
  // a directory where collect.sh expects a file.
  const root = fakeRoot(join(work, 'fake5'));
  rmSync(join(root, 'proc/consoles'));
  mkdirSync(join(root, 'proc/consoles'));
  chmodSync(join(root, 'proc/consoles'), 0o755);
  const r = runCollect(shells()[0] as Shell, ['--root', root, '--out', join(work, 'unr')]);
  t.equal(r.status, 0);
  const m = readManifest(join(work, 'unr'));
  t.same(m.unreadable.find((u) => u.path === '/proc/consoles'), { path: '/proc/consoles', reason: 'is a directory' });
  t.ok(Object.hasOwn(m.files, 'proc/cpuinfo'), 'collection went on');
});
