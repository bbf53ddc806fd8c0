import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { run } from '../../fixtures/cache.js';
import {
  dataDisk, encryptedImages, patternFile, qcow2WithBacking, qcow2Written, qemuImgInfo, sha256File, toQcow2, toRaw, type Qcow2Options,
} from '../../fixtures/disk-builder.js';
import { BufferByteSource, FileByteSource, type ByteSource } from '../../../bytes/byte-source.js';
import { Qcow2Disk, readQcow2Header } from '../../../probes/image/qcow2.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { analyzePartitionTable } from '../../../probes/image/partition-table.js';
import { readMbr } from '../../../probes/image/mbr.js';
import { isReadError, ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { prng } from './gpt-edit.js';

/** sha256 of every byte of a ByteSource, read in 1 MiB pieces at odd alignment to cross cluster edges. */
function sha256Of(src: ByteSource): string {
  const h = createHash('sha256');
  const step = 1024 * 1024 - 1536;
  for (let p = 0; p < src.size; p += step) h.update(src.read(p, Math.min(step, src.size - p)));
  return h.digest('hex');
}

function sha256Image(path: string, backing: 'follow' | 'refuse' = 'refuse'): string {
  const img = openDisk(path, { backing });
  try {
    return sha256Of(img.disk);
  } finally {
    img.close();
  }
}

/** A qcow2 file in memory: mutate the bytes, then read through our parser without touching disk. */
function memQcow2(bytes: Uint8Array): Qcow2Disk {
  const file = new BufferByteSource(bytes, 'mem.qcow2');
  return new Qcow2Disk(file, readQcow2Header(file));
}

/** First data-carrying L2 entry's byte offset in the file (via L1[0]). */
function firstL2Entry(buf: Buffer, predicate: (entry: bigint) => boolean): number {
  const l1 = Number(buf.readBigUInt64BE(40));
  const cs = 2 ** buf.readUInt32BE(20);
  const l2 = Number(buf.readBigUInt64BE(l1) & 0x00fffffffffffe00n);
  for (let i = 0; i < cs / 8; i++) if (predicate(buf.readBigUInt64BE(l2 + i * 8))) return l2 + i * 8;
  throw new Error('no such L2 entry');
}

t.test('every byte through our reader equals the raw source and qemu-img convert -O raw', async (t) => {
  const raw = dataDisk();
  const want = sha256File(raw);
  const variants: Qcow2Options[] = [
    { compat: '1.1' },
    { compat: '1.1', compressed: true },
    { compat: '0.10' },
    { compat: '0.10', compressed: true },
    { compressed: true, clusterSize: 512 },
    { compressed: true, clusterSize: 4096 },
    { compressed: true, clusterSize: 2 * 1024 * 1024 },
    { extendedL2: true },
    { extendedL2: true, compressed: true },
    { compressed: true, compressionType: 'zstd' },
    { compressed: true, compressionType: 'zstd', clusterSize: 4096 },
    { compressed: true, compressionType: 'zstd', extendedL2: true },
  ];
  for (const v of variants) {
    const q = toQcow2(raw, v);
    const info = qemuImgInfo(q);
    const img = openDisk(q);
    t.teardown(() => img.close());
    const label = JSON.stringify(v);
    t.equal(img.format, 'qcow2', label);
    t.equal(img.disk.size, info['virtual-size'], `${label} virtual size = qemu-img info`);
    t.equal(img.container.clusterSize, info['cluster-size'], `${label} cluster size`);
    t.equal(img.container.version, v.compat === '0.10' ? 2 : 3, `${label} version`);
    t.equal(img.container.extendedL2, v.extendedL2 === true);
    t.equal(sha256Of(img.disk), want, `${label} sha256 = raw source`);
    t.equal(sha256File(toRaw(q)), want, `${label} qemu agrees`);
  }
});

t.test('zero clusters, discards, partial writes (qemu-io)', async (t) => {
  for (const compat of ['1.1', '0.10'] as const) {
    const writes = [
      'write -P 0xab 0 64k',
      'write -P 0xcd 128k 64k',
      'write -P 0x11 200k 1k',
      'write -P 0x22 1M 300k',
      'discard 1088k 64k',
      ...(compat === '1.1' ? ['write -z 64k 64k', 'write -z 128k 64k', 'write -z -u 1152k 64k'] : []),
    ];
    const q = qcow2Written(4, writes, { compat });
    t.equal(sha256Image(q), sha256File(toRaw(q)), `compat ${compat}`);
  }
  // A cluster written then zeroed keeps its allocation but reads as zeros (v3 L2 bit 0).
  const q = qcow2Written(1, ['write -P 0xcd 0 64k', 'write -z 0 64k'], { compat: '1.1' });
  const img = openDisk(q);
  t.teardown(() => img.close());
  t.ok(img.disk.read(0, 65536).every((b) => b === 0));
});

t.test('backing files: overlay data, zero clusters, subclusters, reads past the backing end', async (t) => {
  const base = patternFile(2, 9);
  const cases: [string, string[], Qcow2Options & { overlaySize?: number }][] = [
    ['v3', ['write -P 0xaa 4k 2k', 'write -z 64k 64k', 'write -P 0xbb 300k 70k'], {}],
    ['v2', ['write -P 0xaa 4k 2k', 'write -P 0xbb 300k 70k'], { compat: '0.10' }],
    ['extended L2', ['write -P 0xaa 4k 2k', 'write -z 64k 8k', 'write -P 0xbb 130k 1k', 'write -z -u 200k 64k', 'write -P 0xcc 1000k 3k'], { extendedL2: true }],
    ['overlay larger than base', ['write -P 0xdd 3M 4k'], { overlaySize: 4 * 1024 * 1024 }],
  ];
  for (const [label, writes, opts] of cases) {
    const q = qcow2WithBacking(base, writes, opts);
    t.equal(sha256Image(q, 'follow'), sha256File(toRaw(q)), label);
    const img = openDisk(q, { backing: 'follow' });
    t.equal(img.container.backingFile, 'base.raw');
    t.equal(img.container.backingFormat, 'raw');
    t.equal(img.container.backingChainDepth, 1);
    img.close();
  }
});

t.test('readInto writes what read returns, whatever the buffer held', async (t) => {
  const images: [string, string][] = [
    ['compressed', toQcow2(dataDisk(), { compressed: true })],
    ['zero and discarded clusters', qcow2Written(4, ['write -P 0xab 0 64k', 'write -P 0x22 1M 300k', 'discard 1088k 64k', 'write -z 64k 64k', 'write -z -u 1152k 64k'], { compat: '1.1' })],
    ['extended L2 over a backing file', qcow2WithBacking(patternFile(2, 9), ['write -P 0xaa 4k 2k', 'write -z 64k 8k', 'write -P 0xbb 130k 1k', 'write -z -u 200k 64k'], { extendedL2: true, overlaySize: 4 * 1024 * 1024 })],
  ];
  for (const [label, q] of images) {
    const img = openDisk(q, { backing: 'follow' });
    try {
      const disk = img.disk;
      t.ok(disk.readInto, `${label}: the qcow2 disk reads into a buffer`);
      const size = disk.size;
      // Whole clusters (decoded in place), parts of one, runs across several, the last bytes.
      const ranges: [number, number][] = [[0, 65536], [65536, 65536 * 3], [4096, 70_000], [1088 * 1024 - 100, 200], [130 * 1024, 1024], [size - 70_000, 70_000]];
      for (const [offset, length] of ranges) {
        const out = new Uint8Array(length).fill(0xee);
        disk.readInto!(offset, out);
        t.same(out, disk.read(offset, length), `${label}: ${length} bytes at ${offset}`);
      }
    } finally {
      img.close();
    }
  }
});

t.test('reading the partition table touches metadata only', async (t) => {
  const q = toQcow2(dataDisk(), { compressed: true });
  const file = new FileByteSource(q);
  t.teardown(() => file.close());
  const disk = new Qcow2Disk(file, readQcow2Header(file));
  const r = analyzePartitionTable(disk);
  t.equal(r.gpt.valid, true);
  t.equal(r.partitions.length, 3);
  t.ok(file.stats.bytesRead < 512 * 1024, `read ${file.stats.bytesRead} of ${file.size} bytes`);
});

t.test('compressed clusters read in part are kept; clusters read whole stream through', async (t) => {
  const q = toQcow2(dataDisk(), { compressed: true });
  // qemu-img map names the runs that hold data: the longest is the "file" read whole below.
  const map = JSON.parse(run('qemu-img', ['map', '--output=json', q])) as { start: number; length: number; data: boolean }[];
  const longest = map.filter((m) => m.data).sort((x, y) => y.length - x.length)[0]!;
  const file = new FileByteSource(q);
  t.teardown(() => file.close());
  const header = readQcow2Header(file);
  const cs = header.clusterSize;
  t.ok(longest.length >= 8 * cs && map[0]!.data, `data at 0 and a run of ${longest.length / cs} clusters at ${longest.start}`);
  const disk = new Qcow2Disk(file, header);
  const raw = openDisk(toRaw(q));
  t.teardown(() => raw.close());
  const readBytes = (): number => file.stats.bytesRead;
  disk.read(0, 512);
  const afterFirst = readBytes();
  t.same(disk.read(1024, 512), raw.disk.read(1024, 512), 'another sector of the first cluster reads right');
  t.equal(readBytes(), afterFirst, 'from the kept cluster: no read of the file');
  t.ok(Buffer.from(disk.read(longest.start, longest.length)).equals(raw.disk.read(longest.start, longest.length)), 'the run read whole reads right');
  const afterStream = readBytes();
  disk.read(512, 512);
  t.equal(readBytes(), afterStream, 'the partly read cluster is still kept after the run streamed through');
  disk.read(longest.start + longest.length - cs, cs);
  t.ok(readBytes() > afterStream, 'the last cluster of the run was not kept: reading it again reads the file');
});

t.test('zstd-compressed clusters decode; a damaged one is a ParseError naming it', async (t) => {
  const q = toQcow2(dataDisk(), { compressed: true, compressionType: 'zstd' });
  t.equal(qemuImgInfo(q)['format-specific']?.data?.['compression-type'], 'zstd', 'qemu-img wrote zstd clusters');
  const good = readFileSync(q);
  const img = memQcow2(good);
  t.equal(img.header.compressionType, 1);
  const garbage = Buffer.from(good);
  const at = firstL2Entry(garbage, (e) => (e & (1n << 62n)) !== 0n);
  const x = 62n - (16n - 8n);
  const coffset = Number(garbage.readBigUInt64BE(at) & ((1n << x) - 1n));
  garbage.fill(0xff, coffset, coffset + 64);
  t.throws(() => sha256Of(memQcow2(garbage)), { name: 'ParseError', offset: coffset, message: /does not decode|decodes to/ });
  const unknown = Buffer.from(good);
  unknown[104] = 2;
  t.throws(() => memQcow2(unknown), { name: 'UnsupportedError', message: /compression type 2; only zlib \(0\) and zstd \(1\)/ });
});

t.test('refused qcow2 features name themselves', async (t) => {
  const dir = t.testdir({});

  t.throws(() => openDisk(encryptedImages().qcow2Luks), { name: 'UnsupportedError', message: /encrypted \(LUKS\)/ });

  const ext = `${dir}/ext.qcow2`;
  run('qemu-img', ['create', '-f', 'qcow2', '-o', `data_file=${dir}/ext.raw`, ext, '1M']);
  t.throws(() => openDisk(ext), { name: 'UnsupportedError', message: /external data file \(".*ext\.raw"\)/ });

  try {
    openDisk(ext);
  } catch (e) {
    t.match((e as UnsupportedError).hint, /qemu-img convert/);
  }
});

t.test('header feature bits', async (t) => {
  const good = readFileSync(toQcow2(dataDisk(), { compressed: true }));

  const unknown = Buffer.from(good);
  unknown[79]! |= 0x20; // incompatible bit 5: not defined
  t.throws(() => memQcow2(unknown), { name: 'UnsupportedError', message: /unknown incompatible features: bit 5/ });

  const dirty = Buffer.from(good);
  dirty[79]! |= 0x03; // dirty + corrupt: readable (read-only)
  const d = memQcow2(dirty);
  t.equal(sha256Of(d), sha256File(dataDisk()));

  const compBitNoType = Buffer.from(good);
  compBitNoType[79]! |= 0x08;
  t.throws(() => memQcow2(compBitNoType), { name: 'ParseError', message: /compression type\) is set but compression_type is zlib/ });

  const aes = Buffer.from(good);
  aes.writeUInt32BE(1, 32);
  t.throws(() => memQcow2(aes), { name: 'UnsupportedError', message: /encrypted \(AES\)/ });

  const v1 = Buffer.from(good);
  v1.writeUInt32BE(1, 4);
  t.throws(() => memQcow2(v1), { name: 'UnsupportedError', message: /qcow \(version 1\)/ });

  const v4 = Buffer.from(good);
  v4.writeUInt32BE(4, 4);
  t.throws(() => memQcow2(v4), { name: 'UnsupportedError', message: /version 4/ });
});

