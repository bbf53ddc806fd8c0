import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { hex } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';

/**
 * The FAT boot sector and BIOS Parameter Block, and the volume geometry
 * derived from it (Microsoft FAT specification "fatgen103" §3, UEFI 2.6
 * §13.3). Only what makes the volume unreadable throws; everything else a
 * careful implementation would complain about is collected as a problem.
 */

export type FatType = 'FAT12' | 'FAT16' | 'FAT32';

/** Boot sector fields as fatgen103 §3.1–§3.3 names them. */
export interface Bpb {
  BS_jmpBoot: [number, number, number];
  BS_OEMName: string;
  BPB_BytsPerSec: number;
  BPB_SecPerClus: number;
  BPB_RsvdSecCnt: number;
  BPB_NumFATs: number;
  BPB_RootEntCnt: number;
  BPB_TotSec16: number;
  BPB_Media: number;
  BPB_FATSz16: number;
  BPB_SecPerTrk: number;
  BPB_NumHeads: number;
  BPB_HiddSec: number;
  BPB_TotSec32: number;
  /** FAT32 only (offset 36); 0 on FAT12/16. */
  BPB_FATSz32: number;
  BPB_ExtFlags: number;
  BPB_FSVer: number;
  BPB_RootClus: number;
  BPB_FSInfo: number;
  BPB_BkBootSec: number;
  BS_BootSig: number;
  /** Present only when BS_BootSig is 0x29. */
  BS_VolID: number | null;
  BS_VolLab: string | null;
  BS_FilSysType: string | null;
  /** The two bytes at offset 510 (0x55, 0xAA expected) as a little-endian word. */
  signature: number;
}

/** What a reader needs to find things, computed as fatgen103 §3.5 prescribes. */
export interface FatGeometry {
  type: FatType;
  bytesPerSector: number;
  sectorsPerCluster: number;
  bytesPerCluster: number;
  totalSectors: number;
  /** FATSz: sectors per FAT copy. */
  fatSizeSectors: number;
  /** Which FAT copy is read: 0 unless FAT32 mirroring is off (BPB_ExtFlags bit 7). */
  activeFat: number;
  /** Byte offset of the FAT copy that is read. */
  fatOffset: number;
  /** Bytes in one FAT copy. */
  fatBytes: number;
  rootDirSectors: number;
  /** FAT12/16: byte offset and entry count of the fixed root directory. */
  rootDirOffset: number;
  rootEntryCount: number;
  /** FAT32: first cluster of the root directory. */
  rootCluster: number;
  firstDataSector: number;
  /** CountofClusters: valid cluster numbers are 2 .. CountofClusters+1. */
  countOfClusters: number;
}

export interface BootSectorReading {
  bpb: Bpb;
  geometry: FatGeometry;
  problems: string[];
}

const STRUCT = 'FAT boot sector';

