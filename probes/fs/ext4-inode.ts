import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { LeReader } from '../../bytes/le-reader.js';
import { EXT4_BG_INODE_UNINIT, type GroupDescriptors } from './ext4-group-descriptors.js';
import { type Ext4Superblock, hasRoCompat, RO_COMPAT } from './ext4-superblock.js';


/** i_flags bits the reader acts on (ext4 docs: inodes.rst, i_flags). */
export const EXT4_ENCRYPT_FL = 0x800;
export const EXT4_INDEX_FL = 0x1000;
export const EXT4_EXTENTS_FL = 0x80000;
export const EXT4_EA_INODE_FL = 0x200000;
export const EXT4_INLINE_DATA_FL = 0x10000000;
export const EXT4_CASEFOLD_FL = 0x40000000;

/** Size of i_block: 15 × __le32, holding block map, extent root, inline data or a fast symlink. */
export const I_BLOCK_SIZE = 60;
/** The original (rev 0) inode; i_extra_isize counts bytes beyond it. */
export const EXT4_GOOD_OLD_INODE_SIZE = 128;

/** `struct ext4_inode` fields the reader uses (ext4 docs: inodes.rst), hi halves folded in. */
export interface Ext4Inode {
  ino: number;
  /** Absolute byte offset of the inode record, for error messages. */
  offset: number;
  i_mode: number;
  i_uid: number;
  i_gid: number;
  /** i_size_lo | i_size_high << 32. */
  i_size: number;
  i_links_count: number;
  /** i_blocks_lo | l_i_blocks_high << 32: 512-byte units (fs blocks with EXT4_HUGE_FILE_FL). */
  i_blocks: number;
  i_flags: number;
  i_mtime: number;
  i_dtime: number;
  /** The 60 raw bytes of i_block. */
  i_block: Uint8Array;
  i_file_acl: number;
  i_extra_isize: number;
  /** The whole on-disk inode record (s_inode_size bytes), for in-inode extended attributes. */
  raw: Uint8Array;
}

export function parseInode(bytes: Uint8Array, ino: number, offset: number): Ext4Inode {
  const f = new LeReader(bytes, `ext4 inode ${ino}`, { span: 'structure', base: offset });
  // Rev 0 inodes are 128 bytes and have no i_extra_isize.
  const i_extra_isize = bytes.length > EXT4_GOOD_OLD_INODE_SIZE ? f.u16(0x80) : 0;
  // A damaged i_extra_isize must not send the xattr reader outside the record.
  if (i_extra_isize % 4 !== 0 || EXT4_GOOD_OLD_INODE_SIZE + i_extra_isize > bytes.length) {
    f.fail(0x80, `i_extra_isize ${i_extra_isize} does not fit the ${bytes.length}-byte inode`);
  }
  let i_mtime = f.u32(0x10) | 0; // signed 32-bit seconds
  // i_mtime_extra: the low 2 bits extend the epoch past 2038 (inodes.rst "Inode Timestamps").
  if (i_extra_isize >= 0x8c - EXT4_GOOD_OLD_INODE_SIZE) i_mtime += (f.u32(0x88) & 3) * 0x100000000;
  return {
    ino,
    offset,
    i_mode: f.u16(0x0),
    i_uid: f.u16(0x2) + f.u16(0x78) * 0x10000,
    i_gid: f.u16(0x18) + f.u16(0x7a) * 0x10000,
    i_size: f.hiLo(0x4, 0x6c, 'i_size'),
    i_links_count: f.u16(0x1a),
    i_blocks: f.hiLo(0x1c, 0x74, 'i_blocks', 2),
    i_flags: f.u32(0x20),
    i_mtime,
    i_dtime: f.u32(0x14),
    i_block: f.slice(0x28, I_BLOCK_SIZE),
    i_file_acl: f.hiLo(0x68, 0x76, 'i_file_acl', 2),
    i_extra_isize,
    raw: bytes,
  };
}

/** Finds and reads inode records through the group descriptors (inodes.rst: group = (ino - 1) / s_inodes_per_group). */
export class InodeTable {
  constructor(
    readonly src: ByteSource,
    readonly sb: Ext4Superblock,
    readonly groups: GroupDescriptors,
  ) {}

  /** Absolute byte offset of an inode's record. */
  locate(ino: number): number {
    const sb = this.sb;
    if (!Number.isInteger(ino) || ino < 1 || ino > sb.s_inodes_count) {
      throw new ParseError('ext4 inode', -1, `inode number ${ino} is outside 1..${sb.s_inodes_count}`);
    }
    const group = Math.floor((ino - 1) / sb.s_inodes_per_group);
    const index = (ino - 1) % sb.s_inodes_per_group;
    const gd = this.groups.get(group);
    // With group checksums, an uninitialised inode table holds garbage, not inodes: a reference into it is damage.
    const csum = hasRoCompat(this.sb, RO_COMPAT.uninit_bg) || hasRoCompat(this.sb, RO_COMPAT.metadata_csum);
    if (csum && ((gd.bg_flags & EXT4_BG_INODE_UNINIT) !== 0 || index >= sb.s_inodes_per_group - gd.bg_itable_unused)) {
      throw new ParseError('ext4 inode', -1, `inode ${ino} lies in the never-initialised part of group ${group}'s inode table`);
    }
    return gd.bg_inode_table * sb.blockSize + index * sb.s_inode_size;
  }

  read(ino: number): Ext4Inode {
    const offset = this.locate(ino);
    return parseInode(this.src.read(offset, this.sb.s_inode_size), ino, offset);
  }
}
