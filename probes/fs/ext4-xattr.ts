import { UnsupportedError } from '../../bytes/errors.js';
import { LeReader } from '../../bytes/le-reader.js';
import { EXT4_GOOD_OLD_INODE_SIZE, type Ext4Inode } from './ext4-inode.js';

/** h_magic of the in-inode ("ibody") attribute area and of attribute blocks (ext4 docs: attributes.rst). */
export const EXT4_XATTR_MAGIC = 0xea020000;
/** e_name_index for "system." names; inline data lives in system.data (inlinedata.rst). */
export const EXT4_XATTR_INDEX_SYSTEM = 7;
/** sizeof(struct ext4_xattr_entry) before e_name. */
const ENTRY_HEADER = 16;

/** One `struct ext4_xattr_entry` and its value (attributes.rst). */
export interface Ext4Xattr {
  e_name_index: number;
  e_name: string;
  /** Empty when the value lives in an EA inode (e_value_inum ≠ 0). */
  value: Uint8Array;
  e_value_inum: number;
}

/**
 * Extended attributes stored in the inode body, after i_extra_isize
 * (attributes.rst "Extended Attributes"). Values are addressed relative to
 * the first entry; every entry and value is checked to lie in the record.
 */
export function ibodyXattrs(inode: Ext4Inode): Ext4Xattr[] {
  const raw = inode.raw;
  const start = EXT4_GOOD_OLD_INODE_SIZE + inode.i_extra_isize;
  if (raw.length <= EXT4_GOOD_OLD_INODE_SIZE || start + 4 > raw.length) return [];
  const f = new LeReader(raw, `ext4 in-inode xattrs of inode ${inode.ino}`, { span: 'structure', base: inode.offset });
  if (f.u32(start) !== EXT4_XATTR_MAGIC) return [];
  const first = start + 4;
  const out: Ext4Xattr[] = [];
  let off = first;
  // Each entry takes at least 16 bytes, so this ends within the record.
  while (off + 4 <= raw.length && f.u32(off) !== 0) {
    if (off + ENTRY_HEADER > raw.length) f.fail(off, 'xattr entry runs past the end of the inode');
    const e_name_len = f.u8(off);
    const e_name_index = f.u8(off + 1);
    const e_value_offs = f.u16(off + 2);
    const e_value_inum = f.u32(off + 4);
    const e_value_size = f.u32(off + 8);
    if (off + ENTRY_HEADER + e_name_len > raw.length) f.fail(off, `xattr name of ${e_name_len} bytes runs past the end of the inode`);
    const e_name = new TextDecoder().decode(f.slice(off + ENTRY_HEADER, e_name_len));
    let value: Uint8Array = new Uint8Array(0);
    if (e_value_inum === 0) {
      if (first + e_value_offs + e_value_size > raw.length) {
        f.fail(off + 2, `xattr value (${e_value_size} bytes at +${e_value_offs}) runs past the end of the inode`);
      }
      value = f.slice(first + e_value_offs, e_value_size);
    }
    out.push({ e_name_index, e_name, value, e_value_inum });
    off += (ENTRY_HEADER + e_name_len + 3) & ~3;
  }
  return out;
}

/** The system.data attribute holding inline data beyond i_block's 60 bytes; absent means none. */
export function inlineDataXattr(inode: Ext4Inode): Uint8Array | undefined {
  const x = ibodyXattrs(inode).find((a) => a.e_name_index === EXT4_XATTR_INDEX_SYSTEM && a.e_name === 'data');
  if (!x) return undefined;
  if (x.e_value_inum !== 0) throw new UnsupportedError(`inode ${inode.ino}: inline data stored in an EA inode (${x.e_value_inum}) is not supported`);
  return x.value;
}
