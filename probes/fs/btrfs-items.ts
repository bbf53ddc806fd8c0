import { ParseError } from '../../bytes/errors.js';
import { type BtrfsBytes, type BtrfsKey, KEY_SIZE, readKey } from './btrfs-bytes.js';

/** Item key types (btrfs_tree.h BTRFS_*_KEY). */
export const BTRFS_INODE_ITEM_KEY = 1;
export const BTRFS_DIR_ITEM_KEY = 84;
export const BTRFS_DIR_INDEX_KEY = 96;
export const BTRFS_EXTENT_DATA_KEY = 108;
export const BTRFS_ROOT_ITEM_KEY = 132;
export const BTRFS_ROOT_BACKREF_KEY = 144;
export const BTRFS_ROOT_REF_KEY = 156;

/** Well-known objectids (btrfs_tree.h). */
export const BTRFS_ROOT_TREE_OBJECTID = 1n;
export const BTRFS_CHUNK_TREE_OBJECTID = 3n;
export const BTRFS_FS_TREE_OBJECTID = 5n;
export const BTRFS_ROOT_TREE_DIR_OBJECTID = 6n;
export const BTRFS_FIRST_FREE_OBJECTID = 256n;
export const BTRFS_FIRST_CHUNK_TREE_OBJECTID = 256n;
export const BTRFS_LAST_FREE_OBJECTID = 0xffffffffffffff00n;

/** btrfs_dir_item type (BTRFS_FT_*), the same numbering as ext4's file_type. */
export const BTRFS_FT_REG_FILE = 1;
export const BTRFS_FT_DIR = 2;
export const BTRFS_FT_CHRDEV = 3;
export const BTRFS_FT_BLKDEV = 4;
export const BTRFS_FT_FIFO = 5;
export const BTRFS_FT_SOCK = 6;
export const BTRFS_FT_SYMLINK = 7;

/** struct btrfs_inode_item, 160 bytes (btrfs_tree.h; docs "On-disk Format", "INODE_ITEM"). */
export interface BtrfsInodeItem {
  size: number;
  nbytes: number;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  flags: bigint;
  /** mtime.sec */
  mtime: number;
}
export const INODE_ITEM_SIZE = 160;

export function parseInodeItem(r: BtrfsBytes): BtrfsInodeItem {
  if (r.b.length < INODE_ITEM_SIZE) throw new ParseError(r.structure, r.base, `INODE_ITEM of ${r.b.length} bytes is shorter than ${INODE_ITEM_SIZE}`);
  const sec = r.u64big(136);
  return {
    size: r.u64(16, 'inode size'),
    nbytes: r.u64(24, 'inode nbytes'),
    nlink: r.u32(40),
    uid: r.u32(44),
    gid: r.u32(48),
    mode: r.u32(52),
    flags: r.u64big(64),
    mtime: Number(BigInt.asIntN(64, sec)),
  };
}

/** struct btrfs_dir_item + name (btrfs_tree.h; docs "On-disk Format", "DIR_ITEM"); several may share one item. */
export interface BtrfsDirItem {
  /** Where the entry points: (inode, INODE_ITEM, 0), or (subvolume id, ROOT_ITEM, -1) for a subvolume. */
  location: BtrfsKey;
  type: number;
  name: Uint8Array;
}
const DIR_ITEM_SIZE = KEY_SIZE + 8 + 2 + 2 + 1;
/** BTRFS_NAME_LEN */
export const BTRFS_NAME_LEN = 255;

export function parseDirItems(r: BtrfsBytes): BtrfsDirItem[] {
  const out: BtrfsDirItem[] = [];
  let o = 0;
  while (o < r.b.length) {
    const location = readKey(r, o);
    const data_len = r.u16(o + KEY_SIZE + 8);
    const name_len = r.u16(o + KEY_SIZE + 10);
    const type = r.u8(o + KEY_SIZE + 12);
    if (name_len === 0 || name_len > BTRFS_NAME_LEN) throw new ParseError(r.structure, r.base + o, `dir item name_len ${name_len}`);
    const name = r.bytes(o + DIR_ITEM_SIZE, name_len);
    r.bytes(o + DIR_ITEM_SIZE + name_len, data_len);
    out.push({ location, type, name });
    o += DIR_ITEM_SIZE + name_len + data_len;
  }
  return out;
}

