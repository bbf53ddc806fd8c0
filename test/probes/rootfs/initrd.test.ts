/**
 * Initrd listing against initrds made by the host's cpio and compressors,
 * with `cpio -it` (after the host's own decompressor) as the oracle; the
 * same initrds read in parts (decompressed while they are read) list the
 * same; and damaged archives giving ParseErrors, never hangs or RangeErrors.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { childPids, childrenLeft } from '../../fixtures/child-processes.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { CpioReader, readCpioAt } from '../../../probes/rootfs/cpio.js';
import { compressionAt, gunzipChunkSize, initrdModules, listInitrd, startInitrdListing, type InitrdFile } from '../../../probes/rootfs/initrd.js';
import { optimiserHeld } from '../../../bytes/optimiser-hold.js';
import { Gunzip } from 'node:zlib';
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

/** An initrd file read in parts, logging each read (and failing the read at `failAt`, when given). */
function partsOf(bytes: Uint8Array, log: string[], failAt?: number): InitrdFile {
  return {
    size: bytes.length,
    read(offset, length) {
      if (failAt !== undefined && offset <= failAt && failAt < offset + length) throw new ParseError('disk', failAt, 'read failed here');
      log.push(`read ${offset}+${length}`);
      return bytes.slice(offset, offset + length);
    },
  };
}

/** Logs what the gunzip is handed (write and end calls on node:zlib's Gunzip) from the start of `fn` until its promise settles. */
async function gunzipCalls<T>(log: string[], fn: () => Promise<T>): Promise<T> {
  type Fn = (this: unknown, chunk?: Uint8Array, ...rest: unknown[]) => unknown;
  const proto = Gunzip.prototype as unknown as { write: Fn; end: Fn };
  const { write, end } = proto;
  proto.write = function (this: unknown, chunk?: Uint8Array, ...rest: unknown[]) {
    log.push(`gunzip write ${chunk?.length ?? 0}`);
    return write.call(this, chunk, ...rest);
  };
  proto.end = function (this: unknown, chunk?: Uint8Array, ...rest: unknown[]) {
    log.push(`gunzip end ${chunk instanceof Uint8Array ? chunk.length : 0}`);
    return end.call(this, chunk, ...rest);
  };
  try {
    return await fn();
  } finally {
    proto.write = write;
    proto.end = end;
  }
}

const SMALL_PARTS = { first: 4096, next: 8192 };

t.test('read in parts: the same listing as in memory, the gunzip fed while the file is still being read', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const modules = ['virtio_pci', 'virtio_blk', 'virtio_net', 'ext4'];
  for (const c of cases) {
    const name = `${c.compression}${c.early ? '+early' : ''} ${c.format}`;
    const bytes = readFileSync(buildInitrd({ kernel: k, modules, ...c }));
    const whole = await listInitrd(bytes, 'initrd');
    const log: string[] = [];
    const job = await gunzipCalls(log, async () => {
      const started = startInitrdListing(partsOf(bytes, log), 'initrd', SMALL_PARTS);
      await started.listing;
      return started;
    });
    const listing = await job.listing;
    await job.read;
    await job.fed;
    t.same(listing, whole, `${name}: the same listing (${bytes.length} bytes)`);
    const reads = log.filter((l) => l.startsWith('read'));
    const readBytes = reads.reduce((n, l) => n + Number(l.split('+')[1]), 0);
    if (c.compression === 'gzip' && !c.early) {
      t.ok(reads.length > 2, `${name}: read in ${reads.length} parts`);
      t.equal(readBytes, bytes.length + 4, `${name}: each byte read once (and the 4-byte trailer for ISIZE)`);
      const firstWrite = log.findIndex((l) => l.startsWith('gunzip'));
      const lastRead = log.map((l) => l.startsWith('read')).lastIndexOf(true);
      t.ok(firstWrite >= 0 && firstWrite < lastRead, `${name}: the gunzip was handed data before the last part was read`);
      const handed = log.filter((l) => l.startsWith('gunzip')).reduce((n, l) => n + Number(l.split(' ')[2]), 0);
      t.equal(handed, bytes.length, `${name}: the gunzip was handed the whole stream once (${log.filter((l) => l.startsWith('gunzip')).join(', ')})`);
      t.equal(log.filter((l) => l.startsWith('gunzip end')).length, 1, `${name}: and ended once`);
      // While parts are still being read it is handed at most one part's worth at a time; once the last is read, all the rest at once.
      const writes = log.filter((l) => l.startsWith('gunzip write')).map((l) => Number(l.split(' ')[2]));
      t.ok(writes.every((n) => n <= SMALL_PARTS.next), `${name}: no hand-over before the end is larger than a part (${writes.join(', ')})`);
      const endAt = log.findIndex((l) => l.startsWith('gunzip end'));
      t.equal(log.slice(endAt + 1).filter((l) => l.startsWith('gunzip')).length, 0, `${name}: nothing is handed after the end`);
    } else if (c.early || c.compression === 'none') {
      t.equal(reads.length, 2, `${name}: not a compressed stream from the start, so read whole (the first part, then the rest)`);
    }
  }
});

