import { SliceByteSource, type ByteSource } from '../../bytes/byte-source.js';
import type { DiskImage } from './disk.js';
import { detectGptSectorSize, findOverlaps, readGpt, type GptReading, type GptSectorSize, type Overlap } from './gpt.js';
import { partitionTypeName } from './partition-types.js';
import { readMbr, type MbrReading } from './mbr.js';
import { otherDiskLabel, type OtherDiskLabel } from './disk-label.js';
import type { Memo } from '../types.js';
import { hex } from '../../bytes/hex.js';

/**
 * The disk's partitions, whatever the scheme. For GPT (UEFI 2.6 §5.3) every
 * used entry of the entry array in use. For an MBR-only disk (UEFI 2.6
 * §5.2.1) the four primary records that are not empty: `number` is the
 * record slot 1..4, `typeGuid` and `uniqueGuid` are '', `typeName` is
 * "MBR 0x83" (the OSType), `name` is '', `attributes` is the
 * BootIndicator ("0x80" bootable). Extended partitions (0x05/0x0F/0x85)
 * are listed as such; the logical partitions inside them are not followed.
 */
export interface Partition {
  /** 1-based GPT entry index (MBR: record slot 1..4). */
  number: number;
  /** Uppercase canonical GUID; '' for MBR partitions. */
  typeGuid: string;
  /** Well-known name of the type GUID, "MBR 0xNN" for MBR, null when unknown. */
  typeName: string | null;
  /** Uppercase canonical GUID; '' for MBR partitions. */
  uniqueGuid: string;
  firstLba: number;
  lastLba: number;
  /** firstLba × sectorSize. */
  startByte: number;
  /** (lastLba − firstLba + 1) × sectorSize. */
  sizeBytes: number;
  /** GPT PartitionName; '' for MBR. */
  name: string;
  /** GPT Attributes as "0x" + 16 hex digits; MBR BootIndicator as "0x80"/"0x00". */
  attributes: string;
}

export type PartitionScheme = 'gpt' | 'mbr' | 'none';

export interface PartitionTableReading {
  /** Logical block size the table was written for: where the GPT was found, else 512. */
  sectorSize: GptSectorSize;
  /** 'gpt' when any GPT header signature was found (valid or not); 'mbr' for a legacy MBR with non-empty records; else 'none'. */
  scheme: PartitionScheme;
  mbr: MbrReading;
  /** Always present; `gpt.present` is false when there is no GPT. */
  gpt: GptReading;
  partitions: Partition[];
  /** Partitions (by number) sharing LBAs. */
  overlaps: Overlap[];
  /** With scheme 'none': a label vmspec recognises but does not read (BSD, Sun, SGI, Atari, DASD), else null. */
  otherLabel: OtherDiskLabel | null;
}

export const PARTITION_TABLE_MEMO_KEY = 'image.partition-table';

/** The image's partition table, read once per run. */
export function readPartitionTable(image: DiskImage, memo: Memo): PartitionTableReading {
  return memo.get(PARTITION_TABLE_MEMO_KEY, () => analyzePartitionTable(image.disk));
}

/** Same as readPartitionTable, without the memo (tests, tools). Throws only if the disk cannot be read. */
export function analyzePartitionTable(disk: ByteSource): PartitionTableReading {
  const sectorSize = detectGptSectorSize(disk) ?? 512;
  const mbr = readMbr(disk, sectorSize);
  const gpt = readGpt(disk, sectorSize);
  if (!gpt.present && mbr.protective) gpt.problems.push('LBA 0 holds a protective MBR (OSType 0xEE) but no GPT header was found');
  if (!gpt.present) gpt.valid = false;
  if (gpt.present) {
    const partitions = gpt.entries.map((e): Partition => ({
      ...e,
      typeName: partitionTypeName(e.typeGuid),
      startByte: e.firstLba * sectorSize,
      sizeBytes: (e.lastLba - e.firstLba + 1) * sectorSize,
    }));
    return { sectorSize, scheme: 'gpt', mbr, gpt, partitions, overlaps: gpt.overlaps, otherLabel: null };
  }
  const records = mbr.records.filter((r) => !r.empty && r.osType !== 0 && r.sizeInLba > 0);
  if (mbr.signatureValid && records.length > 0) {
    const partitions = records.map((r): Partition => ({
      number: r.index,
      typeGuid: '',
      typeName: `MBR ${hex(r.osType, 2)}`,
      uniqueGuid: '',
      firstLba: r.startingLba,
      lastLba: r.startingLba + r.sizeInLba - 1,
      startByte: r.startingLba * sectorSize,
      sizeBytes: r.sizeInLba * sectorSize,
      name: '',
      attributes: r.bootIndicator,
    }));
    return { sectorSize, scheme: 'mbr', mbr, gpt, partitions, overlaps: findOverlaps(partitions), otherLabel: null };
  }
  return { sectorSize, scheme: 'none', mbr, gpt, partitions: [], overlaps: [], otherLabel: otherDiskLabel(disk) };
}

/** The bytes of one partition. Throws ParseError when the partition runs past the end of the disk. */
export function partitionSource(disk: ByteSource, p: Partition): ByteSource {
  return new SliceByteSource(disk, p.startByte, p.sizeBytes, `${disk.name} partition ${p.number}`);
}

/** Partitions of a given type GUID (case-insensitive), in table order. */
export function partitionsOfType(reading: PartitionTableReading, typeGuid: string): Partition[] {
  const want = typeGuid.toUpperCase();
  return reading.partitions.filter((p) => p.typeGuid === want);
}