/** btrfs_file_extent_item.type (BTRFS_FILE_EXTENT_*). */
export const BTRFS_FILE_EXTENT_INLINE = 0;
export const BTRFS_FILE_EXTENT_REG = 1;
export const BTRFS_FILE_EXTENT_PREALLOC = 2;
/** btrfs_file_extent_item.compression (BTRFS_COMPRESS_*). */
export const BTRFS_COMPRESS_NONE = 0;
export const BTRFS_COMPRESS_ZLIB = 1;
export const BTRFS_COMPRESS_LZO = 2;
export const BTRFS_COMPRESS_ZSTD = 3;

/** struct btrfs_file_extent_item (btrfs_tree.h; docs "On-disk Format", "EXTENT_DATA"). */
export type BtrfsFileExtent =
  | { type: 'inline'; ram_bytes: number; compression: number; data: Uint8Array }
  | {
      type: 'regular' | 'prealloc';
      ram_bytes: number;
      compression: number;
      /** 0: a hole. */
      disk_bytenr: number;
      disk_num_bytes: number;
      /** Where in the (decompressed) extent this file range starts. */
      offset: number;
      num_bytes: number;
    };
/** Fixed part up to and including `type`; inline data follows it. */
const FILE_EXTENT_INLINE_DATA = 21;
const FILE_EXTENT_SIZE = 53;

export function parseFileExtent(r: BtrfsBytes): BtrfsFileExtent {
  const ram_bytes = r.u64(8, 'ram_bytes');
  const compression = r.u8(16);
  const encryption = r.u8(17);
  const other_encoding = r.u16(18);
  const type = r.u8(20);
  if (encryption !== 0 || other_encoding !== 0) throw new ParseError(r.structure, r.base, `encryption ${encryption} / other_encoding ${other_encoding} are reserved and must be 0`);
  if (compression > BTRFS_COMPRESS_ZSTD) throw new ParseError(r.structure, r.base + 16, `unknown compression ${compression}`);
  if (type === BTRFS_FILE_EXTENT_INLINE) return { type: 'inline', ram_bytes, compression, data: r.b.subarray(FILE_EXTENT_INLINE_DATA) };
  if (type !== BTRFS_FILE_EXTENT_REG && type !== BTRFS_FILE_EXTENT_PREALLOC) throw new ParseError(r.structure, r.base + 20, `unknown extent type ${type}`);
  if (r.b.length < FILE_EXTENT_SIZE) throw new ParseError(r.structure, r.base, `EXTENT_DATA of ${r.b.length} bytes is shorter than ${FILE_EXTENT_SIZE}`);
  return {
    type: type === BTRFS_FILE_EXTENT_REG ? 'regular' : 'prealloc',
    ram_bytes,
    compression,
    disk_bytenr: r.u64(21, 'disk_bytenr'),
    disk_num_bytes: r.u64(29, 'disk_num_bytes'),
    offset: r.u64(37, 'extent offset'),
    num_bytes: r.u64(45, 'num_bytes'),
  };
}

/** struct btrfs_root_item (btrfs_tree.h; docs "On-disk Format", "ROOT_ITEM"): where a tree's root node is. */
export interface BtrfsRootItem {
  bytenr: number;
  level: number;
  root_dirid: bigint;
}
/** The root item starts with an embedded btrfs_inode_item. */
export function parseRootItem(r: BtrfsBytes): BtrfsRootItem {
  return { root_dirid: r.u64big(INODE_ITEM_SIZE + 8), bytenr: r.u64(INODE_ITEM_SIZE + 16, 'root bytenr'), level: r.u8(INODE_ITEM_SIZE + 78) };
}

/** struct btrfs_root_ref + name (btrfs_tree.h; docs "On-disk Format", "ROOT_REF"): a subvolume's name in its parent. */
export interface BtrfsRootRef {
  dirid: bigint;
  name: string;
}
export function parseRootRef(r: BtrfsBytes): BtrfsRootRef {
  const name_len = r.u16(16);
  return { dirid: r.u64big(0), name: Buffer.from(r.bytes(18, name_len)).toString('utf8') };
}
