import { BeFields, type CrcTally } from './xfs-bytes.js';

/** sl_magic of a remote symlink block: "XSLM" (xfs_format.h XFS_SYMLINK_MAGIC). */
export const XFS_SYMLINK_MAGIC = 0x58534c4d;
/** struct xfs_dsymlink_hdr: magic, offset, bytes, crc, uuid, owner, blkno, lsn. */
export const XFS_SYMLINK_HDR = 56;
const XFS_SYMLINK_CRC_OFF = 12;
/** A symlink target is at most this long (xfs_format.h XFS_SYMLINK_MAXLEN). */
export const XFS_SYMLINK_MAXLEN = 1024;

export interface SymlinkChunkContext {
  crc: CrcTally;
  owner: number;
  /** The daddr the buffer was read from, which the header records. */
  daddr: number;
  /** Target bytes already read before this buffer (sl_offset must match). */
  offset: number;
  /** Target bytes still to come, at most what this buffer can hold. */
  want: number;
  structure: string;
  base: number;
}

/**
 * The part of a remote symlink's target in one mapped buffer ("XFS
 * Algorithms & Data Structures", "Extent Symbolic Links"): on v5 the buffer
 * starts with xfs_dsymlink_hdr, whose CRC covers the whole buffer and whose
 * owner, offset and byte count are checked, as xfs_symlink_hdr_ok does.
 */
export function symlinkChunk(bytes: Uint8Array, hasCrc: boolean, ctx: SymlinkChunkContext): Uint8Array {
  const f = new BeFields(bytes, ctx.structure, ctx.base);
  if (!hasCrc) return f.slice(0, Math.min(ctx.want, bytes.length));
  const magic = f.u32(0);
  if (magic !== XFS_SYMLINK_MAGIC) f.fail(0, `bad symlink block magic 0x${magic.toString(16)} (expected 0x58534c4d "XSLM")`);
  ctx.crc.verify(bytes, XFS_SYMLINK_CRC_OFF, ctx.structure, ctx.base);
  const sl_offset = f.u32(4);
  const sl_bytes = f.u32(8);
  const sl_owner = f.u64(32, 'sl_owner');
  const sl_blkno = f.u64(40, 'sl_blkno');
  if (sl_offset !== ctx.offset) f.fail(4, `sl_offset ${sl_offset} where ${ctx.offset} bytes were read so far`);
  if (sl_bytes === 0 || sl_bytes > bytes.length - XFS_SYMLINK_HDR || sl_bytes > ctx.want) f.fail(8, `sl_bytes ${sl_bytes} does not fit (buffer holds ${bytes.length - XFS_SYMLINK_HDR}, ${ctx.want} wanted)`);
  if (sl_owner !== ctx.owner) f.fail(32, `sl_owner ${sl_owner} is not symlink inode ${ctx.owner}`);
  if (sl_blkno !== ctx.daddr) f.fail(40, `sl_blkno ${sl_blkno} is not where the block was read (daddr ${ctx.daddr})`);
  return f.slice(XFS_SYMLINK_HDR, sl_bytes);
}
