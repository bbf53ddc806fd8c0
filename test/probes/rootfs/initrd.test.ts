/**
 * Initrd listing against initrds made by the host's cpio and compressors,
 * with `cpio -it` (after the host's own decompressor) as the oracle; and
 * damaged archives giving ParseErrors, never hangs or RangeErrors.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { CpioReader, readCpioAt } from '../../../probes/rootfs/cpio.js';
import { compressionAt, gunzipChunkSize, initrdModules, listInitrd } from '../../../probes/rootfs/initrd.js';
import { buildInitrd, debianKernel, fastFixturesUnavailable, moduleClosure, type InitrdCompression } from '../../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable();

/** `cpio -it` names, as the kernel sees them (leading "./" removed, "." dropped). */
function cpioNames(archive: string): string[] {
  const out = execFileSync('sh', ['-c', 'cpio -it --quiet < "$1"', 'sh', archive], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.split('\n').filter(Boolean).map((n) => n.replace(/^\.\//, '')).filter((n) => n !== '.');
}

const cases: { compression: InitrdCompression; early: boolean; format: 'newc' | 'odc' }[] = [
  { compression: 'gzip', early: false, format: 'newc' },
  { compression: 'gzip', early: true, format: 'newc' },
  { compression: 'zstd', early: true, format: 'newc' },
  { compression: 'xz', early: false, format: 'newc' },
  { compression: 'none', early: false, format: 'newc' },
  { compression: 'gzip', early: false, format: 'odc' },
];

t.test('initrds made by the host tools list exactly what cpio -it lists', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const modules = ['virtio_pci', 'virtio_blk', 'virtio_net', 'ext4'];
  for (const c of cases) {
    const name = `${c.compression}${c.early ? '+early' : ''} ${c.format}`;
    const initrd = buildInitrd({ kernel: k, modules, ...c });
    const dir = dirname(initrd);
    const started = performance.now();
    const listing = await listInitrd(readFileSync(initrd), initrd);
    const ms = performance.now() - started;
    const oracle = [...(c.early ? cpioNames(join(dir, 'early.cpio')) : []), ...cpioNames(join(dir, 'main.cpio'))];
    t.same(listing.entries.map((e) => e.name).filter((n) => n !== ''), oracle, `${name}: names and order match cpio -it (${oracle.length} entries, ${ms.toFixed(0)} ms)`);
    t.same(listing.segments.map((s) => s.compression), [...(c.early ? [null] : []), c.compression === 'none' ? null : c.compression], `${name}: segments`);
    const mods = initrdModules(listing, k.version);
    const want = moduleClosure(k, modules).map((p) => p.split('/').pop()!.replace(/\.ko$/, '').replace(/-/g, '_')).sort();
    t.same([...mods.keys()].sort(), want, `${name}: the modules and their dependencies`);
    t.same(initrdModules(listing, '0.0.0-other').size, 0, `${name}: another release's modules do not count`);
    // Sizes and modes agree with the files that went in.
    const ko = listing.entries.find((e) => e.name.endsWith('/virtio_pci.ko'))!;
    t.equal(ko.size, readFileSync(join(k.root, 'lib', 'modules', k.version, 'kernel/drivers/virtio/virtio_pci.ko')).length, `${name}: member size`);
    t.equal(ko.mode & 0o170000, 0o100000, `${name}: regular file mode`);
  }
});

t.test('compression magic numbers', async (t) => {
  t.equal(compressionAt(gzipSync(Buffer.from('x')), 0), 'gzip');
  t.equal(compressionAt(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd]), 0), 'zstd');
  t.equal(compressionAt(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 0), 'xz');
  t.equal(compressionAt(Buffer.from('BZh9'), 0), 'bzip2');
  t.equal(compressionAt(Uint8Array.from([0x02, 0x21, 0x4c, 0x18]), 0), 'lz4');
  t.equal(compressionAt(Buffer.from('070701'), 0), null);
  t.equal(compressionAt(new Uint8Array(2), 0), null, 'short input: no read past the end');
});

/** A newc archive written by hand: entries then the trailer. */
function newc(entries: { name: string; data?: string; mode?: number }[], trailer = true): Buffer {
  const parts: Buffer[] = [];
  const all = [...entries, ...(trailer ? [{ name: 'TRAILER!!!', data: '', mode: 0 }] : [])];
  all.forEach((e, i) => {
    const data = Buffer.from(e.data ?? '');
    const name = Buffer.from(`${e.name}\0`);
    const f = (n: number): string => n.toString(16).padStart(8, '0');
    const header = Buffer.from('070701' + f(i + 1) + f(e.mode ?? 0o100644) + f(0) + f(0) + f(1) + f(0) + f(data.length) + f(0) + f(0) + f(0) + f(0) + f(name.length) + f(0));
    const pad1 = (4 - ((header.length + name.length) % 4)) % 4;
    const pad2 = (4 - (data.length % 4)) % 4;
    parts.push(header, name, Buffer.alloc(pad1), data, Buffer.alloc(pad2));
  });
  return Buffer.concat(parts);
}

