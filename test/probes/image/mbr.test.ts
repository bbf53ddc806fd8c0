import t from 'tap';
import { readFileSync } from 'node:fs';
import { gptOnePartition, hugeSparse, hybridMbrDisk, mbrDisk, sfdiskJson, sparse64G } from '../../fixtures/disk-builder.js';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { readMbr } from '../../../probes/image/mbr.js';
import { analyzePartitionTable } from '../../../probes/image/partition-table.js';
import { memoryImage } from './gpt-edit.js';

function withFile<T>(path: string, f: (src: FileByteSource) => T): T {
  const src = new FileByteSource(path);
  try {
    return f(src);
  } finally {
    src.close();
  }
}

t.test('protective MBR written by sgdisk (UEFI 2.6 §5.2.3)', async (t) => {
  for (const path of [gptOnePartition(), sparse64G()]) {
    withFile(path, (src) => {
      const m = readMbr(src, 512);
      t.equal(m.present, true);
      t.equal(m.signatureValid, true);
      t.equal(m.protective, true, `${path} protective`);
      t.equal(m.hybrid, false);
      t.same(m.problems, []);
      const r = m.records[0]!;
      t.equal(r.osType, 0xee);
      t.equal(r.startingLba, 1);
      t.equal(r.sizeInLba, src.size / 512 - 1);
      t.equal(r.startingChs, '0x000200');
      t.equal(r.bootIndicator, '0x00');
      t.same(m.records.slice(1).map((x) => x.empty), [true, true, true]);
    });
  }
});

t.test('disk over 2 TiB: SizeInLBA is 0xFFFFFFFF', async (t) => {
  withFile(hugeSparse(), (src) => {
    const m = readMbr(src, 512);
    t.equal(m.records[0]?.sizeInLba, 0xffffffff);
    t.equal(m.protective, true);
    t.same(m.problems, []);
    const r = analyzePartitionTable(src);
    t.equal(r.gpt.valid, true);
    t.ok(src.stats.bytesRead < 256 * 1024, 'metadata only');
  });
});

t.test('MBR-only disk agrees with sfdisk -J', async (t) => {
  const path = mbrDisk([{ type: '83', sizeMiB: 4, bootable: true }, { type: 'c', sizeMiB: 8 }]);
  const tool = sfdiskJson(path);
  withFile(path, (src) => {
    const r = analyzePartitionTable(src);
    t.equal(r.scheme, 'mbr');
    t.equal(r.gpt.present, false);
    t.equal(r.mbr.protective, false);
    t.equal(r.mbr.diskSignature, tool.id);
    t.equal(r.partitions.length, tool.partitions.length);
    tool.partitions.forEach((p, i) => {
      const ours = r.partitions[i]!;
      t.equal(ours.number, i + 1);
      t.equal(ours.firstLba, p.start);
      t.equal(ours.sizeBytes, p.size * 512);
      t.equal(ours.typeName, `MBR 0x${p.type.padStart(2, '0')}`);
      t.equal(ours.attributes, p.bootable ? '0x80' : '0x00');
      t.equal(ours.typeGuid, '');
      t.equal(ours.uniqueGuid, '');
    });
  });
});

t.test('hybrid MBR (sgdisk -h)', async (t) => {
  withFile(hybridMbrDisk(), (src) => {
    const r = analyzePartitionTable(src);
    t.equal(r.scheme, 'gpt');
    t.equal(r.mbr.hybrid, true);
    t.match(r.mbr.problems.join('\n'), /OSType 0xef record alongside the 0xEE record \(hybrid MBR\)/);
    t.equal(r.gpt.valid, true, 'the GPT itself is fine');
  });
});

t.test('broken protective MBRs', async (t) => {
  const good = readFileSync(gptOnePartition());

  const noSig = Buffer.from(good);
  noSig[511] = 0;
  let m = readMbr(memoryImage(noSig).disk, 512);
  t.equal(m.signatureValid, false);
  t.equal(m.protective, false);
  t.match(m.problems.join('\n'), /MBR \(LBA 0, offset 510\): Signature is 0x55[0-9a-f]{2}, expected 0x55aa/);
  t.same(m.records, [], 'records of a non-MBR are not interpreted');

  const wrongStart = Buffer.from(good);
  wrongStart.writeUInt32LE(2, 446 + 8);
  m = readMbr(memoryImage(wrongStart).disk, 512);
  t.equal(m.protective, false);
  t.match(m.problems.join('\n'), /MBR partition record 1 \(LBA 0, offset 446\): 0xEE record StartingLBA is 2, expected 1/);

  const bootable = Buffer.from(good);
  bootable[446] = 0x80;
  m = readMbr(memoryImage(bootable).disk, 512);
  t.match(m.problems.join('\n'), /BootIndicator is 0x80, expected 0x00/);

  const twoEe = Buffer.from(good);
  good.copy(twoEe, 446 + 16, 446, 446 + 16);
  m = readMbr(memoryImage(twoEe).disk, 512);
  t.equal(m.protective, false);
  t.match(m.problems.join('\n'), /2 records have OSType 0xEE/);

  const noGpt = Buffer.from(good);
  noGpt.fill(0, 512, 1024);
  noGpt.fill(0, noGpt.length - 512);
  const r = analyzePartitionTable(memoryImage(noGpt).disk);
  t.equal(r.gpt.present, false);
  t.match(r.gpt.problems.join('\n'), /protective MBR \(OSType 0xEE\) but no GPT header/);
});

t.test('tiny and empty disks', async (t) => {
  t.equal(readMbr(memoryImage(new Uint8Array(100)).disk, 512).present, false);
  const zeros = readMbr(memoryImage(new Uint8Array(512)).disk, 512);
  t.equal(zeros.present, true);
  t.equal(zeros.signatureValid, false);
});
