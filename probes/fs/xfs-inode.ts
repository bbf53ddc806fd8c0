import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { BeFields, type CrcTally } from './xfs-bytes.js';
import type { XfsSuperblock } from './xfs-superblock.js';

/** di_magic: "IN" (xfs_format.h XFS_DINODE_MAGIC). */
export const XFS_DINODE_MAGIC = 0x494e;
/** di_crc's offset in a v3 inode (xfs_format.h XFS_DINODE_CRC_OFF). */
export const XFS_DINODE_CRC_OFF = 100;
/** The core before the data fork: struct xfs_dinode up to di_crc (v1/v2), or the whole v3 core. */
export const DINODE_CORE_V2 = 100;
export const DINODE_CORE_V3 = 176;

/** di_format / di_aformat values (xfs_format.h enum xfs_dinode_fmt). */
export const XFS_DINODE_FMT_DEV = 0;
export const XFS_DINODE_FMT_LOCAL = 1;
export const XFS_DINODE_FMT_EXTENTS = 2;
export const XFS_DINODE_FMT_BTREE = 3;
export const XFS_DINODE_FMT_UUID = 4;

/** di_flags2 bits the reader acts on (XFS_DIFLAG2_*). */
export const XFS_DIFLAG2_BIGTIME = 1 << 3;
export const XFS_DIFLAG2_NREXT64 = 1 << 4;
/** di_flags: data lives on the realtime device, which a partition image does not include. */
export const XFS_DIFLAG_REALTIME = 1 << 0;

/** Bigtime timestamps count nanoseconds from this many seconds before the epoch (xfs_format.h XFS_BIGTIME_EPOCH_OFFSET). */
const XFS_BIGTIME_EPOCH_OFFSET = 2 ** 31;

/** `struct xfs_dinode` fields the reader uses ("XFS Algorithms & Data Structures", "On-disk Inode"). */
export interface XfsInode {
  ino: number;
  /** Absolute byte offset of the inode record. */
  offset: number;
  di_mode: number;
  di_version: number;
  di_format: number;
  di_uid: number;
  di_gid: number;
  /** di_nlink (v2/v3) or di_onlink (v1). */
  di_nlink: number;
  /** Seconds since the epoch (bigtime decoded). */
  di_mtime: number;
  di_size: number;
  di_nblocks: number;
  /** Data fork extent count: di_nextents, or di_big_nextents with nrext64. */
  di_nextents: number;
  di_forkoff: number;
  di_flags: number;
  di_flags2: number;
  /** The data fork's bytes in the inode's literal area. */
  dataFork: Uint8Array;
  /** Absolute offset of dataFork[0]. */
  dataForkOffset: number;
}

/** Where an inode number points (xfs_format.h XFS_INO_TO_AGNO / XFS_INO_TO_AGBNO / XFS_INO_TO_OFFSET). */
export function inodeOffset(sb: XfsSuperblock, ino: number): number {
  if (!Number.isSafeInteger(ino) || ino < 1) throw new ParseError('xfs inode', -1, `inode number ${ino} is invalid`);
  const agShift = 2 ** (sb.sb_agblklog + sb.sb_inopblog);
  const agno = Math.floor(ino / agShift);
  const agino = ino % agShift;
  const agbno = Math.floor(agino / sb.sb_inopblock);
  const index = agino % sb.sb_inopblock;
  if (agno >= sb.sb_agcount || agbno >= sb.sb_agblocks || agno * sb.sb_agblocks + agbno >= sb.sb_dblocks) {
    throw new ParseError('xfs inode', -1, `inode number ${ino} (AG ${agno}, block ${agbno}) lies outside the filesystem`);
  }
  return (agno * sb.sb_agblocks + agbno) * sb.sb_blocksize + index * sb.sb_inodesize;
}

/** Parses one on-disk inode, checking magic, version, the v3 CRC and self-identification (di_ino). */
export function parseInode(bytes: Uint8Array, ino: number, offset: number, sb: XfsSuperblock, crc: CrcTally): XfsInode {
  const f = new BeFields(bytes, `xfs inode ${ino}`, offset);
  const magic = f.u16(0);
  if (magic !== XFS_DINODE_MAGIC) f.fail(0, `bad inode magic 0x${magic.toString(16)} (expected 0x494e "IN")`);
  const di_version = f.u8(4);
  if (sb.hasCrc ? di_version !== 3 : di_version !== 1 && di_version !== 2) {
    f.fail(4, `di_version ${di_version} on a v${sb.version} filesystem`);
  }
  let core = DINODE_CORE_V2;
  if (di_version === 3) {
    core = DINODE_CORE_V3;
    crc.verify(bytes, XFS_DINODE_CRC_OFF, `inode ${ino}`, offset);
    const di_ino = f.u64(152, 'di_ino');
    if (di_ino !== ino) f.fail(152, `di_ino ${di_ino} is not the inode number ${ino} it was read as`);
  }
  const di_flags2 = di_version === 3 ? f.u32(124) : 0; // low half of __be64 di_flags2 at 120
  const bigtime = (di_flags2 & XFS_DIFLAG2_BIGTIME) !== 0;
  let di_mtime: number;
  if (bigtime) {
    const ns = BigInt(f.u32(40)) * 0x100000000n + BigInt(f.u32(44));
    di_mtime = Number(ns / 1_000_000_000n) - XFS_BIGTIME_EPOCH_OFFSET;
  } else {
    di_mtime = f.u32(40) | 0; // t_sec is signed 32-bit
  }
  const di_forkoff = f.u8(82);
  const literal = bytes.length - core;
  const dataForkSize = di_forkoff === 0 ? literal : di_forkoff * 8;
  if (dataForkSize > literal) f.fail(82, `di_forkoff ${di_forkoff} puts the attribute fork outside the ${bytes.length}-byte inode`);
  const nrext64 = (di_flags2 & XFS_DIFLAG2_NREXT64) !== 0;
  const di_size = f.u64(56, 'di_size');
  return {
    ino,
    offset,
    di_mode: f.u16(2),
    di_version,
    di_format: f.u8(5),
    di_uid: f.u32(8),
    di_gid: f.u32(12),
    di_nlink: di_version === 1 ? f.u16(6) : f.u32(16),
    di_mtime,
    di_size,
    di_nblocks: f.u64(64, 'di_nblocks'),
    di_nextents: nrext64 ? f.u64(24, 'di_big_nextents') : f.u32(76),
    di_forkoff,
    di_flags: f.u16(90),
    di_flags2,
    dataFork: f.slice(core, dataForkSize),
    dataForkOffset: offset + core,
  };
}

/** Reads inode `ino` from its inode cluster. */
export function readInode(src: ByteSource, sb: XfsSuperblock, ino: number, crc: CrcTally): XfsInode {
  const offset = inodeOffset(sb, ino);
  return parseInode(src.read(offset, sb.sb_inodesize), ino, offset, sb, crc);
}
