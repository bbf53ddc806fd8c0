import { LeReader } from '../../bytes/le-reader.js';

/** file_type values of `struct ext4_dir_entry_2` (ext4 docs: directory.rst). */
export const EXT4_FT_UNKNOWN = 0;
export const EXT4_FT_REG_FILE = 1;
export const EXT4_FT_DIR = 2;
export const EXT4_FT_CHRDEV = 3;
export const EXT4_FT_BLKDEV = 4;
export const EXT4_FT_FIFO = 5;
export const EXT4_FT_SOCK = 6;
export const EXT4_FT_SYMLINK = 7;
/** The fake entry at a block's end holding the leaf checksum (metadata_csum: directory.rst "Linear Directories"). */
export const EXT4_FT_DIR_CSUM = 0xde;

/** Bytes before the name: inode(4) rec_len(2) name_len(1) file_type(1). */
const DIRENT_HEADER = 8;
/** EXT4_DIR_REC_LEN(name_len): header plus name, rounded up to 4. */
export function dirRecLen(nameLen: number): number {
  return (DIRENT_HEADER + nameLen + 3) & ~3;
}

/** rec_len as stored: 64 KiB blocks cannot hold 65536 in 16 bits, so it is encoded (e2fsprogs ext2fs_get_rec_len). */
export function recLenFromDisk(dlen: number, blockSize: number): number {
  if (blockSize < 65536) return dlen;
  if (dlen === 0xffff || dlen === 0) return blockSize;
  return (dlen & 65532) | ((dlen & 3) << 16);
}

/** One live `struct ext4_dir_entry_2`. */
export interface Ext4DirEntry {
  inode: number;
  /** Raw name bytes: ext4 names are bytes, usually but not necessarily UTF-8. */
  name: Uint8Array;
  /** EXT4_FT_*, or EXT4_FT_UNKNOWN without the filetype feature. */
  file_type: number;
}

export interface DirBlockContext {
  /** Length rules for rec_len decoding: the filesystem block size. */
  blockSize: number;
  /** INCOMPAT_FILETYPE: without it the byte after name_len is name_len's high byte, not a type. */
  hasFiletype: boolean;
  /** s_inodes_count: an entry naming a higher inode is damage. */
  inodesCount: number;
  /** For errors: "directory inode 12, block 3". */
  structure: string;
  /** Absolute offset of bytes[0]. */
  base: number;
}

/**
 * Parses the linear entries of one directory block (directory.rst "Linear
 * (Classic) Directories"), with the kernel's __ext4_check_dir_entry checks,
 * so a zero or overlong rec_len can neither loop nor overrun. Unused entries
 * (inode 0) are skipped: that also skips htree interior blocks, whose fake
 * entry has inode 0 and spans the block, and the dx_root's data, which hides
 * inside the ".." entry's rec_len (directory.rst "Hash Tree Directories").
 */
export function parseDirBlock(bytes: Uint8Array, ctx: DirBlockContext, out: Ext4DirEntry[]): void {
  const f = new LeReader(bytes, ctx.structure, { span: 'structure', base: ctx.base });
  let off = 0;
  while (off < bytes.length) {
    if (off + DIRENT_HEADER > bytes.length) f.fail(off, `directory entry header runs past the end of the ${bytes.length}-byte block`);
    const inode = f.u32(off);
    const rec_len = recLenFromDisk(f.u16(off + 4), ctx.blockSize);
    const name_len = f.u8(off + 6);
    const file_type = ctx.hasFiletype ? f.u8(off + 7) : EXT4_FT_UNKNOWN;
    if (rec_len < dirRecLen(1)) f.fail(off + 4, `rec_len ${rec_len} is smaller than the minimal directory entry (12)`);
    if (rec_len % 4 !== 0) f.fail(off + 4, `rec_len ${rec_len} is not a multiple of 4`);
    if (rec_len < dirRecLen(name_len)) f.fail(off + 4, `rec_len ${rec_len} is too small for name_len ${name_len}`);
    if (off + rec_len > bytes.length) f.fail(off + 4, `rec_len ${rec_len} runs past the end of the ${bytes.length}-byte block`);
    if (inode !== 0) {
      if (inode > ctx.inodesCount) f.fail(off, `entry names inode ${inode}, beyond s_inodes_count ${ctx.inodesCount}`);
      if (name_len === 0) f.fail(off + 6, `entry for inode ${inode} has an empty name`);
      const name = f.slice(off + DIRENT_HEADER, name_len);
      // A '/' or NUL in a name would make paths ambiguous; e2fsck calls such names illegal.
      if (name.includes(0x2f) || name.includes(0)) f.fail(off + DIRENT_HEADER, `entry for inode ${inode} has '/' or NUL in its name`);
      out.push({ inode, name, file_type });
    }
    off += rec_len;
  }
}
