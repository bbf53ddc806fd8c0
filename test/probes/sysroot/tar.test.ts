import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { TarSysroot, readTarIndex, DEFAULT_TAR_LIMITS } from '../../../probes/sysroot/tar.js';
import { NotFoundError, readText } from '../../../probes/sysroot/types.js';

const work = mkdtempSync(join(tmpdir(), 'vmspec-tar-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------- a tiny tar writer for hostile archives

interface Member {
  name: string;
  type?: string;
  data?: Uint8Array | string;
  linkname?: string;
  /** Size field to write instead of the data's length (size lies). */
  sizeField?: number;
  prefix?: string;
  badChecksum?: boolean;
  gnu?: boolean;
  base256Size?: number;
}

function header(m: Member, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const enc = new TextEncoder();
  const put = (off: number, len: number, s: string): void => {
    h.set(enc.encode(s).subarray(0, len), off);
  };
  const oct = (off: number, len: number, n: number): void => put(off, len, n.toString(8).padStart(len - 1, '0') + '\0');
  put(0, 100, m.name);
  oct(100, 8, 0o644);
  oct(108, 8, 0);
  oct(116, 8, 0);
  if (m.base256Size !== undefined) {
    h[124] = 0x80;
    let v = m.base256Size;
    for (let i = 135; i > 124; i--) {
      h[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else oct(124, 12, size);
  oct(136, 12, 1700000000);
  h.set(enc.encode('        '), 148);
  put(156, 1, m.type ?? '0');
  put(157, 100, m.linkname ?? '');
  if (m.gnu) put(257, 8, 'ustar  \0');
  else {
    put(257, 6, 'ustar\0');
    put(263, 2, '00');
  }
  if (m.prefix) put(345, 155, m.prefix);
  let sum = 0;
  for (const b of h) sum += b;
  if (m.badChecksum) sum += 1;
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

function tarOf(members: Member[], opts: { end?: boolean; trailing?: Uint8Array } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    const data = typeof m.data === 'string' ? new TextEncoder().encode(m.data) : (m.data ?? new Uint8Array(0));
    parts.push(header(m, m.sizeField ?? data.length));
    if (data.length > 0) {
      const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
      padded.set(data);
      parts.push(padded);
    }
  }
  if (opts.end !== false) parts.push(new Uint8Array(1024));
  if (opts.trailing) parts.push(opts.trailing);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function pax(records: Record<string, string>): string {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    out += `${len}${body}`;
  }
  return out;
}

const open = (bytes: Uint8Array, limits = DEFAULT_TAR_LIMITS): TarSysroot => new TarSysroot(new BufferByteSource(bytes, 'test.tar'), limits);

/** fn throws an instance of `cls` whose message matches `pattern`. */
function throwsKind(t: Test, fn: () => unknown, cls: abstract new (...a: never[]) => Error, pattern: RegExp, what: string): void {
  try {
    fn();
    t.fail(`${what}: did not throw`);
  } catch (e) {
    t.ok(e instanceof cls && pattern.test((e as Error).message), what, { error: (e as Error).message, wanted: `${cls.name} matching ${pattern}` });
  }
}

function refused(t: Test, bytes: Uint8Array, pattern: RegExp, what: string, limits = DEFAULT_TAR_LIMITS): void {
  try {
    open(bytes, limits);
    t.fail(`${what}: accepted`);
  } catch (e) {
    t.ok((e instanceof ParseError || e instanceof UnsupportedError) && pattern.test((e as Error).message), what, { error: (e as Error).message, wanted: String(pattern) });
  }
}

// ---------------------------------------------------------------- well-formed archives

t.test('a plain archive: files, dirs, symlinks, hard links, long names', async (t) => {
  const long = 'sys/firmware/efi/efivars/' + 'L'.repeat(120) + '-8be4df61-93ca-11d2-aa0d-00e098032b8c';
  const bytes = tarOf([
    { name: './', type: '5' },
    { name: './sys/', type: '5' },
    { name: './sys/firmware/acpi/tables/APIC', data: 'APIC-bytes' },
    { name: 'sys/bus/pci/devices/0000:00:01.0/driver', type: '2', linkname: '../../../bus/pci/drivers/virtio-pci' },
    { name: 'proc/consoles', data: 'ttyAMA0 -W- (EC p a) 204:64\n' },
    { name: 'proc/consoles-again', type: '1', linkname: './proc/consoles' },
    { name: 'link-to-consoles', type: '2', linkname: 'proc/consoles' },
    { name: 'abs-link', type: '2', linkname: '/proc/consoles' },
    { name: '././@LongLink', type: 'L', data: long + '\0', gnu: true },
    { name: 'truncated-name', data: 'long', gnu: true },
    { name: 'PaxHeaders/x', type: 'x', data: pax({ path: 'proc/pax-named', size: '3' }) },
    { name: 'ignored', data: 'abc', sizeField: 999 },
    { name: 'big', data: 'base256', base256Size: 7 },
    { name: 'name', prefix: 'with/prefix', data: 'p' },
  ]);
  const s = open(bytes);
  t.equal(s.kind, 'tar');
  t.same(s.readdir('/'), ['abs-link', 'big', 'link-to-consoles', 'proc', 'sys', 'with']);
  t.equal(readText(s, '/sys/firmware/acpi/tables/APIC'), 'APIC-bytes');
  t.equal(s.readlink('/sys/bus/pci/devices/0000:00:01.0/driver'), '../../../bus/pci/drivers/virtio-pci');
  t.equal(readText(s, '/proc/consoles-again'), 'ttyAMA0 -W- (EC p a) 204:64\n', 'hard link to an earlier member');
  t.equal(readText(s, '/link-to-consoles'), 'ttyAMA0 -W- (EC p a) 204:64\n', 'relative symlink followed inside');
  t.equal(readText(s, '/abs-link'), 'ttyAMA0 -W- (EC p a) 204:64\n', 'absolute symlink taken from the bundle root');
  t.equal(readText(s, long), 'long', 'GNU long name');
  t.equal(readText(s, '/proc/pax-named'), 'abc', 'pax path and size override the header');
  t.equal(readText(s, '/big'), 'base256');
  t.equal(readText(s, '/with/prefix/name'), 'p', 'ustar prefix field');
  t.ok(s.exists('/sys/firmware'), 'implied directories exist');
  t.same(s.stat('/sys/firmware'), { type: 'dir' });
  t.same(s.stat('/proc/consoles'), { type: 'file', size: 28 });
  t.notOk(s.exists('/sys/bus/pci/devices/0000:00:01.0/driver'), 'dangling link inside the bundle: not there');
  throwsKind(t, () => s.readFile('/nope'), NotFoundError, /\/nope: no such file/, 'absent file');
  t.throws(() => s.readFile('/proc'), /is a directory/);
  t.throws(() => s.readlink('/proc/consoles'), /not a symlink/);
  throwsKind(t, () => s.readFile('/proc/consoles', { maxBytes: 4 }), ParseError, /more than the 4-byte cap/, 'maxBytes cap');
  t.throws(() => s.readFile('/../../etc/passwd'), /climbs above the root/);
  t.equal(s.verify().hasManifest, false);
});

t.test('anything after the end-of-archive marker is ignored (raw evidence disk)', async (t) => {
  const junk = new Uint8Array(8192).fill(0xa5);
  const s = open(tarOf([{ name: 'a', data: 'A' }], { trailing: junk }));
  t.equal(readText(s, '/a'), 'A');
  // A lone zero block at the very end is accepted too.
  const bytes = tarOf([{ name: 'a', data: 'A' }], { end: false });
  const lone = new Uint8Array(bytes.length + 512);
  lone.set(bytes);
  t.equal(readText(open(lone), '/a'), 'A');
});

// ---------------------------------------------------------------- hostile archives

t.test('hostile archives are refused whole, with a reason', async (t) => {
  refused(t, tarOf([{ name: '../x', data: 'x' }]), /"\.\.".*refused/, '../x');
  refused(t, tarOf([{ name: 'a/../../x', data: 'x' }]), /"\.\.".*refused/, 'a/../../x');
  refused(t, tarOf([{ name: '/etc/passwd', data: 'root:x:0:0' }]), /absolute: refused/, '/etc/passwd');
  refused(t, tarOf([{ name: 'PaxHeaders/x', type: 'x', data: pax({ path: '../escape' }) }, { name: 'innocent', data: 'x' }]), /"\.\.".*refused/, 'pax path with ..');
  refused(t, tarOf([{ name: '././@LongLink', type: 'L', data: '/abs\0', gnu: true }, { name: 'innocent', data: 'x', gnu: true }]), /absolute/, 'GNU long name absolute');
  refused(t, tarOf([{ name: 'dev/sda', type: '4' }]), /device node: refused/, 'block device');
  refused(t, tarOf([{ name: 'dev/null', type: '3' }]), /device node: refused/, 'char device');
  refused(t, tarOf([{ name: 'fifo', type: '6' }]), /fifo: refused/, 'fifo');
  refused(t, tarOf([{ name: 'h', type: '1', linkname: '/etc/passwd' }]), /outside the bundle: refused/, 'hard link to an absolute path');
  refused(t, tarOf([{ name: 'h', type: '1', linkname: '../../etc/shadow' }]), /outside the bundle: refused/, 'hard link climbing out');
  refused(t, tarOf([{ name: 'h', type: '1', linkname: 'later' }, { name: 'later', data: 'x' }]), /not to an earlier regular member/, 'hard link forward');
  refused(t, tarOf([{ name: 'd', type: '5' }, { name: 'h', type: '1', linkname: 'd' }]), /not to an earlier regular member/, 'hard link to a directory');
  refused(t, tarOf([{ name: 'a', data: '1' }, { name: 'a', data: '2' }]), /duplicate member "a"/, 'duplicate names');
  refused(t, tarOf([{ name: './a', data: '1' }, { name: 'a', data: '2' }]), /duplicate member "a"/, 'duplicate names after normalisation');
  refused(t, tarOf([{ name: 'a', data: '1' }, { name: 'a/b', data: '2' }]), /which is a file: refused/, 'file used as a directory');
  refused(t, tarOf([{ name: 'a/b', data: '2' }, { name: 'a', data: '1' }]), /other members lie below it/, 'directory replaced by a file');
  refused(t, tarOf([{ name: 'sys', type: '2', linkname: '/' }, { name: 'sys/x', data: 'via link' }]), /which is a symlink: refused/, 'member below a symlink');
  refused(t, tarOf([{ name: 'a', data: 'abc', sizeField: 1 << 20 }]), /claims 1048576 bytes but the archive ends/, 'size lie');
  refused(t, tarOf([{ name: 'l', type: '2', linkname: 't', sizeField: 10 }]), /carry none/, 'symlink with data');
  refused(t, tarOf([{ name: 'a', data: 'x', badChecksum: true }]), /checksum mismatch/, 'bad checksum');
  refused(t, tarOf([{ name: 's', type: 'S', data: 'x' }]), /not supported/, 'GNU sparse');
  refused(t, tarOf([{ name: 'PaxHeaders/x', type: 'x', data: pax({ 'GNU.sparse.map': '0,1' }) }, { name: 'x', data: 'x' }]), /sparse/, 'pax sparse');
  refused(t, tarOf([{ name: 'PaxHeaders/x', type: 'x', data: '99 path=x\n' }, { name: 'x', data: 'x' }]), /bad length/, 'pax record length lie');
  refused(t, tarOf([{ name: 'PaxHeaders/x', type: 'x', data: pax({ size: '-1' }) }, { name: 'x', data: 'x' }]), /not a valid decimal size/, 'pax negative size');
  refused(t, tarOf([{ name: 'PaxHeaders/x', type: 'x', data: pax({ path: 'x' }) }]), /after an extended header/, 'extended header then end');
  const v7 = tarOf([{ name: 'a', data: 'x' }]);
  v7.fill(0, 257, 265);
  let sum = 0;
  v7.fill(0x20, 148, 156);
  for (let i = 0; i < 512; i++) sum += v7[i] as number;
  v7.set(new TextEncoder().encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  refused(t, v7, /not a ustar/, 'pre-POSIX tar');
  refused(t, new Uint8Array(100), /truncated/, 'shorter than a header');
});

t.test('truncated archives are refused', async (t) => {
  const whole = tarOf([{ name: 'a', data: 'x'.repeat(2000) }, { name: 'b', data: 'y' }]);
  refused(t, whole.subarray(0, 512 + 1024), /claims 2000 bytes but the archive ends/, 'cut in the middle of data');
  refused(t, whole.subarray(0, 512 + 2048 + 100), /truncated/, 'cut in the middle of a header');
  refused(t, whole.subarray(0, 512 + 2048 + 1024), /no end-of-archive marker/, 'cut at a header boundary, no end marker');
  const junkAfterZero = new Uint8Array(whole.length);
  junkAfterZero.set(whole.subarray(0, 512 + 2048));
  junkAfterZero.set(whole.subarray(512 + 2048, 512 + 2048 + 1024), 512 + 2048 + 512);
  refused(t, junkAfterZero, /zero block inside the archive/, 'zero block then a header');
});

t.test('caps on member size, member count and total size', async (t) => {
  const limits = { ...DEFAULT_TAR_LIMITS, maxMemberSize: 100, maxMembers: 3, maxTotalSize: 150, maxMetaSize: 64, maxNameLength: 50 };
  refused(t, tarOf([{ name: 'a', data: 'x'.repeat(101) }]), /over the 100-byte cap/, 'member size', limits);
  refused(t, tarOf([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]), /more than 3 members/, 'member count', limits);
  refused(t, tarOf([{ name: 'a', data: 'x'.repeat(100) }, { name: 'b', data: 'x'.repeat(60) }]), /total more than 150 bytes/, 'total size', limits);
  refused(t, tarOf([{ name: 'PaxHeaders/x', type: 'x', data: pax({ comment: 'c'.repeat(100) }) }, { name: 'a' }]), /exceeds the 64-byte cap/, 'extended header size', limits);
  refused(t, tarOf([{ name: 'n'.repeat(60) }]), /longer than 50/, 'name length', limits);
  t.doesNotThrow(() => readTarIndex(new BufferByteSource(tarOf([{ name: 'a', data: 'x'.repeat(100) }, { name: 'b', data: 'x'.repeat(50) }])), limits), 'at the caps is fine');
});

t.test('symlinks are resolved only inside the bundle', async (t) => {
  const s = open(
    tarOf([
      { name: 'proc/consoles', data: 'inside\n' },
      { name: 'escape-rel', type: '2', linkname: '../../../../etc/passwd' },
      { name: 'sys/deep/escape', type: '2', linkname: '../../../etc' },
      { name: 'abs-etc', type: '2', linkname: '/etc/passwd' },
      { name: 'loop1', type: '2', linkname: 'loop2' },
      { name: 'loop2', type: '2', linkname: 'loop1' },
      { name: 'dirlink', type: '2', linkname: 'proc' },
    ]),
  );
  t.throws(() => s.readFile('/escape-rel'), /points above the bundle root: refused/, 'relative escape');
  t.throws(() => s.readdir('/sys/deep/escape'), /points above the bundle root: refused/, 'escape through a directory link');
  throwsKind(t, () => s.readFile('/abs-etc'), NotFoundError, /no such file/, 'absolute target stays in the bundle: /etc/passwd is not there');
  t.throws(() => s.readFile('/loop1'), /too many levels of symlinks/);
  t.equal(readText(s, '/dirlink/consoles'), 'inside\n');
  t.same(s.readdir('/dirlink'), ['consoles']);
  t.equal(s.readlink('/escape-rel'), '../../../../etc/passwd', 'readlink shows the stored target');
});

t.test('manifest integrity inside a tar', async (t) => {
  const data = 'fdt-bytes';
  const sha = createHash('sha256').update(data).digest('hex');
  const manifest = (files: Record<string, { size: number; sha256: string }>): string =>
    JSON.stringify({
      format: 'vmspec-evidence',
      formatVersion: 1,
      collector: { name: 'collect.sh', version: '1.0.0' },
      startedAt: '2026-01-01T00:00:00Z',
      startedAtEpoch: 1,
      finishedAt: '2026-01-01T00:00:01Z',
      finishedAtEpoch: 2,
      root: '/',
      efivarfs: 'mounted',
      outputs: { tar: true, console: false },
      efiVariableTest: null,
      files,
      symlinks: {},
      absent: ['/sys/firmware/acpi/tables'],
      unreadable: [{ path: '/proc/tty/driver/ttyAMA', reason: 'Permission denied' }],
    });
  const good = open(tarOf([{ name: 'manifest.json', data: manifest({ 'sys/firmware/fdt': { size: 9, sha256: sha } }) }, { name: 'sys/firmware/fdt', data }]));
  t.equal(good.manifest?.efivarfs, 'mounted');
  t.equal(readText(good, '/sys/firmware/fdt'), data);
  t.same(good.verify(), { hasManifest: true, checked: 1, ok: true, issues: [] });
  t.throws(() => good.readFile('/proc/tty/driver/ttyAMA'), /unreadable in the guest: Permission denied/);

  const tampered = open(tarOf([{ name: 'manifest.json', data: manifest({ 'sys/firmware/fdt': { size: 9, sha256: sha } }) }, { name: 'sys/firmware/fdt', data: 'fdt-BYTES' }]));
  t.throws(() => tampered.readFile('/sys/firmware/fdt'), /sha256 .* does not match the manifest/);
  const report = tampered.verify();
  t.equal(report.ok, false);
  t.match(report.issues, [{ path: 'sys/firmware/fdt', kind: 'sha256-mismatch' }]);

  const extra = open(
    tarOf([
      { name: 'manifest.json', data: manifest({ 'sys/firmware/fdt': { size: 9, sha256: sha }, 'proc/cpuinfo': { size: 1, sha256: sha } }) },
      { name: 'sys/firmware/fdt', data },
      { name: 'smuggled', data: 'x' },
    ]),
  );
  readText(extra, '/smuggled');
  t.match(extra.issues, [{ path: 'smuggled', kind: 'unlisted' }]);
  const r = extra.verify();
  t.match(r.issues, [{ path: 'proc/cpuinfo', kind: 'missing' }, { path: 'smuggled', kind: 'unlisted' }]);

  refused(t, tarOf([{ name: 'manifest.json', data: '{"format":"something-else"}' }]), /"format" must be "vmspec-evidence"/, 'foreign manifest');
  refused(t, tarOf([{ name: 'manifest.json', data: '{not json' }]), /not valid UTF-8 JSON/, 'broken manifest');
  refused(
    t,
    tarOf([{ name: 'manifest.json', data: manifest({ a: { size: 1, sha256: 'nothex' } }) }]),
    /sha256 must be 64 lowercase hex digits/,
    'bad sha in manifest',
  );
});

// ---------------------------------------------------------------- real tar programs

function bundleDir(): string {
  const dir = join(work, 'bundle');
  if (existsSync(dir)) return dir;
  mkdirSync(join(dir, 'sys/firmware/acpi/tables/dynamic'), { recursive: true });
  mkdirSync(join(dir, 'sys/bus/pci/devices/0000:00:01.0'), { recursive: true });
  mkdirSync(join(dir, 'proc'), { recursive: true });
  writeFileSync(join(dir, 'sys/firmware/acpi/tables/APIC'), Buffer.from([0x41, 0x50, 0x49, 0x43, 0, 0xff, 0x80]));
  writeFileSync(join(dir, 'sys/firmware/acpi/tables/dynamic/SSDT1'), 'ssdt');
  writeFileSync(join(dir, 'sys/bus/pci/devices/0000:00:01.0/vendor'), '0x1af4\n');
  symlinkSync('../../../bus/pci/drivers/virtio-pci', join(dir, 'sys/bus/pci/devices/0000:00:01.0/driver'));
  writeFileSync(join(dir, 'proc/consoles'), 'ttyAMA0 -W- (EC p a) 204:64\n');
  const deep = join(dir, 'sys/firmware/efi/efivars');
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${'LongVariableName'.repeat(8)}-8be4df61-93ca-11d2-aa0d-00e098032b8c`), Buffer.from([7, 0, 0, 0, 1]));
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a));
  return dir;
}

function checkBundle(t: Test, s: TarSysroot, label: string): void {
  t.same([...s.readFile('/sys/firmware/acpi/tables/APIC')], [0x41, 0x50, 0x49, 0x43, 0, 0xff, 0x80], `${label}: binary`);
  t.equal(readText(s, '/sys/firmware/acpi/tables/dynamic/SSDT1'), 'ssdt');
  t.equal(s.readlink('/sys/bus/pci/devices/0000:00:01.0/driver'), '../../../bus/pci/drivers/virtio-pci');
  t.same(s.readdir('/sys/firmware/acpi/tables'), ['APIC', 'dynamic']);
  t.equal(s.readdir('/sys/firmware/efi/efivars')[0]?.length, 128 + 37, `${label}: long name`);
  t.equal(s.readFile('/big.bin', { maxBytes: 8 * 1024 * 1024 }).length, 3 * 1024 * 1024 + 17);
}

t.test('archives written by GNU tar (gnu, pax, ustar formats)', async (t) => {
  const dir = bundleDir();
  for (const format of ['gnu', 'pax', 'ustar', 'oldgnu']) {
    const file = join(work, `gnu-${format}.tar`);
    const r = spawnSync('tar', [`--format=${format}`, '-cf', file, '-C', dir, '.'], { encoding: 'utf8' });
    if (format === 'ustar' && r.status !== 0) {
      // ustar cannot hold the 165-character name without a prefix split; GNU tar says so.
      t.match(r.stderr, /too long|file name/i, 'ustar refuses long names');
      continue;
    }
    t.equal(r.status, 0, r.stderr);
    const s = new TarSysroot(file);
    checkBundle(t, s, `GNU tar --format=${format}`);
    s.close();
  }
});

t.test('archives written by busybox tar', { skip: spawnSync('sh', ['-c', 'command -v busybox']).status === 0 ? false : 'busybox is not installed' }, async (t) => {
  const dir = bundleDir();
  const file = join(work, 'busybox.tar');
  execFileSync('busybox', ['tar', '-cf', file, '-C', dir, '.']);
  const s = new TarSysroot(file);
  checkBundle(t, s, 'busybox tar');
  s.close();
});