t.test('read in parts: zero padding first, damage and failing reads', async (t) => {
  // Members of hex digits from a SHA-256 chain (fixed, hardly compressible), so the stream is ~90 KB: many parts.
  const noise = (i: number): string => Array.from({ length: 47 }, (_, j) => createHash('sha256').update(`${i}.${j}`).digest('hex')).join('');
  const big = newc(Array.from({ length: 60 }, (_, i) => ({ name: `lib/modules/x/m${i}.ko`, data: noise(i) })));
  const gz = gzipSync(big, { level: 1 });
  t.ok(gz.length > 60_000, `the stream is ${gz.length} bytes`);
  const padded = Buffer.concat([Buffer.alloc(512), gz]);
  const whole = await listInitrd(padded, 'padded');
  t.same(await startInitrdListing(partsOf(padded, []), 'padded', SMALL_PARTS).listing, whole, 'zero padding before the stream: the same listing');
  t.same(whole.segments.map((s) => s.offset), [512], 'with the segment at its offset');
  // A stream cut short: the same gzip error as in memory.
  const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
  const inMemory = await listInitrd(cut, 'cut').catch((e: Error) => e);
  const inParts = await startInitrdListing(partsOf(cut, []), 'cut', SMALL_PARTS).listing.catch((e: Error) => e);
  t.ok(inMemory instanceof ParseError && inParts instanceof ParseError, 'a ParseError both ways');
  t.equal((inParts as Error).message, (inMemory as Error).message, `the same message: ${(inParts as Error).message}`);
  // A read that fails part-way (a damaged filesystem under the file): its error, and nothing left waiting.
  const log: string[] = [];
  const job = startInitrdListing(partsOf(gz, log, 20_000), 'failing', SMALL_PARTS);
  await t.rejects(job.listing, { message: /read failed here/ }, "the read's error is the listing's");
  await job.read;
  await job.fed;
  const parts = log.map((l) => l.split(' ')[1]!.split('+').map(Number) as [number, number]);
  t.ok(parts.every(([at, n]) => at + n <= 20_000 || (at === gz.length - 4 && n === 4)), `nothing is read past the failed part but the gzip trailer (${log.join(', ')})`);
  // The first read failing.
  await t.rejects(startInitrdListing(partsOf(gz, [], 0), 'first', SMALL_PARTS).listing, { message: /read failed here/ });
  // A file smaller than the first part is one read.
  const small = gzipSync(newc([{ name: 'a', data: 'x' }]));
  const one: string[] = [];
  t.same((await startInitrdListing(partsOf(small, one), 'small', SMALL_PARTS).listing).entries.map((e) => e.name), ['a']);
  t.same(one, [`read 0+${small.length}`], 'read once, whole');
});

