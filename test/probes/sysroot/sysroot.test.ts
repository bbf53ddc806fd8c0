import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../fixtures/cache.js';
import { ParseError, UnsupportedError, isReadError } from '../../../bytes/errors.js';
import { DirectorySysroot } from '../../../probes/sysroot/directory.js';
import { LiveSysroot } from '../../../probes/sysroot/live.js';
import { extractConsoleBundle } from '../../../probes/sysroot/console.js';
import { openSysroot } from '../../../probes/sysroot/open.js';
import { NotFoundError, UnreadableInGuestError, readText, readTextIfExists, type Sysroot } from '../../../probes/sysroot/types.js';

const work = mkdtempSync(join(tmpdir(), 'vmspec-sysroot-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const collect = join(repoRoot, 'probes', 'guest', 'collect.sh');

function throwsKind(t: Test, fn: () => unknown, cls: abstract new (...a: never[]) => Error, pattern: RegExp, what: string): void {
  try {
    fn();
    t.fail(`${what}: did not throw`);
  } catch (e) {
    t.ok(e instanceof cls && pattern.test((e as Error).message), what, { error: (e as Error).message, wanted: `${cls.name} matching ${pattern}` });
  }
}

/** A bundle made by the real collector from a small fake root. */
function collectedBundle(name: string): string {
  const root = join(work, `${name}-root`);
  const w = (p: string, data: string | Uint8Array): void => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), data);
  };
  w('sys/firmware/acpi/tables/SPCR', Buffer.from('SPCR\x50\x00\x00\x00', 'latin1'));
  w('sys/firmware/fdt', Buffer.from([0xd0, 0x0d, 0xfe, 0xed]));
  w('proc/consoles', 'ttyAMA0              -W- (EC p a)  204:64\n');
  w('proc/version', 'Linux version 6.1.0-fake\n');
  w('sys/devices/pci0000:00/0000:00:01.0/vendor', '0x1af4\n');
  mkdirSync(join(root, 'sys/bus/pci/devices'), { recursive: true });
  symlinkSync('../../../bus/pci/drivers/virtio-pci', join(root, 'sys/devices/pci0000:00/0000:00:01.0/driver'));
  symlinkSync('../../../devices/pci0000:00/0000:00:01.0', join(root, 'sys/bus/pci/devices/0000:00:01.0'));
  const out = join(work, name);
  const r = spawnSync('sh', [collect, '--root', root, '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`collect.sh failed: ${r.stderr}`);
  return out;
}

t.test('directory bundle written by collect.sh', async (t) => {
  const dir = collectedBundle('b1');
  const s = openSysroot(dir);
  t.equal(s.kind, 'directory');
  t.equal(s.manifest?.format, 'vmspec-evidence');
  t.equal(readText(s, '/proc/consoles'), 'ttyAMA0              -W- (EC p a)  204:64\n');
  t.equal(readText(s, 'proc/version'), 'Linux version 6.1.0-fake\n', 'relative paths start at the root');
  t.same([...s.readFile('/sys/firmware/fdt')], [0xd0, 0x0d, 0xfe, 0xed]);
  t.same(s.readdir('/sys/firmware/acpi/tables'), ['SPCR']);
  t.equal(s.readlink('/sys/bus/pci/devices/0000:00:01.0/driver'), '../../../bus/pci/drivers/virtio-pci');
  t.ok(s.exists('/sys/bus/pci/devices/0000:00:01.0/vendor'));
  t.notOk(s.exists('/sys/firmware/efi'));
  t.ok(s.manifest?.absent.includes('/sys/firmware/efi'), 'the manifest says it was looked for');
  t.equal(readTextIfExists(s, '/sys/firmware/efi/fw_platform_size'), undefined);
  throwsKind(t, () => s.readFile('/sys/firmware/efi/systab'), NotFoundError, /no such file/, 'absent file');
  t.same(s.verify(), { hasManifest: true, checked: Object.keys(s.manifest?.files ?? {}).length, ok: true, issues: [] });
});

t.test('directory bundle: tampering and unreadable entries are reported', async (t) => {
  const dir = collectedBundle('b2');
  appendFileSync(join(dir, 'proc/consoles'), 'ttyS0 evil\n');
  writeFileSync(join(dir, 'smuggled'), 'x');
  rmSync(join(dir, 'proc/version'));
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { unreadable: { path: string; reason: string }[] };
  manifest.unreadable.push({ path: '/proc/tty/driver/ttyAMA', reason: 'Permission denied' });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const s = new DirectorySysroot(dir);
  throwsKind(t, () => s.readFile('/proc/consoles'), ParseError, /size \d+ does not match the manifest/, 'changed file refused');
  throwsKind(t, () => s.readFile('/proc/tty/driver/ttyAMA'), UnreadableInGuestError, /unreadable in the guest: Permission denied/, 'unreadable in the guest');
  const report = s.verify();
  t.equal(report.ok, false);
  t.match(report.issues, [
    { path: 'proc/consoles', kind: 'size-mismatch' },
    { path: 'proc/version', kind: 'missing' },
    { path: 'smuggled', kind: 'unlisted' },
  ]);
  // Same size, different bytes.
  const dir2 = collectedBundle('b3');
  writeFileSync(join(dir2, 'sys/firmware/fdt'), Buffer.from([0xd0, 0x0d, 0xfe, 0xee]));
  throwsKind(t, () => new DirectorySysroot(dir2).readFile('/sys/firmware/fdt'), ParseError, /sha256 [0-9a-f]{64} does not match the manifest/, 'same-size change refused');
});

t.test('directory bundle: symlinks never leave the bundle', async (t) => {
  const dir = join(work, 'hostile-dir');
  mkdirSync(join(dir, 'sys/a/b'), { recursive: true });
  writeFileSync(join(dir, 'inside'), 'inside\n');
  symlinkSync('/etc/passwd', join(dir, 'abs-passwd'));
  symlinkSync('../../../../../../../../etc/passwd', join(dir, 'sys/a/b/rel-passwd'));
  symlinkSync('/etc', join(dir, 'etc-dir'));
  symlinkSync('../inside', join(dir, 'sys/ok'));
  symlinkSync('/inside', join(dir, 'sys/abs-ok'));
  spawnSync('mkfifo', [join(dir, 'fifo')]);
  const s = new DirectorySysroot(dir);
  throwsKind(t, () => s.readFile('/abs-passwd'), NotFoundError, /no such file/, 'absolute link resolved in the bundle, not on the host');
  t.notOk(s.exists('/etc-dir/passwd'), 'directory link resolved in the bundle');
  throwsKind(t, () => s.readFile('/sys/a/b/rel-passwd'), ParseError, /points above the bundle root/, 'relative escape refused');
  t.equal(readText(s, '/sys/ok'), 'inside\n');
  t.equal(readText(s, '/sys/abs-ok'), 'inside\n');
  throwsKind(t, () => s.readFile('/fifo'), UnsupportedError, /not a regular file \(fifo\): refused/, 'fifo never opened');
  t.equal(s.readlink('/abs-passwd'), '/etc/passwd');
  t.equal(s.verify().hasManifest, false);
});

t.test('live system', async (t) => {
  const s: Sysroot = openSysroot('/');
  t.equal(s.kind, 'live');
  t.equal(s.manifest, undefined);
  t.equal(readText(s, '/proc/version'), readFileSync('/proc/version', 'utf8'), '/proc read to EOF (size 0 in stat)');
  t.ok(s.readdir('/proc/self').includes('cmdline'));
  t.equal(s.readlink('/proc/self/exe'), readlinkSync('/proc/self/exe'));
  t.ok(s.exists('/proc/cpuinfo'));
  t.notOk(s.exists('/no/such/path'));
  throwsKind(t, () => s.readFile('/no/such/path'), NotFoundError, /no such file/, 'absent');
  throwsKind(t, () => s.readFile('/dev/zero'), UnsupportedError, /not a regular file: refused/, 'device refused, never read');
  throwsKind(t, () => s.readFile('/proc'), UnsupportedError, /is a directory/, 'directory');
  throwsKind(t, () => s.readFile('/proc/self/maps', { maxBytes: 10 }), ParseError, /more than the 10-byte cap/, 'cap');
  t.same(s.stat('/proc'), { type: 'dir' });
  t.same(s.verify(), { hasManifest: false, checked: 0, ok: true, issues: [] });
  try {
    s.readFile('/sys/firmware/acpi/tables/DSDT');
    t.pass('readable here');
  } catch (e) {
    t.ok(isReadError(e), 'a firmware table that cannot be read gives a typed error');
  }
});

t.test('console frame', async (t) => {
  const dir = collectedBundle('b4');
  const tar = spawnSync('tar', ['-cf', '-', '-C', dir, '.'], { maxBuffer: 64 * 1024 * 1024 }).stdout;
  const sha = createHash('sha256').update(tar).digest('hex');
  const b64 = tar.toString('base64').replace(/.{76}/g, '$&\n');
  const frame = (size: number, digest: string, body: string): string =>
    `\x1b[2J\x1b[01;01HUEFI firmware\r\n[    1.0] boot\r\n-----BEGIN VMSPEC EVIDENCE size=${size} sha256=${digest}-----\r\n${body.replace(/\n/g, '\r\n')}\r\n-----END VMSPEC EVIDENCE-----\r\n[   9.9] reboot: Power down\r\n`;
  const log = join(work, 'serial.log');
  writeFileSync(log, frame(tar.length, sha, b64));
  const s = openSysroot(log);
  t.equal(s.kind, 'tar');
  t.equal(readText(s, '/proc/version'), 'Linux version 6.1.0-fake\n');
  t.ok(s.verify().ok);
  t.same(extractConsoleBundle(frame(tar.length, sha, b64)), new Uint8Array(tar));
  throwsKind(t, () => extractConsoleBundle(frame(tar.length, '0'.repeat(64), b64)), ParseError, /sha256 .* does not match/, 'wrong sha256');
  const lines = b64.split('\n');
  lines.splice(2, 1);
  throwsKind(t, () => extractConsoleBundle(frame(tar.length, sha, lines.join('\n'))), ParseError, /lines lost or corrupted/, 'a lost line');
  throwsKind(t, () => extractConsoleBundle('-----BEGIN VMSPEC EVIDENCE size=1 sha256=' + '0'.repeat(64) + '-----\nAAAA\n'), ParseError, /no END line/, 'cut short');
  throwsKind(t, () => extractConsoleBundle('nothing here'), ParseError, /no VMSPEC EVIDENCE frame/, 'no frame');
  writeFileSync(join(work, 'plain.txt'), 'hello');
  throwsKind(t, () => openSysroot(join(work, 'plain.txt')), UnsupportedError, /not an evidence bundle/, 'not evidence');
});
