import { BeFields, type CrcTally } from './xfs-bytes.js';

/** ftype values in directory entries (xfs_da_format.h XFS_DIR3_FT_*). */
export const XFS_DIR3_FT_UNKNOWN = 0;
export const XFS_DIR3_FT_REG_FILE = 1;
export const XFS_DIR3_FT_DIR = 2;
export const XFS_DIR3_FT_CHRDEV = 3;
export const XFS_DIR3_FT_BLKDEV = 4;
export const XFS_DIR3_FT_FIFO = 5;
export const XFS_DIR3_FT_SOCK = 6;
export const XFS_DIR3_FT_SYMLINK = 7;

/** Data block magics (xfs_da_format.h): single-block directories end with a leaf and a tail, data blocks do not. */
export const XFS_DIR2_BLOCK_MAGIC = 0x58443242; // "XD2B"
export const XFS_DIR2_DATA_MAGIC = 0x58443244; // "XD2D"
export const XFS_DIR3_BLOCK_MAGIC = 0x58444233; // "XDB3"
export const XFS_DIR3_DATA_MAGIC = 0x58444433; // "XDD3"
/** da_blkinfo magics of the blocks at XFS_DIR2_LEAF_OFFSET: a leaf (leaf directory) or a da node / leafn (node directory). */
export const XFS_DIR2_LEAF1_MAGIC = 0xd2f1;
export const XFS_DIR2_LEAFN_MAGIC = 0xd2ff;
export const XFS_DA_NODE_MAGIC = 0xfebe;
export const XFS_DIR3_LEAF1_MAGIC = 0x3df1;
export const XFS_DIR3_LEAFN_MAGIC = 0x3dff;
export const XFS_DA3_NODE_MAGIC = 0x3ebe;
/** Directory address space: data blocks below 32 GiB, then the leaf/node blocks, then the free index (XFS_DIR2_LEAF_OFFSET). */
export const XFS_DIR2_LEAF_OFFSET = 2 ** 35;
/** struct xfs_dir2_data_hdr (v4) and xfs_dir3_data_hdr (v5) sizes; the v5 CRC follows the magic. */
const DATA_HDR_V4 = 16;
const DATA_HDR_V5 = 64;
const DIR3_CRC_OFF = 4;
/** xfs_dir2_block_tail: count, stale. */
const BLOCK_TAIL = 8;
/** xfs_dir2_data_unused.freetag. */
const XFS_DIR2_DATA_FREE_TAG = 0xffff;

/** One live directory entry: from a short-form directory or a data block. */
export interface XfsDirEntry {
  ino: number;
  /** Raw name bytes: xfs names are bytes, usually but not necessarily UTF-8. */
  name: Uint8Array;
  /** XFS_DIR3_FT_*, or XFS_DIR3_FT_UNKNOWN without the ftype feature. */
  ftype: number;
}

const DOT = new Uint8Array([0x2e]);
const DOTDOT = new Uint8Array([0x2e, 0x2e]);

function checkName(f: BeFields, off: number, name: Uint8Array, ino: number): void {
  // A '/' or NUL in a name would make paths ambiguous; xfs_dir2_namecheck refuses both.
  if (name.includes(0x2f) || name.includes(0)) f.fail(off, `entry for inode ${ino} has '/' or NUL in its name`);
}

/**
 * A short-form directory in the inode's data fork ("XFS Algorithms & Data
 * Structures", "Short Form Directories"): xfs_dir2_sf_hdr (count, i8count,
 * parent) then entries of namelen, offset, name, [ftype], inumber; inode
 * numbers are 8 bytes when i8count is non-zero, else 4. ".." is the parent
 * field, "." is implied: both are returned first, as ext4 stores them.
 */
export function parseShortform(fork: Uint8Array, di_size: number, hasFtype: boolean, self: number, structure: string, base: number): XfsDirEntry[] {
  const f = new BeFields(fork, structure, base);
  if (di_size > fork.length) f.fail(0, `short-form directory of ${di_size} bytes does not fit the ${fork.length}-byte data fork`);
  const bytes = fork.subarray(0, di_size);
  const g = new BeFields(bytes, structure, base);
  const count = g.u8(0);
  const i8count = g.u8(1);
  const inoSize = i8count > 0 ? 8 : 4;
  const readIno = (off: number): number => (inoSize === 8 ? g.u64(off, 'inumber') : g.u32(off));
  const parent = readIno(2);
  const out: XfsDirEntry[] = [
    { ino: self, name: DOT, ftype: XFS_DIR3_FT_DIR },
    { ino: parent, name: DOTDOT, ftype: XFS_DIR3_FT_DIR },
  ];
  let off = 2 + inoSize;
  for (let i = 0; i < count; i++) {
    const namelen = g.u8(off);
    if (namelen === 0) g.fail(off, 'entry with an empty name');
    const name = g.slice(off + 3, namelen);
    let p = off + 3 + namelen;
    const ftype = hasFtype ? g.u8(p++) : XFS_DIR3_FT_UNKNOWN;
    const ino = readIno(p);
    checkName(g, off + 3, name, ino);
    out.push({ ino, name, ftype });
    off = p + inoSize;
  }
  return out;
}