t.test('malformed metadata is a ParseError with the offset', async (t) => {
  const path = toQcow2(dataDisk(), { compressed: true });
  const good = readFileSync(path);

  t.throws(() => memQcow2(good.subarray(0, 50)), { name: 'ParseError', message: /shorter than the 72-byte header/ });

  const bits = Buffer.from(good);
  bits.writeUInt32BE(30, 20);
  t.throws(() => memQcow2(bits), { name: 'ParseError', offset: 20, message: /cluster_bits 30/ });

  const hl = Buffer.from(good);
  hl.writeUInt32BE(106, 100);
  t.throws(() => memQcow2(hl), { name: 'ParseError', offset: 100 });

  const l1small = Buffer.from(good);
  l1small.writeUInt32BE(0, 36);
  t.throws(() => memQcow2(l1small), { name: 'ParseError', offset: 36, message: /too small/ });

  const l1huge = Buffer.from(good);
  l1huge.writeUInt32BE(0xffffffff, 36);
  t.throws(() => memQcow2(l1huge), { name: 'ParseError', offset: 36, message: /exceeds/ });

  const l1far = Buffer.from(good);
  l1far.writeBigUInt64BE(1n << 40n, 40);
  t.throws(() => memQcow2(l1far), { name: 'ParseError', message: /qcow2 L1 table at offset 1099511627776/ });

  const sizeHuge = Buffer.from(good);
  sizeHuge.writeBigUInt64BE(1n << 60n, 24);
  t.throws(() => memQcow2(sizeHuge), { name: 'ParseError', offset: 24 });

  const l1Offset = Number(good.readBigUInt64BE(40));
  const l2unaligned = Buffer.from(good);
  l2unaligned.writeBigUInt64BE((l2unaligned.readBigUInt64BE(l1Offset) & ~0xffffn) + 0x200n, l1Offset);
  t.throws(() => sha256Of(memQcow2(l2unaligned)), { name: 'ParseError', offset: l1Offset, message: /not cluster-aligned/ });

  const l2far = Buffer.from(good);
  l2far.writeBigUInt64BE((1n << 63n) | (1n << 40n), l1Offset);
  t.throws(() => sha256Of(memQcow2(l2far)), { name: 'ParseError', offset: 2 ** 40, message: /L2 table .* past the end/ });

  // A compressed cluster whose bytes are garbage.
  const garbage = Buffer.from(good);
  const at = firstL2Entry(garbage, (e) => (e & (1n << 62n)) !== 0n);
  const x = 62n - (16n - 8n);
  const coffset = Number(garbage.readBigUInt64BE(at) & ((1n << x) - 1n));
  garbage.fill(0xff, coffset, coffset + 64);
  t.throws(() => sha256Of(memQcow2(garbage)), { name: 'ParseError', offset: coffset, message: /does not inflate|inflates to/ });
});

