import t from 'tap';
import { readFileSync } from 'node:fs';
import { run } from '../../fixtures/cache.js';
import {
  dataDisk, fdiskPartitions, gpt4k, gptEspThird, gptOnePartition, sgdiskPartitions, sgdiskVerify, sparse64G, type ToolPartition,
} from '../../fixtures/disk-builder.js';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { detectGptSectorSize, readGpt, MAX_ENTRY_ARRAY_BYTES } from '../../../probes/image/gpt.js';
import { analyzePartitionTable, partitionsOfType, type Partition, type PartitionTableReading } from '../../../probes/image/partition-table.js';
import { guidBytes } from '../../../bytes/guid.js';
import { TYPE_GUID } from '../../../probes/image/partition-types.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { GptEditor, prng, type TapTest } from './gpt-edit.js';

function readFile(path: string): PartitionTableReading {
  const img = openDisk(path);
  try {
    return analyzePartitionTable(img.disk);
  } finally {
    img.close();
  }
}

function matchesTool(t: TapTest, ours: Partition[], tool: ToolPartition[]): void {
  t.equal(ours.length, tool.length, 'same number of partitions as the tool');
  for (const want of tool) {
    const got = ours.find((p) => p.number === want.number);
    t.ok(got, `partition ${want.number} found`);
    if (!got) continue;
    t.equal(got.typeGuid, want.typeGuid, `partition ${want.number} type GUID`);
    t.equal(got.uniqueGuid, want.uniqueGuid, `partition ${want.number} unique GUID`);
    t.equal(got.firstLba, want.firstLba, `partition ${want.number} first LBA`);
    t.equal(got.lastLba, want.lastLba, `partition ${want.number} last LBA`);
    t.equal(got.name, want.name, `partition ${want.number} name`);
    if (want.attributes !== undefined) t.equal(got.attributes, `0x${want.attributes}`, `partition ${want.number} attributes`);
  }
}

/** Header facts from `sgdisk -p` (disk GUID, usable range). */
function sgdiskHeader(path: string): { diskGuid: string; firstUsable: number; lastUsable: number; entries: number } {
  const out = run('sgdisk', ['-p', path]);
  return {
    diskGuid: /Disk identifier \(GUID\): ([0-9A-F-]{36})/.exec(out)![1]!,
    firstUsable: Number(/First usable sector is (\d+)/.exec(out)![1]),
    lastUsable: Number(/last usable sector is (\d+)/.exec(out)![1]),
    entries: Number(/holds up to (\d+) entries/.exec(out)![1]),
  };
}

function cleanGpt(t: TapTest, r: PartitionTableReading, ss: number): void {
  t.equal(r.scheme, 'gpt');
  t.equal(r.sectorSize, ss);
  t.same(r.gpt.problems, [], 'no problems');
  t.equal(r.gpt.valid, true);
  t.equal(r.gpt.backupAtLastLba, true);
  t.equal(r.gpt.headersConsistent, true);
  t.equal(r.gpt.entriesFrom, 'primary');
  t.equal(r.gpt.primary?.valid, true);
  t.equal(r.gpt.backup?.valid, true);
  t.equal(r.gpt.primary?.headerCrc.stored, r.gpt.primary?.headerCrc.computed);
  t.equal(r.mbr.protective, true, 'protective MBR');
  t.same(r.overlaps, []);
}

t.test('512-byte sector layouts agree with sgdisk', async (t) => {
  for (const [label, path] of [['one partition', gptOnePartition()], ['ESP third of four', gptEspThird()], ['data disk', dataDisk()]] as const) {
    t.test(label, async (t) => {
      const r = readFile(path);
      cleanGpt(t, r, 512);
      matchesTool(t, r.partitions, sgdiskPartitions(path));
      const h = sgdiskHeader(path);
      const p = r.gpt.primary!;
      t.equal(p.diskGuid, h.diskGuid, 'disk GUID');
      t.equal(p.firstUsableLba, h.firstUsable);
      t.equal(p.lastUsableLba, h.lastUsable);
      t.equal(p.entryCount, h.entries);
      t.equal(p.myLba, 1);
      const lastLba = readFileSync(path).length / 512 - 1;
      t.equal(p.alternateLba, lastLba);
      t.equal(r.gpt.backup?.lba, lastLba);
      t.equal(r.gpt.backup?.myLba, lastLba);
      t.equal(r.gpt.backup?.alternateLba, 1);
      for (const part of r.partitions) {
        t.equal(part.startByte, part.firstLba * 512);
        t.equal(part.sizeBytes, (part.lastLba - part.firstLba + 1) * 512);
      }
    });
  }
});

