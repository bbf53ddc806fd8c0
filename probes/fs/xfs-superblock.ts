import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { BeFields, type CrcTally, uuidHex } from './xfs-bytes.js';

/** sb_magicnum: "XFSB" (xfs_format.h XFS_SB_MAGIC). */
export const XFS_SB_MAGIC = 0x58465342;
/** The superblock is the first sector of AG 0; its CRC sits here (xfs_format.h XFS_SB_CRC_OFF). */
export const XFS_SB_CRC_OFF = 224;
/** Bytes of struct xfs_dsb this reader parses (up to sb_meta_uuid). */
const SB_PARSED = 264;

/** sb_versionnum bits (xfs_format.h XFS_SB_VERSION_*BIT); the low nibble is the version (4 or 5). */
export const VERSION_BITS = {
  attr: 0x10, nlink: 0x20, quota: 0x40, align: 0x80, dalign: 0x100, shared: 0x200, logv2: 0x400,
  sector: 0x800, extflg: 0x1000, dirv2: 0x2000, borg: 0x4000, morebits: 0x8000,
} as const;
/** sb_features2 bits (XFS_SB_VERSION2_*BIT). */
export const FEATURES2 = { lazysbcount: 0x2, attr2: 0x8, parent: 0x10, projid32: 0x80, crc: 0x100, ftype: 0x200 } as const;
/** sb_features_compat (v5): none defined. */
export const FEAT_COMPAT = {} as const;
/** sb_features_ro_compat (XFS_SB_FEAT_RO_COMPAT_*). */
export const FEAT_RO_COMPAT = { finobt: 0x1, rmapbt: 0x2, reflink: 0x4, inobtcount: 0x8 } as const;
/** sb_features_incompat (XFS_SB_FEAT_INCOMPAT_*). */
export const FEAT_INCOMPAT = {
  ftype: 0x1, spinodes: 0x2, meta_uuid: 0x4, bigtime: 0x8, needsrepair: 0x10, nrext64: 0x20,
  exchrange: 0x40, parent: 0x80, metadir: 0x100,
} as const;
/** sb_features_log_incompat (XFS_SB_FEAT_INCOMPAT_LOG_*): only log recovery cares. */
export const FEAT_LOG_INCOMPAT = { xattrs: 0x1 } as const;

/**
 * INCOMPAT features a reader of paths and data can follow. ftype, bigtime and
 * nrext64 change what is read and are handled; the rest change allocation,
 * metadata placement or write-side rules only. metadir moves the realtime and
 * quota inodes, not the root directory.
 */
const READABLE_INCOMPAT = Object.values(FEAT_INCOMPAT).reduce((a, b) => a | b, 0);

/** `struct xfs_dsb` fields the reader uses ("XFS Algorithms & Data Structures", "Superblocks"), plus derived values. */
export interface XfsSuperblock {
  sb_blocksize: number;
  sb_dblocks: number;
  sb_uuid: string;
  sb_logstart: number;
  sb_rootino: number;
  sb_agblocks: number;
  sb_agcount: number;
  sb_logblocks: number;
  sb_versionnum: number;
  sb_sectsize: number;
  sb_inodesize: number;
  sb_inopblock: number;
  sb_fname: string;
  sb_blocklog: number;
  sb_inodelog: number;
  sb_inopblog: number;
  sb_agblklog: number;
  sb_inprogress: number;
  sb_dirblklog: number;
  sb_logsectsize: number;
  sb_features2: number;
  sb_features_compat: number;
  sb_features_ro_compat: number;
  sb_features_incompat: number;
  sb_features_log_incompat: number;
  /** sb_versionnum & 0xf: 4 or 5. */
  version: 4 | 5;
  /** v5: metadata CRCs (XFS_SB_VERSION_5 implies them). */
  hasCrc: boolean;
  /** Directory entries carry a file type (v5 incompat ftype, or v4 features2 ftype). */
  hasFtype: boolean;
  /** Directory block size: sb_blocksize << sb_dirblklog. */
  dirBlockSize: number;
}