t.test('zero flag in a version 2 image is corruption (as QEMU treats it)', async (t) => {
  const buf = Buffer.from(readFileSync(toQcow2(dataDisk(), { compat: '0.10' })));
  const at = firstL2Entry(buf, (e) => e !== 0n);
  buf.writeBigUInt64BE(buf.readBigUInt64BE(at) | 1n, at);
  t.throws(() => sha256Of(memQcow2(buf)), { name: 'ParseError', offset: at, message: /zero cluster flag in a version 2 image/ });
});

t.test('truncated qcow2: header fine, data missing', async (t) => {
  const good = readFileSync(toQcow2(dataDisk()));
  const cut = good.subarray(0, good.length - 256 * 1024);
  const d = memQcow2(cut);
  t.equal(readMbr(d, 512).protective, true, 'the front of the disk still reads');
  // The backup GPT lives in the lost clusters: reading it is an I/O-level impossibility, so it throws.
  for (const attempt of [() => analyzePartitionTable(d), () => sha256Of(d)]) {
    const err = (() => {
      try {
        attempt();
      } catch (e) {
        return e;
      }
      return null;
    })();
    t.type(err, ParseError);
    t.match((err as ParseError).message, /truncated image\?/);
    t.ok((err as ParseError).offset >= cut.length - 65536, 'offset points at the missing data');
  }
});

