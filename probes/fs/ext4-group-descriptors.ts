import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { LeReader } from '../../bytes/le-reader.js';
import { COMPAT, type Ext4Superblock, hasCompat, hasIncompat, hasRoCompat, INCOMPAT, RO_COMPAT } from './ext4-superblock.js';

/** bg_flags bits (ext4 docs: group_descr.rst). */
export const EXT4_BG_INODE_UNINIT = 0x1;
export const EXT4_BG_BLOCK_UNINIT = 0x2;
export const EXT4_BG_INODE_ZEROED = 0x4;

/** `struct ext4_group_desc` fields the reader uses (ext4 docs: group_descr.rst); _hi halves folded in with 64bit. */
export interface Ext4GroupDesc {
  group: number;
  bg_block_bitmap: number;
  bg_inode_bitmap: number;
  bg_inode_table: number;
  bg_flags: number;
  bg_itable_unused: number;
}

/** Whether a group holds a superblock backup (and so, without meta_bg, a GDT copy): kernel ext4_bg_has_super. */
export function groupHasSuper(sb: Ext4Superblock, group: number): boolean {
  if (group === 0) return true;
  if (hasCompat(sb, COMPAT.sparse_super2)) return group === sb.s_backup_bgs[0] || group === sb.s_backup_bgs[1];
  if (group <= 1 || !hasRoCompat(sb, RO_COMPAT.sparse_super)) return true;
  if (group % 2 === 0) return false;
  return isPowerOf(group, 3) || isPowerOf(group, 5) || isPowerOf(group, 7);
}

function isPowerOf(n: number, base: number): boolean {
  let p = base;
  while (p < n) p *= base;
  return p === n;
}

/**
 * Reads group descriptors lazily, one at a time, from wherever the layout
 * puts them: right after the superblock, or with meta_bg in the first block
 * of each meta-group (ext4 docs: overview.rst "Meta Block Groups").
 */
export class GroupDescriptors {
  readonly #cache = new Map<number, Ext4GroupDesc>();
  readonly #descPerBlock: number;
  readonly #inodeTableBlocks: number;

  constructor(
    readonly src: ByteSource,
    readonly sb: Ext4Superblock,
  ) {
    this.#descPerBlock = sb.blockSize / sb.s_desc_size;
    this.#inodeTableBlocks = Math.ceil((sb.s_inodes_per_group * sb.s_inode_size) / sb.blockSize);
  }

  /** Block number holding descriptor block `nr` (kernel descriptor_loc). */
  descriptorBlock(nr: number): number {
    const sb = this.sb;
    // The superblock lives in block 1 with 1 KiB blocks, else in block 0; the GDT follows it.
    const superBlockNr = sb.blockSize === 1024 ? 1 : 0;
    if (!hasIncompat(sb, INCOMPAT.meta_bg) || nr < sb.s_first_meta_bg) return superBlockNr + nr + 1;
    const bg = this.#descPerBlock * nr;
    let hasSuper = groupHasSuper(sb, bg) ? 1 : 0;
    // meta_bg with 1 KiB blocks and s_first_data_block 0 (bigalloc): group 0's GDT is at block 2, not 1.
    if (sb.blockSize === 1024 && nr === 0 && sb.s_first_data_block === 0) hasSuper++;
    return hasSuper + bg * sb.s_blocks_per_group + sb.s_first_data_block;
  }

  /** Descriptor of one group, checked so its inode table lies inside the filesystem. */
  get(group: number): Ext4GroupDesc {
    const cached = this.#cache.get(group);
    if (cached) return cached;
    const sb = this.sb;
    if (!Number.isInteger(group) || group < 0 || group >= sb.groupCount) {
      throw new ParseError('ext4 group descriptor', -1, `group ${group} does not exist (${sb.groupCount} groups)`);
    }
    const nr = Math.floor(group / this.#descPerBlock);
    const block = this.descriptorBlock(nr);
    if (block >= sb.s_blocks_count) {
      throw new ParseError('ext4 group descriptor', -1, `descriptor block ${block} for group ${group} lies past the filesystem's ${sb.s_blocks_count} blocks`);
    }
    const offset = block * sb.blockSize + (group % this.#descPerBlock) * sb.s_desc_size;
    const f = new LeReader(this.src.read(offset, sb.s_desc_size), `ext4 group descriptor ${group}`, { span: 'structure', base: offset });
    const is64 = sb.s_desc_size >= 64;
    const gd: Ext4GroupDesc = {
      group,
      bg_block_bitmap: f.hiLo(0x0, is64 ? 0x20 : undefined, 'bg_block_bitmap'),
      bg_inode_bitmap: f.hiLo(0x4, is64 ? 0x24 : undefined, 'bg_inode_bitmap'),
      bg_inode_table: f.hiLo(0x8, is64 ? 0x28 : undefined, 'bg_inode_table'),
      bg_flags: f.u16(0x12),
      bg_itable_unused: f.u16(0x1c) + (is64 ? f.u16(0x32) * 0x10000 : 0),
    };
    if (gd.bg_inode_table < sb.s_first_data_block || gd.bg_inode_table + this.#inodeTableBlocks > sb.s_blocks_count) {
      f.fail(0x8, `bg_inode_table ${gd.bg_inode_table} (+${this.#inodeTableBlocks} blocks) lies outside the filesystem's ${sb.s_blocks_count} blocks`);
    }
    // Bounded: a damaged filesystem could name billions of groups; keep only recent ones.
    if (this.#cache.size >= 65536) this.#cache.clear();
    this.#cache.set(group, gd);
    return gd;
  }
}