export function featureNames(bits: number, table: { readonly [name: string]: number }): string[] {
  const names: string[] = [];
  let known = 0;
  for (const [name, bit] of Object.entries(table)) {
    known |= bit;
    if ((bits & bit) !== 0) names.push(name);
  }
  for (let i = 0; i < 32; i++) {
    if (((bits >>> i) & 1) === 1 && ((known >>> i) & 1) === 0) names.push(`unknown(0x${(2 ** i).toString(16)})`);
  }
  return names;
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const log2 = (n: number): number => Math.log2(n);

/** Parses and checks the superblock as xfs_validate_sb_common does before the kernel trusts it. */
export function parseSuperblock(bytes: Uint8Array): XfsSuperblock {
  const f = new BeFields(bytes, 'xfs superblock', 0);
  const magic = f.u32(0);
  if (magic !== XFS_SB_MAGIC) f.fail(0, `bad magic 0x${magic.toString(16)} (expected 0x58465342 "XFSB"): not an xfs filesystem`);
  const sb_versionnum = f.u16(100);
  const v = sb_versionnum & 0xf;
  if (v !== 4 && v !== 5) throw new UnsupportedError(`xfs superblock version ${v} is not 4 or 5`);
  const version = v as 4 | 5;
  const sb_features2 = (sb_versionnum & VERSION_BITS.morebits) !== 0 ? f.u32(200) : 0;
  if (version === 4 && (sb_versionnum & VERSION_BITS.dirv2) === 0) {
    throw new UnsupportedError('xfs v4 filesystem with version 1 directories (no DIRV2 bit): Linux dropped them in 3.x and this reader does not read them');
  }
  const sb_blocksize = f.u32(4);
  const sb_blocklog = f.u8(120);
  if (!isPow2(sb_blocksize) || sb_blocksize < 512 || sb_blocksize > 65536 || log2(sb_blocksize) !== sb_blocklog) {
    f.fail(4, `sb_blocksize ${sb_blocksize} (sb_blocklog ${sb_blocklog}) is not a power of two between 512 and 64 KiB`);
  }
  const sb_sectsize = f.u16(102);
  if (!isPow2(sb_sectsize) || sb_sectsize < 512 || sb_sectsize > 32768 || log2(sb_sectsize) !== f.u8(121) || sb_sectsize > sb_blocksize) {
    f.fail(102, `sb_sectsize ${sb_sectsize} is not a power of two between 512 and 32 KiB, at most the block size`);
  }
  const sb_inodesize = f.u16(104);
  const sb_inodelog = f.u8(122);
  const minInode = version === 5 ? 512 : 256;
  if (!isPow2(sb_inodesize) || sb_inodesize < minInode || sb_inodesize > 2048 || log2(sb_inodesize) !== sb_inodelog || sb_inodesize > sb_blocksize) {
    f.fail(104, `sb_inodesize ${sb_inodesize} is not a power of two between ${minInode} and 2048, at most the block size`);
  }
  const sb_inopblock = f.u16(106);
  const sb_inopblog = f.u8(123);
  if (sb_inopblock !== sb_blocksize / sb_inodesize || log2(sb_inopblock) !== sb_inopblog) {
    f.fail(106, `sb_inopblock ${sb_inopblock} (sb_inopblog ${sb_inopblog}) is not the block size over the inode size`);
  }
  const sb_agblocks = f.u32(84);
  const sb_agblklog = f.u8(124);
  if (sb_agblocks < 1 || sb_agblklog !== Math.ceil(log2(sb_agblocks)) || sb_agblklog > 31) {
    f.fail(84, `sb_agblocks ${sb_agblocks} does not match sb_agblklog ${sb_agblklog}`);
  }
  const sb_agcount = f.u32(88);
  const sb_dblocks = f.u64(8, 'sb_dblocks');
  if (sb_agcount < 1 || sb_dblocks > sb_agcount * sb_agblocks || sb_dblocks <= (sb_agcount - 1) * sb_agblocks) {
    f.fail(8, `sb_dblocks ${sb_dblocks} does not fit ${sb_agcount} AGs of ${sb_agblocks} blocks`);
  }
  if (!Number.isSafeInteger(sb_dblocks * sb_blocksize)) f.fail(8, `sb_dblocks ${sb_dblocks} × ${sb_blocksize} exceeds 2^53 bytes`);
  // agblklog + inopblog bits of agino, plus the AG number, must fit the 53 bits we can count in.
  if (sb_agblklog + sb_inopblog + Math.ceil(log2(sb_agcount + 1)) > 53) f.fail(124, 'inode numbers of this geometry exceed 2^53');
  const sb_dirblklog = f.u8(192);
  if (sb_blocksize * 2 ** sb_dirblklog > 65536) f.fail(192, `sb_dirblklog ${sb_dirblklog} makes directory blocks larger than 64 KiB`);
  const sb_features_incompat = version === 5 ? f.u32(216) : 0;
  const hasFtype = version === 5 ? (sb_features_incompat & FEAT_INCOMPAT.ftype) !== 0 : (sb_features2 & FEATURES2.ftype) !== 0;
  return {
    sb_blocksize,
    sb_dblocks,
    sb_uuid: uuidHex(f.slice(32, 16)),
    sb_logstart: f.u64(48, 'sb_logstart'),
    sb_rootino: f.u64(56, 'sb_rootino'),
    sb_agblocks,
    sb_agcount,
    sb_logblocks: f.u32(96),
    sb_versionnum,
    sb_sectsize,
    sb_inodesize,
    sb_inopblock,
    sb_fname: new TextDecoder('utf-8', { fatal: false }).decode(f.slice(108, 12)).replace(/\0.*$/s, ''),
    sb_blocklog,
    sb_inodelog,
    sb_inopblog,
    sb_agblklog,
    sb_inprogress: f.u8(126),
    sb_dirblklog,
    sb_logsectsize: f.u16(194),
    sb_features2,
    sb_features_compat: version === 5 ? f.u32(208) : 0,
    sb_features_ro_compat: version === 5 ? f.u32(212) : 0,
    sb_features_incompat,
    sb_features_log_incompat: version === 5 ? f.u32(220) : 0,
    version,
    hasCrc: version === 5,
    hasFtype,
    dirBlockSize: sb_blocksize * 2 ** sb_dirblklog,
  };
}

/** Refuses INCOMPAT features we would misread, by name (ro_compat ones do not matter to a reader). */
export function checkReadable(sb: XfsSuperblock): void {
  const refused = sb.sb_features_incompat & ~READABLE_INCOMPAT;
  if (refused !== 0) {
    throw new UnsupportedError(
      `xfs filesystem uses incompatible feature(s) ${featureNames(refused, FEAT_INCOMPAT).join(', ')} that this reader does not know`,
      'xfs_info shows the feature set',
    );
  }
  if (sb.sb_inprogress !== 0) throw new ParseError('xfs superblock', 126, 'sb_inprogress is set: mkfs never finished');
}

/** Reads the primary superblock (sector 0 of AG 0) and, on v5, checks its CRC into `crc`. */
export function readSuperblock(src: ByteSource, crc: CrcTally): XfsSuperblock {
  if (src.size < 512) throw new ParseError('xfs superblock', 0, `${src.name} is only ${src.size} bytes, too small for an xfs superblock`);
  const head = src.read(0, 512);
  if (head.length < SB_PARSED) throw new ParseError('xfs superblock', 0, 'short superblock');
  const sb = parseSuperblock(head);
  if (sb.hasCrc) {
    if (src.size < sb.sb_sectsize) throw new ParseError('xfs superblock', 0, `${src.name} is smaller than one ${sb.sb_sectsize}-byte sector`);
    crc.verify(src.read(0, sb.sb_sectsize), XFS_SB_CRC_OFF, 'superblock', 0);
  }
  return sb;
}
