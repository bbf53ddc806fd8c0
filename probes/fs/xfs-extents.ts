import { type BlockReader, pushRun, type Run } from './ext4-block-io.js';
import { BeFields, type CrcTally } from './xfs-bytes.js';
import { XFS_DINODE_FMT_BTREE, XFS_DINODE_FMT_EXTENTS, type XfsInode } from './xfs-inode.js';
import type { XfsSuperblock } from './xfs-superblock.js';

/** bmbt block magics: "BMAP" (v4) and "BMA3" (v5, with the CRC header) (xfs_format.h XFS_BMAP_MAGIC, XFS_BMAP_CRC_MAGIC). */
export const XFS_BMAP_MAGIC = 0x424d4150;
export const XFS_BMAP_CRC_MAGIC = 0x424d4133;
/** Long-format btree block header sizes (XFS_BTREE_LBLOCK_LEN, XFS_BTREE_LBLOCK_CRC_LEN) and the CRC's place (XFS_BTREE_LBLOCK_CRC_OFF). */
const LBLOCK_LEN = 24;
const LBLOCK_CRC_LEN = 72;
const LBLOCK_CRC_OFF = 64;
/** sizeof(xfs_bmbt_rec_t); a key (startoff) plus a pointer (fsblock) is also 16. */
const REC = 16;
/** xfs_bmdr_block_t in the inode: bb_level, bb_numrecs. */
const BMDR_LEN = 4;
/** XFS_BM_MAXLEVELS for 64-bit extent counts is 9 or so; deeper is damage. */
const MAX_LEVELS = 10;
/** Caps on one inode's mapping, so no crafted tree makes us read or keep forever. */
export const MAX_EXTENTS = 1 << 20;
const MAX_NODES = 1 << 16;

/** One `xfs_bmbt_irec` decoded from its packed 128 bits ("XFS Algorithms & Data Structures", "Data Extents"). */
export interface XfsExtent {
  br_startoff: number;
  /** A filesystem block number: AG number in the high bits, AG block in the low sb_agblklog bits. */
  br_startblock: number;
  br_blockcount: number;
  /** XFS_EXT_UNWRITTEN: allocated, never written, reads as zeros. */
  unwritten: boolean;
}

/** Unpacks one xfs_bmbt_rec: flag:1, startoff:54, startblock:52, blockcount:21, big-endian. */
export function unpackExtent(f: BeFields, off: number): XfsExtent {
  const w0 = f.u32(off);
  const w1 = f.u32(off + 4);
  const w2 = f.u32(off + 8);
  const w3 = f.u32(off + 12);
  return {
    unwritten: w0 >= 0x80000000,
    br_startoff: (w0 & 0x7fffffff) * 2 ** 23 + Math.floor(w1 / 512),
    br_startblock: (w1 & 0x1ff) * 2 ** 43 + w2 * 2 ** 11 + Math.floor(w3 / 2 ** 21),
    br_blockcount: w3 & 0x1fffff,
  };
}

/** XFS_FSB_TO_DADDR in blocks: an fsblock as a linear block of the partition, or undefined when its AG part is out of range. */
export function fsbToLinear(sb: XfsSuperblock, fsb: number): number | undefined {
  const agShift = 2 ** sb.sb_agblklog;
  const agno = Math.floor(fsb / agShift);
  const agbno = fsb % agShift;
  if (agno >= sb.sb_agcount || agbno >= sb.sb_agblocks) return undefined;
  return agno * sb.sb_agblocks + agbno;
}

export interface ForkContext {
  sb: XfsSuperblock;
  io: BlockReader;
  crc: CrcTally;
}

/**
 * Every extent of an inode's data fork as runs of linear blocks, in file
 * order: the list in the inode (extents format) or the leaves of the bmap
 * btree rooted there (btree format), each node's magic, level, record count,
 * CRC, owner and self block number checked, and every extent sorted, not
 * overlapping and inside its AG and the filesystem.
 */