t.test('aborting a listing: it rejects with the reason, reads no further and leaves no decompressor running', { skip: unavailable }, async (t) => {
  const noise = (i: number): string => Array.from({ length: 47 }, (_, j) => createHash('sha256').update(`${i}.${j}`).digest('hex')).join('');
  const gz = gzipSync(newc(Array.from({ length: 60 }, (_, i) => ({ name: `m${i}.ko`, data: noise(i) }))), { level: 1 });
  // Read in parts: aborted once the first hand-over is made.
  const log: string[] = [];
  const abort = new AbortController();
  const reason = new Error('not this one');
  const job = await gunzipCalls(log, async () => {
    const started = startInitrdListing(partsOf(gz, log), 'parts', SMALL_PARTS, abort.signal);
    abort.abort(reason);
    await started.listing.catch(() => {});
    return started;
  });
  t.equal(await job.listing.catch((e: unknown) => e), reason, 'the listing rejects with the reason itself');
  await job.read;
  await job.fed;
  const readBytes = log.filter((l) => l.startsWith('read')).reduce((n, l) => n + Number(l.split('+')[1]), 0);
  t.ok(readBytes < gz.length / 2, `reading stopped (${readBytes} of ${gz.length} bytes read)`);
  // Already aborted: nothing is read.
  const none: string[] = [];
  t.equal(await startInitrdListing(partsOf(gz, none), 'late', SMALL_PARTS, abort.signal).listing.catch((e: unknown) => e), reason, 'an aborted signal rejects at once');
  t.same(none, [], 'and nothing was read');
  // Real initrds, in memory and in parts (a tool then waits for the rest of its input): the decompressor is stopped.
  const k = debianKernel('arm64');
  for (const [compression, inParts] of [['gzip', false], ['zstd', false], ['zstd', true], ['xz', true]] as const) {
    const bytes = readFileSync(buildInitrd({ kernel: k, modules: ['virtio_pci', 'ext4'], compression, early: false, format: 'newc' }));
    const before = childPids();
    const stop = new AbortController();
    const listing = startInitrdListing(inParts ? partsOf(bytes, []) : bytes, compression, SMALL_PARTS, stop.signal).listing;
    if (inParts) t.ok(childPids().some((p) => !before.includes(p)), `${compression} in parts: its tool is running`);
    stop.abort(reason);
    const what = `${compression}${inParts ? ' in parts' : ''}`;
    t.equal(await listing.catch((e: unknown) => e), reason, `${what}: rejects with the reason`);
    t.same(await childrenLeft(before), [], `${what}: no decompressor process is left running`);
  }
});

t.test("V8's optimiser is held while a stream is decompressed, and released however the listing ends", { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  for (const compression of ['gzip', 'zstd'] as const) {
    const bytes = readFileSync(buildInitrd({ kernel: k, modules: ['virtio_pci', 'ext4'], compression, early: false, format: 'newc' }));
    for (const inParts of [false, true]) {
      const what = `${compression}${inParts ? ' in parts' : ''}`;
      t.notOk(optimiserHeld(), `${what}: not held before`);
      const job = startInitrdListing(inParts ? partsOf(bytes, []) : bytes, compression, SMALL_PARTS);
      t.ok(optimiserHeld(), `${what}: held while it runs`);
      await job.listing;
      await job.read;
      await job.fed;
      t.notOk(optimiserHeld(), `${what}: released once listed`);
    }
  }
  const gz = readFileSync(buildInitrd({ kernel: k, modules: ['virtio_pci'], compression: 'gzip', early: false, format: 'newc' }));
  const damaged = Buffer.from(gz);
  damaged.fill(0xff, 100, 200);
  await t.rejects(startInitrdListing(damaged, 'damaged', SMALL_PARTS).listing, ParseError);
  t.notOk(optimiserHeld(), 'released after a damaged stream');
  const stop = new AbortController();
  const aborted = startInitrdListing(partsOf(gz, []), 'aborted', SMALL_PARTS, stop.signal);
  t.ok(optimiserHeld(), 'held by a listing about to be aborted');
  stop.abort(new Error('not this one'));
  await aborted.listing.catch(() => {});
  await aborted.read;
  t.notOk(optimiserHeld(), 'released after an abort');
});
