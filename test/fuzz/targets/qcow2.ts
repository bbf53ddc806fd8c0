import { readFileSync } from 'node:fs';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { analyzePartitionTable } from '../../../probes/image/partition-table.js';
import { Qcow2Disk, readQcow2Header } from '../../../probes/image/qcow2.js';
import { buildGptDisk, fatImage, patternFile, toQcow2, type Qcow2Options } from '../../fixtures/disk-builder.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * qcow2 images made by `qemu-img convert` (v3 and v2, 4 KiB and 64 KiB
 * clusters, compressed, extended L2) of a small real GPT disk. Fields:
 * every header field, the first L1 entries, the first used L2 entries and
 * refcount table entries, with pointers outside the file, unaligned, with
 * the compressed flag, and compressed descriptors with huge sector counts.
 */

function sourceDisk(): string {
  return buildGptDisk([
    { type: 'EF00', sizeMiB: 2, name: 'ESP', contentFile: fatImage(2, { 'EFI/BOOT/BOOTAA64.EFI': 'MZ'.padEnd(3000, 'x'), 'hello.txt': 'hello\n' }) },
    { type: '8305', sizeMiB: 1, name: 'root', contentFile: patternFile(1, 9) },
  ], { label: 'fuzz-qcow2-src' });
}

const HEADER: [number, 4 | 8, string][] = [
  [4, 4, 'version'], [8, 8, 'backing_file_offset'], [16, 4, 'backing_file_size'], [20, 4, 'cluster_bits'], [24, 8, 'size'],
  [32, 4, 'crypt_method'], [36, 4, 'l1_size'], [40, 8, 'l1_table_offset'], [48, 8, 'refcount_table_offset'],
  [56, 4, 'refcount_table_clusters'], [60, 4, 'nb_snapshots'], [64, 8, 'snapshots_offset'], [72, 8, 'incompatible_features'],
  [80, 8, 'compatible_features'], [88, 8, 'autoclear_features'], [96, 4, 'refcount_order'], [100, 4, 'header_length'],
];

function qcow2Seed(name: string, opts: Qcow2Options): Seed {
  const bytes = new Uint8Array(readFileSync(toQcow2(sourceDisk(), opts)));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cs = 2 ** dv.getUint32(20, false);
  const size = BigInt(bytes.length);
  const l1 = Number(dv.getBigUint64(40, false));
  const refcounts = Number(dv.getBigUint64(48, false));
  // Pointer values: past the end, at the end, unaligned, flagged compressed, all ones.
  const pointers = [size, size + BigInt(cs), BigInt(cs) + 1n, (1n << 63n) | size, (1n << 62n) | 0xffffffn, (1n << 62n) | (0xffn << 40n), 0xffffffffffffffffn, 1n << 55n];
  const fields: Field[] = HEADER.map(([at, width, n]) => ({ at, width, endian: 'be' as const, name: n }));
  fields.push({ at: 20, width: 4, endian: 'be', name: 'cluster_bits', values: [8n, 9n, 21n, 22n, 63n] });
  const hot: [number, number][] = [[0, 512], [l1, 64], [refcounts, 64]];
  for (let i = 0; i < 4; i++) {
    fields.push({ at: l1 + i * 8, width: 8, endian: 'be', name: `L1[${i}]`, values: pointers });
    fields.push({ at: refcounts + i * 8, width: 8, endian: 'be', name: `refcount_table[${i}]`, values: pointers });
  }
  const l2 = Number(dv.getBigUint64(l1, false) & 0x00fffffffffffe00n);
  const entry = opts.extendedL2 ? 16 : 8;
  if (l2 > 0 && l2 + cs <= bytes.length) {
    let used = 0;
    for (let i = 0; i < cs / entry && used < 8; i++) {
      if (dv.getBigUint64(l2 + i * entry, false) === 0n) continue;
      used++;
      fields.push({ at: l2 + i * entry, width: 8, endian: 'be', name: `L2[${i}]`, values: pointers });
      if (opts.extendedL2) fields.push({ at: l2 + i * entry + 8, width: 8, endian: 'be', name: `L2[${i}] bitmap`, values: [0xffffffffn, 0xffffffffffffffffn, 1n << 32n | 1n] });
      hot.push([l2 + i * entry, entry]);
    }
  }
  return { name, bytes, fields, hot };
}

/** What opening an image does, then reads spread over the virtual disk (not all of it: a cap keeps the case fast). */
function exercise(bytes: Uint8Array): number {
  const file = new BufferByteSource(bytes, 'fuzz.qcow2');
  const disk = new Qcow2Disk(file, readQcow2Header(file));
  analyzePartitionTable(disk);
  let n = 0;
  const step = Math.max(4096, Math.floor(disk.size / 24));
  for (let p = 0; p < disk.size && n < 32; p += step, n++) disk.read(p, Math.min(8192, disk.size - p));
  return n;
}

export const qcow2Target: FuzzTarget = {
  name: 'qcow2',
  runs: 2000,
  seeds: () => [
    qcow2Seed('v3-4k', { clusterSize: 4096 }),
    qcow2Seed('v3-4k-compressed', { clusterSize: 4096, compressed: true }),
    qcow2Seed('v2-64k-compressed', { compat: '0.10', compressed: true }),
    qcow2Seed('v3-extended-l2', { clusterSize: 16384, extendedL2: true }),
  ],
  run: exercise,
};