export function dataForkRuns(ctx: ForkContext, inode: XfsInode): Run[] {
  const what = `xfs inode ${inode.ino} data fork`;
  const extents: XfsExtent[] = [];
  const root: BeFields = new BeFields(inode.dataFork, what, inode.dataForkOffset);
  if (inode.di_format === XFS_DINODE_FMT_EXTENTS) {
    if (inode.di_nextents * REC > inode.dataFork.length) {
      root.fail(0, `di_nextents ${inode.di_nextents} extents do not fit in the ${inode.dataFork.length}-byte data fork`);
    }
    for (let i = 0; i < inode.di_nextents; i++) extents.push(unpackExtent(root, i * REC));
  } else if (inode.di_format === XFS_DINODE_FMT_BTREE) {
    bmbtExtents(ctx, inode, root, extents);
  } else {
    root.fail(0, `di_format ${inode.di_format} has no extents to map`);
  }
  const runs: Run[] = [];
  let prevEnd = 0;
  for (const e of extents) {
    if (e.br_blockcount === 0) root.fail(0, `extent at file block ${e.br_startoff} has length 0`);
    if (e.br_startoff < prevEnd) root.fail(0, `extent at file block ${e.br_startoff} overlaps or precedes the previous one (ending at ${prevEnd})`);
    prevEnd = e.br_startoff + e.br_blockcount;
    const start = fsbToLinear(ctx.sb, e.br_startblock);
    const agbno = e.br_startblock % 2 ** ctx.sb.sb_agblklog;
    if (start === undefined || agbno + e.br_blockcount > ctx.sb.sb_agblocks) {
      root.fail(0, `extent at file block ${e.br_startoff} → fsblock ${e.br_startblock}+${e.br_blockcount} lies outside its allocation group`);
    }
    const problem = ctx.io.blockRangeProblem(start, e.br_blockcount);
    if (problem) root.fail(0, `extent at file block ${e.br_startoff} → ${problem}`);
    pushRun(runs, { lblk: e.br_startoff, pblk: start, len: e.br_blockcount, uninit: e.unwritten });
  }
  return runs;
}

/** Collects the leaf records of the bmap btree whose root is the inode's data fork (xfs_bmdr_block + keys + ptrs). */
function bmbtExtents(ctx: ForkContext, inode: XfsInode, root: BeFields, out: XfsExtent[]): void {
  const { sb, io, crc } = ctx;
  const bs = sb.sb_blocksize;
  const hdr = sb.hasCrc ? LBLOCK_CRC_LEN : LBLOCK_LEN;
  const magic = sb.hasCrc ? XFS_BMAP_CRC_MAGIC : XFS_BMAP_MAGIC;
  const what = `xfs bmbt of inode ${inode.ino}`;
  let nodes = 0;

  const rootLevel = root.u16(0);
  const rootRecs = root.u16(2);
  // xfs_bmdr_maxrecs: pointers start after room for every key the root could hold.
  const rootMax = Math.floor((inode.dataFork.length - BMDR_LEN) / REC);
  if (rootLevel < 1 || rootLevel > MAX_LEVELS) root.fail(0, `bmbt root level ${rootLevel} is outside 1..${MAX_LEVELS}`);
  if (rootRecs < 1 || rootRecs > rootMax) root.fail(2, `bmbt root holds ${rootRecs} records, outside 1..${rootMax}`);

  const visit = (fsb: number, level: number): void => {
    if (++nodes > MAX_NODES) root.fail(0, `bmbt has more than ${MAX_NODES} blocks`);
    const blk = fsbToLinear(sb, fsb);
    if (blk === undefined) root.fail(0, `bmbt pointer ${fsb} lies outside every allocation group`);
    const bytes = io.block(blk, what);
    const f: BeFields = new BeFields(bytes, what, blk * bs);
    if (f.u32(0) !== magic) f.fail(0, `bad bmbt block magic 0x${f.u32(0).toString(16)} (expected 0x${magic.toString(16)})`);
    const bb_level = f.u16(4);
    const bb_numrecs = f.u16(6);
    if (bb_level !== level) f.fail(4, `bb_level ${bb_level} where the parent implies ${level}`);
    const maxrecs = Math.floor((bs - hdr) / REC);
    if (bb_numrecs < 1 || bb_numrecs > maxrecs) f.fail(6, `bb_numrecs ${bb_numrecs} is outside 1..${maxrecs}`);
    if (sb.hasCrc) {
      crc.verify(bytes, LBLOCK_CRC_OFF, `bmbt block of inode ${inode.ino}`, blk * bs);
      const bb_blkno = f.u64(24, 'bb_blkno');
      if (bb_blkno !== blk * (bs / 512)) f.fail(24, `bb_blkno ${bb_blkno} is not where the block was read (daddr ${blk * (bs / 512)})`);
      const bb_owner = f.u64(56, 'bb_owner');
      if (bb_owner !== inode.ino) f.fail(56, `bb_owner ${bb_owner} is not inode ${inode.ino}`);
    }
    if (level === 0) {
      for (let i = 0; i < bb_numrecs; i++) {
        out.push(unpackExtent(f, hdr + i * REC));
        if (out.length > MAX_EXTENTS) f.fail(hdr + i * REC, `more than ${MAX_EXTENTS} extents`);
      }
      return;
    }
    for (let i = 0; i < bb_numrecs; i++) visit(f.u64(hdr + maxrecs * 8 + i * 8, 'bmbt pointer'), level - 1);
  };
  for (let i = 0; i < rootRecs; i++) visit(root.u64(BMDR_LEN + rootMax * 8 + i * 8, 'bmbt root pointer'), rootLevel - 1);
}

/** The btree depth of a btree-format data fork (root level), 0 for an extent list: for reports and tests. */
export function dataForkLevels(inode: XfsInode): number {
  return inode.di_format === XFS_DINODE_FMT_BTREE ? new BeFields(inode.dataFork, `xfs inode ${inode.ino}`, inode.dataForkOffset).u16(0) : 0;
}