t.test('hand-made archives: concatenation, padding, chunked input', async (t) => {
  const a = newc([{ name: 'a', data: 'hello' }, { name: 'dir', mode: 0o040755 }, { name: 'dir/b.ko', data: 'x'.repeat(1000) }]);
  const b = newc([{ name: 'c', data: 'c' }]);
  const all = Buffer.concat([a, Buffer.alloc(509), gzipSync(Buffer.concat([b, Buffer.alloc(100), newc([{ name: 'd' }])]))]);
  const l = await listInitrd(all, 'test');
  t.same(l.entries.map((e) => e.name), ['a', 'dir', 'dir/b.ko', 'c', 'd']);
  t.same(l.segments.map((s) => [s.offset, s.compression]), [[0, null], [a.length + 509, 'gzip']]);
  // Byte-at-a-time feeding gives the same listing.
  const r = new CpioReader();
  for (const byte of a) r.push(Uint8Array.of(byte));
  r.finish();
  t.same(r.entries.map((e) => e.name), ['a', 'dir', 'dir/b.ko']);
  t.equal(readCpioAt(a, 0).end, a.length, 'readCpioAt stops after the trailer');
});

t.test("gzip's ISIZE sizes the output chunk; a wrong one only costs round trips", async (t) => {
  const big = newc(Array.from({ length: 300 }, (_, i) => ({ name: `lib/modules/x/m${i}.ko`, data: `${i}`.repeat(3000) })));
  const gz = gzipSync(big);
  t.equal(gunzipChunkSize(gz), big.length + 1024, 'ISIZE (the stream\'s length) plus room');
  t.equal(gunzipChunkSize(gzipSync(Buffer.from('x'))), 1 << 20, 'at least 1 MiB');
  const names = (await listInitrd(gz, 'one member')).entries.map((e) => e.name);
  t.equal(names.length, 300, 'one member lists every entry');
  // Two gzip members: the last 4 bytes give only the second's size; zero padding after the stream gives 0.
  const half = big.length / 2;
  const cut = big.subarray(0, half - (half % 4));
  const twoMembers = Buffer.concat([gzipSync(cut), gzipSync(big.subarray(cut.length))]);
  t.ok(gunzipChunkSize(twoMembers) < big.length, 'a multi-member stream understates');
  t.same((await listInitrd(twoMembers, 'two members')).entries.map((e) => e.name), names, 'and lists the same');
  const padded = Buffer.concat([gz, Buffer.alloc(4096)]);
  t.equal(gunzipChunkSize(padded), 1 << 20, 'zero padding reads as ISIZE 0');
  t.same((await listInitrd(padded, 'padded')).entries.map((e) => e.name), names, 'and lists the same');
});

t.test('damage is a ParseError with an offset, never a crash', async (t) => {
  const good = newc([{ name: 'a', data: 'hello' }, { name: 'b', data: 'world' }]);
  const expectParse = async (bytes: Uint8Array, re: RegExp, what: string): Promise<void> => {
    await t.rejects(listInitrd(bytes, 'initrd'), ParseError, what);
    await listInitrd(bytes, 'initrd').catch((e: Error) => t.match(e.message, re, `${what}: ${e.message}`));
  };
  await expectParse(good.subarray(0, 120), /truncated|without a TRAILER/, 'truncated in a member');
  await expectParse(newc([{ name: 'a', data: 'x' }], false), /without a TRAILER/, 'no trailer');
  await expectParse(Buffer.from('garbage garbage garbage'), /neither a cpio archive nor a known compressed stream/, 'garbage');
  await expectParse(Buffer.concat([good, Buffer.from('junk after')]), /neither cpio nor a known compressed stream/, 'junk after the archive');
  const badHex = Buffer.from(good);
  badHex.write('zzzzzzzz', 6 + 8 * 6);
  await expectParse(badHex, /c_filesize .* not hexadecimal/, 'non-hex field');
  const hugeName = Buffer.from(good);
  hugeName.write('FFFFFFFF', 6 + 8 * 11);
  await expectParse(hugeName, /c_namesize 4294967295 is outside/, 'absurd name size');
  const hugeFile = Buffer.from(good);
  hugeFile.write('7FFFFFFF', 6 + 8 * 6);
  await expectParse(hugeFile, /truncated|ends inside/, 'file size beyond the archive');
  await expectParse(gzipSync(good).subarray(0, 30), /gzip stream/, 'truncated gzip');
  await expectParse(new Uint8Array(4096), /empty/, 'zeros only');
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-initrd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.cpio'), good);
  const zst = execFileSync('zstd', ['-q', '-c', join(dir, 'a.cpio')]);
  await expectParse(zst.subarray(0, zst.length - 8), /zstd|truncated|ends inside/, 'truncated zstd');
});

t.test('a missing decompressor is reported as such', { skip: unavailable }, async (t) => {
  const zst = execFileSync('sh', ['-c', 'printf x | zstd -q -c']);
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await t.rejects(listInitrd(zst, '/boot/initrd.img-X'), UnsupportedError);
    await listInitrd(zst, '/boot/initrd.img-X').catch((e: UnsupportedError) => {
      t.match(e.message, /zstd-compressed and the zstd tool is not installed/);
      t.match(e.hint, /zstd/);
    });
  } finally {
    process.env.PATH = path;
  }
});