export interface DataBlockContext {
  hasCrc: boolean;
  hasFtype: boolean;
  crc: CrcTally;
  /** The directory's inode (v5 blocks name their owner). */
  owner: number;
  /** The daddr (512-byte sector) the block was read from, which a v5 block records. */
  daddr: number;
  structure: string;
  /** Absolute offset of bytes[0]. */
  base: number;
}

/**
 * The entries of one directory data block ("XFS Algorithms & Data
 * Structures", "Block Directories" and "Leaf Directories"): after the data
 * header, xfs_dir2_data_entry (inumber, namelen, name, [ftype], tag) and
 * xfs_dir2_data_unused (freetag 0xffff, length, tag) records, each 8-byte
 * aligned and tagged with its own offset; a single-block directory ends with
 * its hash leaf and xfs_dir2_block_tail, which are not entries. Leaf, node
 * and free-index blocks live above XFS_DIR2_LEAF_OFFSET and are never passed here.
 */
export function parseDataBlock(bytes: Uint8Array, ctx: DataBlockContext, out: XfsDirEntry[]): void {
  const f = new BeFields(bytes, ctx.structure, ctx.base);
  const magic = f.u32(0);
  const isBlock = magic === (ctx.hasCrc ? XFS_DIR3_BLOCK_MAGIC : XFS_DIR2_BLOCK_MAGIC);
  const isData = magic === (ctx.hasCrc ? XFS_DIR3_DATA_MAGIC : XFS_DIR2_DATA_MAGIC);
  if (!isBlock && !isData) f.fail(0, `bad directory data block magic 0x${magic.toString(16)}`);
  if (ctx.hasCrc) {
    ctx.crc.verify(bytes, DIR3_CRC_OFF, `${ctx.structure}`, ctx.base);
    const blkno = f.u64(8, 'blkno');
    if (blkno !== ctx.daddr) f.fail(8, `blkno ${blkno} is not where the block was read (daddr ${ctx.daddr})`);
    const owner = f.u64(40, 'owner');
    if (owner !== ctx.owner) f.fail(40, `owner ${owner} is not directory inode ${ctx.owner}`);
  }
  let end = bytes.length;
  if (isBlock) {
    const count = f.u32(bytes.length - BLOCK_TAIL);
    end = bytes.length - BLOCK_TAIL - count * 8;
    if (count > bytes.length / 8 || end < (ctx.hasCrc ? DATA_HDR_V5 : DATA_HDR_V4)) {
      f.fail(bytes.length - BLOCK_TAIL, `block tail count ${count} leaves no room for the data`);
    }
  }
  let off = ctx.hasCrc ? DATA_HDR_V5 : DATA_HDR_V4;
  while (off < end) {
    if (off + 8 > end) f.fail(off, 'directory record runs past the data area');
    if (f.u16(off) === XFS_DIR2_DATA_FREE_TAG) {
      const length = f.u16(off + 2);
      if (length < 8 || length % 8 !== 0 || off + length > end) f.fail(off + 2, `unused record of length ${length} is not 8-aligned inside the data area`);
      if (f.u16(off + length - 2) !== off) f.fail(off + length - 2, `unused record's tag ${f.u16(off + length - 2)} is not its offset ${off}`);
      off += length;
      continue;
    }
    const ino = f.u64(off, 'inumber');
    const namelen = f.u8(off + 8);
    if (namelen === 0) f.fail(off + 8, `entry for inode ${ino} has an empty name`);
    const size = Math.ceil((8 + 1 + namelen + (ctx.hasFtype ? 1 : 0) + 2) / 8) * 8;
    if (off + size > end) f.fail(off, `entry of ${size} bytes runs past the data area`);
    const name = f.slice(off + 9, namelen);
    checkName(f, off + 9, name, ino);
    const ftype = ctx.hasFtype ? f.u8(off + 9 + namelen) : XFS_DIR3_FT_UNKNOWN;
    if (f.u16(off + size - 2) !== off) f.fail(off + size - 2, `entry's tag ${f.u16(off + size - 2)} is not its offset ${off}`);
    out.push({ ino, name, ftype });
    off += size;
  }
}

/** The da_blkinfo magic of a leaf/node block (at +8, after forw and back): tells a leaf directory from a node one. */
export function leafBlockMagic(bytes: Uint8Array, structure: string, base: number): number {
  return new BeFields(bytes, structure, base).u16(8);
}
