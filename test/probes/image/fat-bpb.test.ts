import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkRange, FileByteSource, type ByteSource } from '../../../bytes/byte-source.js';
import { readBootSector, fatTypeForClusterCount } from '../../../probes/image/fat-bpb.js';
import { openFat } from '../../../probes/image/fat.js';
import { buildFatImage, fsckFat, minfo, standardTree } from '../../fixtures/fat-builder.js';

/**
 * The FAT type comes from the cluster count alone (fatgen103 §3.5);
 * BS_FilSysType is a label that can lie. Real images with a lying label
 * (minfo shows the label, fsck.fat the real entry width), and hand-made
 * boot sectors exactly at the 4085 / 65525 boundaries.
 */

const tmp = mkdtempSync(join(tmpdir(), 'vmspec-fat-bpb-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

t.test('cluster-count rule', async (t) => {
  t.equal(fatTypeForClusterCount(1), 'FAT12');
  t.equal(fatTypeForClusterCount(4084), 'FAT12');
  t.equal(fatTypeForClusterCount(4085), 'FAT16');
  t.equal(fatTypeForClusterCount(65524), 'FAT16');
  t.equal(fatTypeForClusterCount(65525), 'FAT32');
  t.equal(fatTypeForClusterCount(0x0ffffff5), 'FAT32');
});

/** A volume of `sectors` 512-byte sectors whose only non-zero bytes are `head`. */
class SparseSource implements ByteSource {
  constructor(readonly head: Uint8Array, readonly size: number, readonly name = 'synthetic') {}
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    if (offset < this.head.length) out.set(this.head.subarray(offset, Math.min(this.head.length, offset + length)));
    return out;
  }
}

/**
 * A boot sector for exactly `clusters` clusters of one 512-byte sector
 * (fatgen103 §3.1-3.3 layout), with the FAT-type label `label`. FAT12/16
 * layouts use a 1-sector root directory; FAT32 puts the root at cluster 2.
 */
function bootSector(clusters: number, layout: 'FAT12' | 'FAT16' | 'FAT32', label: string): { bytes: Uint8Array; totalSectors: number } {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  b.set([0xeb, 0x3c, 0x90], 0);
  b.set(Buffer.from('TESTOEM '), 3);
  v.setUint16(11, 512, true);
  b[13] = 1;
  b[16] = 1;
  b[21] = 0xf8;
  const bits = layout === 'FAT12' ? 12 : layout === 'FAT16' ? 16 : 32;
  const fatSz = Math.ceil(((clusters + 2) * bits) / 8 / 512);
  const rsvd = layout === 'FAT32' ? 2 : 1;
  v.setUint16(14, rsvd, true);
  const rootEnt = layout === 'FAT32' ? 0 : 16;
  v.setUint16(17, rootEnt, true);
  const total = rsvd + fatSz + (rootEnt * 32) / 512 + clusters;
  v.setUint32(32, total, true);
  const ext = layout === 'FAT32' ? 64 : 36;
  if (layout === 'FAT32') {
    v.setUint32(36, fatSz, true);
    v.setUint32(44, 2, true);
  } else {
    v.setUint16(22, fatSz, true);
  }
  b[ext] = 0x80;
  b[ext + 2] = 0x29;
  b.set(Buffer.from('BOUNDARY   '), ext + 7);
  b.set(Buffer.from(label.padEnd(8)), ext + 18);
  b[510] = 0x55;
  b[511] = 0xaa;
  return { bytes: b, totalSectors: total };
}

t.test('boundaries of the cluster-count rule (hand-made boot sectors, fsck.fat agrees)', async (t) => {
  const cases = [
    { clusters: 4084, layout: 'FAT12', want: 'FAT12' },
    { clusters: 4085, layout: 'FAT16', want: 'FAT16' },
    { clusters: 65524, layout: 'FAT16', want: 'FAT16' },
    { clusters: 65525, layout: 'FAT32', want: 'FAT32' },
  ] as const;
  for (const { clusters, layout, want } of cases) {
    const { bytes, totalSectors } = bootSector(clusters, layout, want);
    const src = new SparseSource(bytes, totalSectors * 512);
    const r = readBootSector(src);
    t.equal(r.geometry.countOfClusters, clusters, `${clusters}: CountofClusters`);
    t.equal(r.geometry.type, want, `${clusters} clusters → ${want}`);
    t.same(r.problems, [], `${clusters}: a consistent boot sector has no problems`);
    // The same boot sector, one cluster less or more, crosses the line without any label change.
    const below = bootSector(clusters - 1, layout, want);
    const belowType = readBootSector(new SparseSource(below.bytes, below.totalSectors * 512)).geometry.type;
    t.equal(belowType, fatTypeForClusterCount(clusters - 1), `${clusters - 1} clusters → ${belowType}`);
    // fsck.fat as an oracle for the count (it prints the boot sector before checking the zeroed FAT).
    const file = join(tmp, `b${clusters}.img`);
    writeFileSync(file, bytes);
    spawnSync('truncate', ['-s', String(totalSectors * 512), file]);
    const out = spawnSync('fsck.fat', ['-n', '-v', file], { encoding: 'utf8' }).stdout;
    t.match(out, new RegExp(`\\b${clusters} data clusters`), `fsck.fat counts ${clusters} clusters`);
    t.match(out, new RegExp(`${want.slice(3)} bit entries`), `fsck.fat reads ${want.slice(3)}-bit entries`);
  }
});

t.test('BS_FilSysType that lies (patched real images; minfo shows the label, fsck.fat the truth)', async (t) => {
  const imgs = {
    fat12: buildFatImage('bpb-fat12', { fatBits: 12, sizeMiB: 2, ...standardTree({ manyFiles: 5, bigFileSize: 1000 }) }),
    fat16: buildFatImage('bpb-fat16', { fatBits: 16, sizeMiB: 40, ...standardTree({ manyFiles: 5, bigFileSize: 1000 }) }),
    fat32: buildFatImage('bpb-fat32', { fatBits: 32, sizeMiB: 64, sectorsPerCluster: 1, ...standardTree({ manyFiles: 5, bigFileSize: 1000 }) }),
  };
  const cases = [
    { img: imgs.fat16, at: 54, label: 'FAT32   ', real: 'FAT16', lies: true },
    { img: imgs.fat16, at: 54, label: 'FAT12   ', real: 'FAT16', lies: true },
    { img: imgs.fat32, at: 82, label: 'FAT16   ', real: 'FAT32', lies: true },
    { img: imgs.fat12, at: 54, label: 'FAT16   ', real: 'FAT12', lies: true },
    { img: imgs.fat16, at: 54, label: 'FAT     ', real: 'FAT16', lies: false },
    { img: imgs.fat32, at: 82, label: 'NTFS    ', real: 'FAT32', lies: true },
  ];
  for (const [i, c] of cases.entries()) {
    const file = join(tmp, `lie${i}.img`);
    copyFileSparse(c.img, file);
    const fd = new FileByteSource(c.img);
    const orig = fd.read(c.at, 8);
    fd.close();
    t.equal(Buffer.from(orig).toString('latin1'), `${c.real}   `, 'mkfs.vfat wrote the true label');
    const w = openSync(file, 'r+');
    writeSync(w, Buffer.from(c.label, 'latin1'), 0, 8, c.at);
    closeSync(w);
    const src = new FileByteSource(file);
    const vol = openFat(src);
    t.equal(vol.geometry.type, c.real, `"${c.label}" on a ${c.real} volume: type by cluster count`);
    t.equal(vol.geometry.type, `FAT${fsckFat(file).entryBits}`, 'fsck.fat agrees on the entry width');
    t.equal(vol.bpb.BS_FilSysType, c.label, 'the label is reported as written');
    t.equal(minfo(file).type, c.label, 'minfo shows the same label');
    const mention = vol.problems.some((p) => p.includes('BS_FilSysType'));
    t.equal(mention, c.lies, c.lies ? 'a problem names BS_FilSysType' : 'no problem for the generic "FAT" label');
    t.ok(vol.lookup('/EFI/Boot/bootaa64.efi'), 'the volume still reads');
    src.close();
  }
});