/** fatgen103 §3.5: the FAT type is decided by the cluster count and nothing else. */
export function fatTypeForClusterCount(countOfClusters: number): FatType {
  if (countOfClusters < 4085) return 'FAT12';
  if (countOfClusters < 65525) return 'FAT16';
  return 'FAT32';
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Space-padded OEM text; non-printable bytes shown as U+FFFD so reports stay readable. */
export function fatText(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\uFFFD';
  return s;
}

/**
 * Read sector 0 of a FAT volume. Throws ParseError when the BPB cannot
 * describe a readable volume (bad sector or cluster size, no FAT, metadata
 * larger than the volume, a FAT too small for its clusters).
 */
export function readBootSector(src: ByteSource): BootSectorReading {
  if (src.size < 512) throw new ParseError(STRUCT, 0, `volume is ${src.size} bytes, smaller than one 512-byte sector`);
  // fatgen103 §3.1: every BPB field lies in the first 512 bytes whatever the sector size.
  const s = src.read(0, 512);
  const v = new LeReader(s, 'FAT boot sector');
  const u8 = (o: number) => v.u8(o);
  const u16 = (o: number) => v.u16(o);
  const u32 = (o: number) => v.u32(o);
  const problems: string[] = [];

  const common = {
    BS_jmpBoot: [u8(0), u8(1), u8(2)] as [number, number, number],
    BS_OEMName: fatText(s.subarray(3, 11)),
    BPB_BytsPerSec: u16(11),
    BPB_SecPerClus: u8(13),
    BPB_RsvdSecCnt: u16(14),
    BPB_NumFATs: u8(16),
    BPB_RootEntCnt: u16(17),
    BPB_TotSec16: u16(19),
    BPB_Media: u8(21),
    BPB_FATSz16: u16(22),
    BPB_SecPerTrk: u16(24),
    BPB_NumHeads: u16(26),
    BPB_HiddSec: u32(28),
    BPB_TotSec32: u32(32),
    signature: u16(510),
  };
  const bps = common.BPB_BytsPerSec;
  if (!isPowerOfTwo(bps) || bps < 512 || bps > 4096) {
    throw new ParseError(STRUCT, 11, `BPB_BytsPerSec ${bps} is not 512, 1024, 2048 or 4096`);
  }
  if (!isPowerOfTwo(common.BPB_SecPerClus) || common.BPB_SecPerClus > 128) {
    throw new ParseError(STRUCT, 13, `BPB_SecPerClus ${common.BPB_SecPerClus} is not a power of 2 from 1 to 128`);
  }
  if (common.BPB_RsvdSecCnt === 0) throw new ParseError(STRUCT, 14, 'BPB_RsvdSecCnt is 0 (the boot sector itself is reserved)');
  if (common.BPB_NumFATs === 0) throw new ParseError(STRUCT, 16, 'BPB_NumFATs is 0');

  // fatgen103 §3.5: FATSz and TotSec come from the 16-bit field when it is non-zero.
  const fatSz32AtOffset36 = u32(36);
  const fatSize = common.BPB_FATSz16 !== 0 ? common.BPB_FATSz16 : fatSz32AtOffset36;
  const totSec = common.BPB_TotSec16 !== 0 ? common.BPB_TotSec16 : common.BPB_TotSec32;
  if (totSec === 0) throw new ParseError(STRUCT, 19, 'BPB_TotSec16 and BPB_TotSec32 are both 0');
  if (fatSize === 0) throw new ParseError(STRUCT, 22, 'BPB_FATSz16 and BPB_FATSz32 are both 0');
  const rootDirSectors = Math.ceil((common.BPB_RootEntCnt * 32) / bps);
  const metaSectors = common.BPB_RsvdSecCnt + common.BPB_NumFATs * fatSize + rootDirSectors;
  const dataSec = totSec - metaSectors;
  if (dataSec <= 0) {
    throw new ParseError(STRUCT, 14, `reserved, FAT and root directory sectors (${metaSectors}) leave no data area in ${totSec} sectors`);
  }
  const countOfClusters = Math.floor(dataSec / common.BPB_SecPerClus);
  if (countOfClusters === 0) throw new ParseError(STRUCT, 13, `data area of ${dataSec} sectors holds no whole cluster`);
  const type = fatTypeForClusterCount(countOfClusters);
  const fat32 = type === 'FAT32';

  // fatgen103 §3.3 (FAT32, extended fields at 36..89) vs §3.2 (FAT12/16, at 36..61).
  const ext = fat32 ? 64 : 36;
  const bootSig = u8(ext + 2);
  const hasExt = bootSig === 0x29;
  const bpb: Bpb = {
    ...common,
    BPB_FATSz32: fat32 ? fatSz32AtOffset36 : 0,
    BPB_ExtFlags: fat32 ? u16(40) : 0,
    BPB_FSVer: fat32 ? u16(42) : 0,
    BPB_RootClus: fat32 ? u32(44) : 0,
    BPB_FSInfo: fat32 ? u16(48) : 0,
    BPB_BkBootSec: fat32 ? u16(50) : 0,
    BS_BootSig: bootSig,
    BS_VolID: hasExt ? u32(ext + 3) : null,
    BS_VolLab: hasExt ? fatText(s.subarray(ext + 7, ext + 18)) : null,
    BS_FilSysType: hasExt ? fatText(s.subarray(ext + 18, ext + 26)) : null,
  };

  // fatgen103 §3.1: a jump, short (EB xx 90) or near (E9 xx xx).
  const [j0, , j2] = bpb.BS_jmpBoot;
  if (!(j0 === 0xeb && j2 === 0x90) && j0 !== 0xe9) {
    problems.push(`BS_jmpBoot ${hex(j0, 2, 'upper')} ${hex(bpb.BS_jmpBoot[1], 2, 'upper')} ${hex(j2, 2, 'upper')} is neither EB xx 90 nor E9 xx xx`);
  }
  if (bpb.signature !== 0xaa55) problems.push(`boot sector signature at offset 510 is ${hex(bpb.signature, 4, 'upper')}, not 0xAA55`);
  if (bpb.BPB_Media !== 0xf0 && bpb.BPB_Media < 0xf8) problems.push(`BPB_Media ${hex(bpb.BPB_Media, 2, 'upper')} is not 0xF0 or 0xF8..0xFF`);
  if (bps * bpb.BPB_SecPerClus > 32 * 1024) {
    problems.push(`cluster size ${bps * bpb.BPB_SecPerClus} bytes exceeds 32 KiB (fatgen103 §3.1 calls this invalid)`);
  }
  if (bpb.BPB_TotSec16 !== 0 && bpb.BPB_TotSec32 !== 0 && bpb.BPB_TotSec16 !== bpb.BPB_TotSec32) {
    problems.push(`BPB_TotSec16 (${bpb.BPB_TotSec16}) and BPB_TotSec32 (${bpb.BPB_TotSec32}) are both set and differ`);
  }
  if (fat32) {
    if (bpb.BPB_RootEntCnt !== 0) problems.push(`BPB_RootEntCnt is ${bpb.BPB_RootEntCnt} on a FAT32 volume (must be 0)`);
    if (bpb.BPB_FATSz16 !== 0) problems.push(`BPB_FATSz16 is ${bpb.BPB_FATSz16} on a FAT32 volume (must be 0)`);
    if (bpb.BPB_TotSec16 !== 0) problems.push(`BPB_TotSec16 is ${bpb.BPB_TotSec16} on a FAT32 volume (must be 0)`);
    if (bpb.BPB_FSVer !== 0) problems.push(`BPB_FSVer is ${hex(bpb.BPB_FSVer, 4, 'upper')}, not 0:0`);
  } else {
    if (bpb.BPB_FATSz16 === 0) problems.push(`BPB_FATSz16 is 0 on a ${type} volume`);
    if (bpb.BPB_RootEntCnt === 0) problems.push(`BPB_RootEntCnt is 0 on a ${type} volume`);
    else if ((bpb.BPB_RootEntCnt * 32) % bps !== 0) {
      problems.push(`BPB_RootEntCnt ${bpb.BPB_RootEntCnt} × 32 is not a multiple of BPB_BytsPerSec ${bps}`);
    }
  }
  if (bpb.BS_FilSysType !== null) {
    // BS_FilSysType is informational (fatgen103 §3.5): it only lies when it names another FAT type.
    const label = /^FAT(12|16|32)/.exec(bpb.BS_FilSysType)?.[0];
    if (label !== undefined && label !== type) {
      problems.push(`BS_FilSysType says "${bpb.BS_FilSysType.trimEnd()}" but the cluster count ${countOfClusters} makes it ${type}`);
    } else if (label === undefined && bpb.BS_FilSysType.trimEnd() !== 'FAT') {
      problems.push(`BS_FilSysType "${bpb.BS_FilSysType}" does not name a FAT type`);
    }
  }
  if (totSec * bps > src.size) {
    problems.push(`volume claims ${totSec} sectors (${totSec * bps} bytes) but ${src.name} holds only ${src.size} bytes`);
  }

  // fatgen103 §3.3 BPB_ExtFlags: bit 7 set = only one FAT is active, bits 0-3 say which.
  let activeFat = 0;
  if (fat32 && (bpb.BPB_ExtFlags & 0x80) !== 0) {
    activeFat = bpb.BPB_ExtFlags & 0x0f;
    if (activeFat >= bpb.BPB_NumFATs) {
      problems.push(`BPB_ExtFlags selects FAT ${activeFat} of ${bpb.BPB_NumFATs}; reading FAT 0`);
      activeFat = 0;
    }
  }
  const fatBytes = fatSize * bps;
  // fatgen103 §4: entries 0 and 1 are reserved, so the FAT holds CountofClusters+2 entries.
  const entryBits = type === 'FAT12' ? 12 : type === 'FAT16' ? 16 : 32;
  const neededBytes = Math.ceil(((countOfClusters + 2) * entryBits) / 8);
  if (neededBytes > fatBytes) {
    throw new ParseError(STRUCT, 22, `a FAT of ${fatSize} sectors (${fatBytes} bytes) cannot hold ${countOfClusters + 2} ${type} entries`);
  }
  const geometry: FatGeometry = {
    type,
    bytesPerSector: bps,
    sectorsPerCluster: bpb.BPB_SecPerClus,
    bytesPerCluster: bps * bpb.BPB_SecPerClus,
    totalSectors: totSec,
    fatSizeSectors: fatSize,
    activeFat,
    fatOffset: (bpb.BPB_RsvdSecCnt + activeFat * fatSize) * bps,
    fatBytes,
    rootDirSectors,
    rootDirOffset: fat32 ? 0 : (bpb.BPB_RsvdSecCnt + bpb.BPB_NumFATs * fatSize) * bps,
    rootEntryCount: fat32 ? 0 : bpb.BPB_RootEntCnt,
    rootCluster: fat32 ? bpb.BPB_RootClus : 0,
    firstDataSector: metaSectors,
    countOfClusters,
  };
  if (fat32 && (bpb.BPB_RootClus < 2 || bpb.BPB_RootClus > countOfClusters + 1)) {
    throw new ParseError(STRUCT, 44, `BPB_RootClus ${bpb.BPB_RootClus} is outside clusters 2..${countOfClusters + 1}`);
  }
  if (fat32) problems.push(...checkFsInfo(src, bpb));
  return { bpb, geometry, problems };
}

/** fatgen103 §5: the FAT32 FSInfo sector's three signatures. Only reported, never relied on. */
function checkFsInfo(src: ByteSource, bpb: Bpb): string[] {
  const sector = bpb.BPB_FSInfo;
  if (sector === 0 || sector === 0xffff) return [];
  if (sector >= bpb.BPB_RsvdSecCnt) return [`BPB_FSInfo sector ${sector} is outside the ${bpb.BPB_RsvdSecCnt} reserved sectors`];
  const off = sector * bpb.BPB_BytsPerSec;
  if (off + 512 > src.size) return [`BPB_FSInfo sector ${sector} lies past the end of the volume`];
  const b = src.read(off, 512);
  const v = new LeReader(b, 'FAT FSInfo');
  const out: string[] = [];
  if (v.u32(0) !== 0x41615252) out.push(`FSInfo FSI_LeadSig at offset ${off} is not 0x41615252`);
  if (v.u32(484) !== 0x61417272) out.push(`FSInfo FSI_StrucSig at offset ${off + 484} is not 0x61417272`);
  if (v.u32(508) !== 0xaa550000) out.push(`FSInfo FSI_TrailSig at offset ${off + 508} is not 0xAA550000`);
  return out;
}