t.test('fuzz: mutated qcow2 metadata throws only ParseError/UnsupportedError', async (t) => {
  const good = readFileSync(toQcow2(dataDisk(), { compressed: true, clusterSize: 4096 }));
  const l1 = Number(good.readBigUInt64BE(40));
  const rnd = prng(77);
  const counts = { ok: 0, parse: 0, unsupported: 0 };
  for (let i = 0; i < 300; i++) {
    const buf = Buffer.from(good);
    const n = 1 + Math.floor(rnd() * 6);
    for (let k = 0; k < n; k++) {
      const r = rnd();
      // Header, L1 table, or anywhere in the first 64 KiB (refcounts, L2 tables, compressed data).
      const at = r < 0.3 ? Math.floor(rnd() * 112) : r < 0.6 ? l1 + Math.floor(rnd() * 64) : Math.floor(rnd() * 65536);
      buf[at] = Math.floor(rnd() * 256);
    }
    try {
      const d = memQcow2(buf);
      // Partition table plus a spread of reads, not the whole disk (keeps the fuzz quick).
      analyzePartitionTable(d);
      for (let p = 0; p < d.size && p < 64 * 1024 * 1024; p += 777 * 1024) d.read(p, Math.min(8192, d.size - p));
      counts.ok++;
    } catch (e) {
      if (!isReadError(e)) {
        t.fail(`iteration ${i}: ${(e as Error).stack}`);
        break;
      }
      if (e instanceof ParseError) counts.parse++;
      else counts.unsupported++;
    }
  }
  t.equal(counts.ok + counts.parse + counts.unsupported, 300, JSON.stringify(counts));
});