t.test('ESP as partition 3 of 4, with type names', async (t) => {
  const r = readFile(gptEspThird());
  const esp = partitionsOfType(r, TYPE_GUID.esp);
  t.equal(esp.length, 1);
  t.equal(esp[0]?.number, 3);
  t.equal(esp[0]?.typeName, 'EFI System Partition');
  t.equal(esp[0]?.name, 'EFI System Partition');
  t.same(r.partitions.map((p) => p.typeName), ['BIOS boot partition', 'Linux filesystem data', 'EFI System Partition', 'Linux root (ARM64/AArch64)']);
});

t.test('4096-byte logical sectors agree with fdisk -b 4096', async (t) => {
  const path = gpt4k();
  const src = new FileByteSource(path);
  t.teardown(() => src.close());
  t.equal(detectGptSectorSize(src), 4096);
  const r = analyzePartitionTable(src);
  cleanGpt(t, r, 4096);
  matchesTool(t, r.partitions, fdiskPartitions(path, 4096));
  t.equal(r.gpt.primary?.partitionEntryLba, 2);
  t.equal(r.gpt.backup?.lba, src.size / 4096 - 1);
  t.equal(r.partitions[0]?.startByte, r.partitions[0]!.firstLba * 4096);
  t.equal(r.mbr.records[0]?.sizeInLba, src.size / 4096 - 1, 'protective MBR sized in 4 KiB LBAs');
  // Read as if 512-byte sectors, there is no GPT at LBA 1: the detector must not be fooled.
  t.equal(readGpt(src, 512).primary, null);
});

t.test('64 GiB sparse disk: backup at the real last LBA, metadata-only reads', async (t) => {
  const path = sparse64G();
  const src = new FileByteSource(path);
  t.teardown(() => src.close());
  const r = analyzePartitionTable(src);
  cleanGpt(t, r, 512);
  matchesTool(t, r.partitions, sgdiskPartitions(path));
  t.equal(r.gpt.backup?.lba, 64 * 2 ** 30 / 512 - 1);
  t.equal(r.partitions[1]?.sizeBytes, (r.partitions[1]!.lastLba - r.partitions[1]!.firstLba + 1) * 512);
  t.ok(src.stats.bytesRead < 256 * 1024, `read ${src.stats.bytesRead} bytes of a 64 GiB disk`);
});

