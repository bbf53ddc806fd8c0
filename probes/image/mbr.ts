import type { ByteSource } from '../../bytes/byte-source.js';
import { hex, hexBytes } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';

/** One of the four partition records (UEFI 2.6 §5.2.1 Table 12, Legacy MBR Partition Record). */
export interface MbrPartitionRecord {
  /** 1-based slot in the table (1..4). */
  index: number;
  /** 0x80 = bootable; UEFI firmware ignores it. Hex "0x80". */
  bootIndicator: string;
  /** CHS triples as stored, hex "0x000200" (byte order as on disk). */
  startingChs: string;
  osType: number;
  endingChs: string;
  startingLba: number;
  sizeInLba: number;
  /** All 16 bytes zero: an unused slot (UEFI: "each set to zero"). */
  empty: boolean;
}

export interface MbrReading {
  /** LBA 0 exists (the disk holds at least 512 bytes). */
  present: boolean;
  /** Bytes 510-511 are 0x55 0xAA. */
  signatureValid: boolean;
  /** UniqueMBRDiskSignature (offset 440), hex "0x1234abcd", null when absent. */
  diskSignature: string | null;
  /** The four records; empty when the signature is invalid (the bytes are not an MBR). */
  records: MbrPartitionRecord[];
  /**
   * A GPT protective MBR (UEFI 2.6 §5.2.3 Table 14): an 0xEE record that
   * starts at LBA 1 and covers the disk (SizeInLBA = last LBA, or
   * 0xFFFFFFFF when the disk is too large).
   */
  protective: boolean;
  /** An 0xEE record alongside other non-empty records (not a protective MBR per UEFI). */
  hybrid: boolean;
  /** Deviations from the protective MBR layout, each with where it is. */
  problems: string[];
}

/** MBR offsets (UEFI 2.6 §5.2.1 Table 11). */
const UNIQUE_MBR_DISK_SIGNATURE = 440;
const PARTITION_RECORD = 446;
const SIGNATURE = 510;
const RECORD_SIZE = 16;
/** OSType of the GPT protective partition (UEFI 2.6 §5.2.3). */
export const GPT_PROTECTIVE_OS_TYPE = 0xee;

/**
 * Reads LBA 0 as a legacy or protective MBR. `sectorSize` gives the unit of
 * StartingLBA/SizeInLBA (the MBR itself always lives in the first 512 bytes).
 * Never throws on malformed content; the disk must be readable.
 */
export function readMbr(disk: ByteSource, sectorSize: number): MbrReading {
  const none: MbrReading = { present: false, signatureValid: false, diskSignature: null, records: [], protective: false, hybrid: false, problems: [] };
  if (disk.size < 512) return none;
  const b = disk.read(0, 512);
  const dv = new LeReader(b, 'MBR');
  const signatureValid = b[SIGNATURE] === 0x55 && b[SIGNATURE + 1] === 0xaa;
  const reading: MbrReading = { ...none, present: true, signatureValid };
  if (!signatureValid) {
    reading.problems.push(`MBR (LBA 0, offset ${SIGNATURE}): Signature is 0x${hexBytes(dv.slice(SIGNATURE, 2))}, expected 0x55aa`);
    return reading;
  }
  reading.diskSignature = hex(dv.u32(UNIQUE_MBR_DISK_SIGNATURE), 8);
  for (let i = 0; i < 4; i++) {
    const o = PARTITION_RECORD + i * RECORD_SIZE;
    const chs = (at: number): string => hex((b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!, 6);
    reading.records.push({
      index: i + 1,
      bootIndicator: hex(b[o]!, 2),
      startingChs: chs(o + 1),
      osType: b[o + 4]!,
      endingChs: chs(o + 5),
      startingLba: dv.u32(o + 8),
      sizeInLba: dv.u32(o + 12),
      empty: b.subarray(o, o + RECORD_SIZE).every((x) => x === 0),
    });
  }
  judgeProtective(reading, disk.size, sectorSize);
  return reading;
}

/** Protective MBR checks (UEFI 2.6 §5.2.3 Table 14). */
function judgeProtective(reading: MbrReading, diskSize: number, sectorSize: number): void {
  const gptRecords = reading.records.filter((r) => r.osType === GPT_PROTECTIVE_OS_TYPE);
  const first = gptRecords[0];
  if (!first) return;
  const others = reading.records.filter((r) => r.osType !== GPT_PROTECTIVE_OS_TYPE && !r.empty);
  reading.hybrid = others.length > 0;
  const where = (r: MbrPartitionRecord): string => `MBR partition record ${r.index} (LBA 0, offset ${PARTITION_RECORD + (r.index - 1) * RECORD_SIZE})`;
  const lastLba = Math.floor(diskSize / sectorSize) - 1;
  const expectedSize = Math.min(lastLba, 0xffffffff);
  let ok = true;
  if (gptRecords.length > 1) {
    reading.problems.push(`MBR: ${gptRecords.length} records have OSType 0xEE; a protective MBR has exactly one`);
    ok = false;
  }
  if (first.startingLba !== 1) {
    reading.problems.push(`${where(first)}: 0xEE record StartingLBA is ${first.startingLba}, expected 1`);
    ok = false;
  }
  if (first.sizeInLba !== expectedSize) {
    reading.problems.push(`${where(first)}: 0xEE record SizeInLBA is ${first.sizeInLba}, expected ${expectedSize} (last LBA of a ${diskSize}-byte disk with ${sectorSize}-byte sectors${lastLba > 0xffffffff ? ', capped at 0xFFFFFFFF' : ''})`);
    ok = false;
  }
  if (first.bootIndicator !== '0x00') reading.problems.push(`${where(first)}: 0xEE record BootIndicator is ${first.bootIndicator}, expected 0x00`);
  for (const r of others) reading.problems.push(`${where(r)}: OSType ${hex(r.osType, 2)} record alongside the 0xEE record (hybrid MBR); a protective MBR's other records are zero`);
  reading.protective = ok;
}