t.test('broken tables give the right problem and never throw', async (t) => {
  const base = gptEspThird();

  t.test('bad primary header CRC: backup used, sgdisk agrees', async (t) => {
    const e = GptEditor.load(base);
    e.buf[e.header(1) + 60]! ^= 0xff; // inside DiskGUID, covered by HeaderCRC32
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.gpt.primary?.headerCrc.valid, false);
    t.not(r.gpt.primary?.headerCrc.computed, r.gpt.primary?.headerCrc.stored);
    t.match(r.gpt.problems.join('\n'), /primary GPT header \(LBA 1, offset 512\): HeaderCRC32 stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
    t.equal(r.gpt.valid, false);
    t.equal(r.gpt.entriesFrom, 'backup');
    t.equal(r.partitions.length, 4, 'partitions still listed from the backup');
    const f = e.toFile();
    t.teardown(f.cleanup);
    t.match(sgdiskVerify(f.path), /Main header: ERROR/);
  });

  t.test('backup header storing a wrong entry array CRC over an array equal to the primary\'s', async (t) => {
    // The backup array is a copy of the primary's, so its CRC is taken from the primary's: the stored value is still judged.
    const e = GptEditor.load(base);
    const h = e.header(e.lastLba);
    e.buf.writeUInt32LE((e.buf.readUInt32LE(h + 88) ^ 0x00010000) >>> 0, h + 88);
    e.sealHeaderOnly(e.lastLba);
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.gpt.primary?.entriesCrc.valid, true);
    t.equal(r.gpt.backup?.entriesCrc.valid, false);
    t.equal(r.gpt.backup?.entriesCrc.computed, r.gpt.primary?.entriesCrc.computed, 'the same bytes have the same CRC');
    t.match(r.gpt.problems.join('\n'), /backup GPT header \(LBA \d+, offset \d+\): PartitionEntryArrayCRC32 stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
    const f = e.toFile();
    t.teardown(f.cleanup);
    t.match(sgdiskVerify(f.path), /Backup partition table: ERROR|backup partition table/i);
  });

  t.test('bad entry array CRC', async (t) => {
    const e = GptEditor.load(base);
    e.buf[e.entryOffset(1, 2) + 56]! ^= 0x01; // entry 2's name, primary array only
    e.sealHeaderOnly(1);
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.gpt.primary?.headerCrc.valid, true);
    t.equal(r.gpt.primary?.entriesCrc.valid, false);
    t.match(r.gpt.problems.join('\n'), /primary GPT header \(LBA 1, offset 512\): PartitionEntryArrayCRC32 stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8} \(array at LBA 2, offset 1024\)/);
    t.match(r.gpt.problems.join('\n'), /partition entry arrays differ, first at entry 2/);
    t.equal(r.gpt.entriesFrom, 'backup');
    t.equal(r.partitions[1]?.name, 'boot', 'the intact backup array is used');
    const f = e.toFile();
    t.teardown(f.cleanup);
    t.match(sgdiskVerify(f.path), /Main partition table: ERROR/);
  });

  t.test('missing backup header (disk truncated)', async (t) => {
    const e = GptEditor.load(base);
    const cut = new GptEditor(e.buf.subarray(0, e.buf.length - 1024 * 1024));
    const r = analyzePartitionTable(cut.image().disk);
    const last = cut.lastLba;
    t.equal(r.gpt.backup, null);
    t.equal(r.gpt.backupAtLastLba, false);
    t.equal(r.gpt.headersConsistent, false);
    t.match(r.gpt.problems.join('\n'), new RegExp(`backup GPT header \\(last LBA ${last}, offset ${last * 512}\\): no "EFI PART" signature`));
    t.match(r.gpt.problems.join('\n'), /AlternateLBA is \d+, expected \d+ \(the last LBA\)/);
    t.match(r.gpt.problems.join('\n'), /LastUsableLBA \d+ reaches the last LBA/);
    t.equal(r.partitions.length, 4);
    t.equal(r.mbr.protective, false, 'the 0xEE record no longer matches the disk');
    t.match(r.mbr.problems.join('\n'), /SizeInLBA is \d+, expected \d+/);
    const f = cut.toFile();
    t.teardown(f.cleanup);
    t.match(sgdiskVerify(f.path), /Disk is too small/);
  });

  t.test('disk grown after partitioning: backup found at AlternateLBA, not at the end', async (t) => {
    const e = GptEditor.load(base);
    const grown = new GptEditor(Buffer.concat([e.buf, Buffer.alloc(1024 * 1024)]));
    const r = analyzePartitionTable(grown.image().disk);
    t.equal(r.gpt.backupAtLastLba, false);
    t.equal(r.gpt.backup?.lba, e.lastLba);
    t.equal(r.gpt.backup?.valid, true);
    t.match(r.gpt.problems.join('\n'), new RegExp(`backup GPT header is at LBA ${e.lastLba} .* not at the last LBA ${grown.lastLba}`));
    const f = grown.toFile();
    t.teardown(f.cleanup);
    t.match(sgdiskVerify(f.path), /secondary header's self-pointer/);
  });

  t.test('primary header wiped: GPT found from the backup', async (t) => {
    const e = GptEditor.load(base);
    e.buf.fill(0, 512, 1024);
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.scheme, 'gpt');
    t.equal(r.gpt.primary, null);
    t.equal(r.gpt.entriesFrom, 'backup');
    t.equal(r.partitions.length, 4);
    t.match(r.gpt.problems.join('\n'), /primary GPT header \(LBA 1, offset 512\): no "EFI PART" signature/);
  });

  t.test('4K disk with the primary wiped: sector size still detected from the backup', async (t) => {
    const e = GptEditor.load(gpt4k(), 4096);
    e.buf.fill(0, 4096, 8192);
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.sectorSize, 4096);
    t.equal(r.gpt.entriesFrom, 'backup');
    t.equal(r.partitions.length, 2);
  });

  t.test('overlapping partitions (entries written by hand), sgdisk agrees', async (t) => {
    const e = GptEditor.load(base);
    for (const lba of [1, e.lastLba]) {
      const p3first = e.buf.readBigUInt64LE(e.entryOffset(lba, 3) + 32);
      e.buf.writeBigUInt64LE(p3first + 100n, e.entryOffset(lba, 2) + 40); // entry 2 EndingLBA into partition 3
    }
    e.sealBoth();
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.gpt.primary?.valid, true, 'CRCs re-sealed: only the overlap is wrong');
    t.same(r.overlaps, [{ a: 2, b: 3 }]);
    t.same(r.gpt.problems, ['partition entries 2 and 3 overlap']);
    const f = e.toFile();
    t.teardown(f.cleanup);
    t.match(sgdiskVerify(f.path), /partitions (2 and 3|3 and 2) overlap/i);
  });

  t.test('absurd NumberOfPartitionEntries: a problem, not a giant allocation', async (t) => {
    const e = GptEditor.load(base);
    e.buf.writeUInt32LE(0xffffffff, e.header(1) + 80);
    e.sealHeaderOnly(1);
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.gpt.primary?.headerCrc.valid, true);
    t.equal(r.gpt.primary?.entriesCrc.computed, null);
    t.match(r.gpt.problems.join('\n'), new RegExp(`NumberOfPartitionEntries 4294967295 × SizeOfPartitionEntry 128 = \\d+ bytes exceeds our ${MAX_ENTRY_ARRAY_BYTES}-byte cap`));
    t.equal(r.gpt.entriesFrom, 'backup');
  });

  t.test('SizeOfPartitionEntry not 128 × 2^n', async (t) => {
    const e = GptEditor.load(base);
    e.buf.writeUInt32LE(129, e.header(1) + 84);
    e.sealHeaderOnly(1);
    const r = analyzePartitionTable(e.image().disk);
    t.match(r.gpt.problems.join('\n'), /SizeOfPartitionEntry 129 is not 128 × 2\^n/);
  });

  t.test('too small entry array, partition outside the usable range, duplicate unique GUID', async (t) => {
    const e = GptEditor.load(base);
    for (const lba of [1, e.lastLba]) {
      e.buf.writeBigUInt64LE(10n, e.entryOffset(lba, 1) + 32); // entry 1 starts before FirstUsableLBA 34
      e.buf.copy(e.buf, e.entryOffset(lba, 4) + 16, e.entryOffset(lba, 3) + 16, e.entryOffset(lba, 3) + 32);
      e.buf.writeUInt32LE(64, e.header(lba) + 80); // 64 × 128 = 8 KiB < 16 KiB
    }
    e.sealBoth();
    const r = analyzePartitionTable(e.image().disk);
    const all = r.gpt.problems.join('\n');
    t.match(all, /partition entry 1 \(LBA 2, offset 1024\): LBA 10\.\.4095 is outside the usable range 34\.\.\d+/);
    t.match(all, /partition entry 4 \(LBA 2, offset 1408\): UniquePartitionGUID [0-9A-F-]{36} repeats entry 3/);
    t.match(all, /partition entry array is 8192 bytes \(64 × 128\), UEFI requires at least 16384/);
  });

  t.test('MyLBA wrong, Revision wrong, reserved field set', async (t) => {
    const e = GptEditor.load(base);
    e.buf.writeBigUInt64LE(5n, e.header(1) + 24);
    e.buf.writeUInt32LE(0x00020000, e.header(1) + 8);
    e.buf.writeUInt32LE(7, e.header(1) + 20);
    e.sealHeaderOnly(1);
    const r = analyzePartitionTable(e.image().disk);
    const all = r.gpt.problems.join('\n');
    t.match(all, /MyLBA is 5, expected 1/);
    t.match(all, /Revision is 0x00020000/);
    t.match(all, /Reserved field at byte 20 is 0x00000007/);
    t.equal(r.gpt.primary?.valid, false, 'MyLBA makes the header invalid (UEFI 2.6 §5.3.2)');
  });

  t.test('LBA fields beyond 2^53 become null with a problem', async (t) => {
    const e = GptEditor.load(base);
    e.buf.writeBigUInt64LE(0xffffffffffffffffn, e.header(1) + 48);
    e.buf.writeBigUInt64LE(0xfffffffffffffff0n, e.entryOffset(1, 1) + 40);
    e.seal(1);
    const r = analyzePartitionTable(e.image().disk);
    t.equal(r.gpt.primary?.lastUsableLba, null);
    t.match(r.gpt.problems.join('\n'), /LastUsableLBA 0xffffffffffffffff is beyond any disk/);
    t.match(r.gpt.problems.join('\n'), /partition entry 1 .*EndingLBA 18446744073709551600 is beyond the disk/);
    t.ok(r.partitions.every((p) => Number.isSafeInteger(p.lastLba) && Number.isSafeInteger(p.sizeBytes)));
  });

  t.test('garbage disks', async (t) => {
    const rnd = prng(1);
    const junk = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rnd() * 256);
    const r = analyzePartitionTable(new GptEditor(junk).image().disk);
    t.equal(r.scheme, 'none');
    t.equal(r.gpt.present, false);
    junk.write('EFI PART', 512, 'latin1');
    const r2 = analyzePartitionTable(new GptEditor(junk).image().disk);
    t.equal(r2.scheme, 'gpt');
    t.equal(r2.gpt.valid, false);
    t.ok(r2.gpt.problems.length > 0);
    const tiny = analyzePartitionTable(new GptEditor(Buffer.alloc(700)).image().disk);
    t.equal(tiny.scheme, 'none');
    t.equal(tiny.mbr.present, true);
    const empty = analyzePartitionTable(new GptEditor(Buffer.alloc(0)).image().disk);
    t.equal(empty.scheme, 'none');
    t.equal(empty.mbr.present, false);
  });

  t.test('odd disk size', async (t) => {
    const e = GptEditor.load(base);
    const odd = new GptEditor(Buffer.concat([e.buf, Buffer.alloc(100)]));
    const r = analyzePartitionTable(odd.image().disk);
    t.match(r.gpt.problems.join('\n'), /not a multiple of the 512-byte logical block size/);
  });

  t.test('fuzz: random corruption of headers and entries never throws', async (t) => {
    const e = GptEditor.load(gptOnePartition());
    const rnd = prng(2024);
    const regions = [[0, 34 * 512], [e.buf.length - 33 * 512, e.buf.length]] as const;
    let runs = 0;
    for (let i = 0; i < 400; i++) {
      const saved = Buffer.from(e.buf.subarray(0, 34 * 512));
      const savedTail = Buffer.from(e.buf.subarray(e.buf.length - 33 * 512));
      const edits = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < edits; k++) {
        const [lo, hi] = regions[Math.floor(rnd() * 2)]!;
        // Bias towards header fields so the interesting checks run.
        const at = rnd() < 0.6 ? (rnd() < 0.5 ? 512 : e.buf.length - 512) + Math.floor(rnd() * 96) : lo + Math.floor(rnd() * (hi - lo));
        e.buf[at] = Math.floor(rnd() * 256);
      }
      if (rnd() < 0.5) e.sealBoth();
      const r = analyzePartitionTable(e.image().disk);
      for (const p of r.partitions) {
        if (![p.firstLba, p.lastLba, p.startByte, p.sizeBytes].every(Number.isSafeInteger)) t.fail(`unsafe number in partition ${p.number}`);
      }
      runs++;
      saved.copy(e.buf, 0);
      savedTail.copy(e.buf, e.buf.length - 33 * 512);
    }
    t.equal(runs, 400);
  });
});

t.test('UTF-16 partition names and attributes', async (t) => {
  const e = GptEditor.load(gptOnePartition());
  for (const lba of [1, e.lastLba]) {
    const o = e.entryOffset(lba, 1);
    e.buf.fill(0, o + 56, o + 128);
    e.buf.write('Système 🐧', o + 56, 'utf16le');
    e.buf.writeBigUInt64LE(0x8000000000000005n, o + 48);
    guidBytes(TYPE_GUID.linuxRootAarch64).forEach((b, i) => (e.buf[o + i] = b));
  }
  e.sealBoth();
  const r = analyzePartitionTable(e.image().disk);
  t.same(r.gpt.problems, []);
  t.equal(r.partitions[0]?.name, 'Système 🐧');
  t.equal(r.partitions[0]?.attributes, '0x8000000000000005');
  t.equal(r.partitions[0]?.typeGuid, TYPE_GUID.linuxRootAarch64);
  const f = e.toFile();
  t.teardown(f.cleanup);
  const tool = sgdiskPartitions(f.path)[0]!;
  t.equal(tool.typeGuid, TYPE_GUID.linuxRootAarch64, 'sgdisk reads our GUID encoding the same way');
  t.equal(tool.attributes, '8000000000000005');
});
