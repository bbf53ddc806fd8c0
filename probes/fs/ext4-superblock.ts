import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { hexBytes } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';
import { cString } from '../../bytes/text.js';
import { hex } from '../../bytes/hex.js';

/** The primary superblock always starts 1024 bytes in, whatever the block size (ext4 docs: "Super Block"). */
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT4_SUPER_MAGIC = 0xef53;
/** Offset of s_magic inside the superblock (so at byte 1080 of the filesystem). */
export const S_MAGIC_OFFSET = 0x38;

/** s_feature_compat bits, named as e2fsprogs' `-O` names them (ext4 docs: super.rst, super_compat). */
export const COMPAT = {
  dir_prealloc: 0x1,
  imagic_inodes: 0x2,
  has_journal: 0x4,
  ext_attr: 0x8,
  resize_inode: 0x10,
  dir_index: 0x20,
  lazy_bg: 0x40,
  exclude_inode: 0x80,
  exclude_bitmap: 0x100,
  sparse_super2: 0x200,
  fast_commit: 0x400,
  stable_inodes: 0x800,
  orphan_file: 0x1000,
} as const;

/** s_feature_incompat bits (super.rst, super_incompat; casefold from ext4.h). */
export const INCOMPAT = {
  compression: 0x1,
  filetype: 0x2,
  needs_recovery: 0x4,
  journal_dev: 0x8,
  meta_bg: 0x10,
  extent: 0x40,
  '64bit': 0x80,
  mmp: 0x100,
  flex_bg: 0x200,
  ea_inode: 0x400,
  dirdata: 0x1000,
  metadata_csum_seed: 0x2000,
  large_dir: 0x4000,
  inline_data: 0x8000,
  encrypt: 0x10000,
  casefold: 0x20000,
} as const;

/** s_feature_ro_compat bits (super.rst, super_rocompat). Unknown ones do not stop a reader. */
export const RO_COMPAT = {
  sparse_super: 0x1,
  large_file: 0x2,
  btree_dir: 0x4,
  huge_file: 0x8,
  uninit_bg: 0x10,
  dir_nlink: 0x20,
  extra_isize: 0x40,
  snapshot: 0x80,
  quota: 0x100,
  bigalloc: 0x200,
  metadata_csum: 0x400,
  replica: 0x800,
  'read-only': 0x1000,
  project: 0x2000,
  shared_blocks: 0x4000,
  verity: 0x8000,
  orphan_present: 0x10000,
} as const;

/**
 * INCOMPAT features this reader understands. Anything else changes the
 * on-disk format in a way we would misread, so it is refused by name.
 * - needs_recovery: the internal journal is replayed in memory (ext4-journal.ts);
 *   when it cannot be, what is on disk is read as is (Ext4Info.journal says which).
 * - encrypt: only encrypted inodes are refused, when met; the rest reads.
 * - casefold: names are stored as created; lookup in casefolded directories
 *   falls back to a case-insensitive compare.
 * - mmp, flex_bg, metadata_csum_seed, large_dir, ea_inode: layout or
 *   write-side features that need nothing more to read paths and data.
 */
const READABLE_INCOMPAT =
  INCOMPAT.filetype | INCOMPAT.needs_recovery | INCOMPAT.meta_bg | INCOMPAT.extent | INCOMPAT['64bit'] |
  INCOMPAT.mmp | INCOMPAT.flex_bg | INCOMPAT.ea_inode | INCOMPAT.metadata_csum_seed | INCOMPAT.large_dir |
  INCOMPAT.inline_data | INCOMPAT.encrypt | INCOMPAT.casefold;

/** Why each known-but-refused INCOMPAT feature is refused. */
const REFUSED_WHY: { [name: string]: string } = {
  compression: 'compressed files (an ext2 compression patch never merged into Linux)',
  journal_dev: 'this is an external journal device, not a filesystem holding files',
  dirdata: 'directory entries carry extra data (Lustre) that this reader does not parse',
};

export function featureNames(bits: number, table: { readonly [name: string]: number }): string[] {
  const names: string[] = [];
  let known = 0;
  for (const [name, bit] of Object.entries(table)) {
    known |= bit;
    if ((bits & bit) !== 0) names.push(name);
  }
  // Bits we have no name for are still reported, so nothing is hidden.
  for (let i = 0; i < 32; i++) {
    if (((bits >>> i) & 1) === 1 && ((known >>> i) & 1) === 0) names.push(`unknown(${hex(2 ** i)})`);
  }
  return names;
}

/** `struct ext4_super_block` fields the reader uses (ext4 docs: super.rst), plus derived geometry. */
export interface Ext4Superblock {
  s_inodes_count: number;
  /** s_blocks_count_lo, plus s_blocks_count_hi when 64bit. */
  s_blocks_count: number;
  s_first_data_block: number;
  s_log_block_size: number;
  s_log_cluster_size: number;
  s_blocks_per_group: number;
  s_inodes_per_group: number;
  s_magic: number;
  s_state: number;
  s_rev_level: number;
  s_first_ino: number;
  s_inode_size: number;
  s_feature_compat: number;
  s_feature_incompat: number;
  s_feature_ro_compat: number;
  s_uuid: string;
  s_volume_name: string;
  s_last_mounted: string;
  /** Effective descriptor size: s_desc_size with 64bit, else 32. */
  s_desc_size: number;
  s_first_meta_bg: number;
  s_backup_bgs: [number, number];
  s_encoding: number;
  /** The journal's inode (usually 8), 0 when the journal is external or absent. */
  s_journal_inum: number;
  /** External journal device number, when s_journal_inum is 0. */
  s_journal_dev: number;
  /** 1024 << s_log_block_size. */
  blockSize: number;
  groupCount: number;
}

export function hasIncompat(sb: Ext4Superblock, bit: number): boolean {
  return (sb.s_feature_incompat & bit) !== 0;
}
export function hasCompat(sb: Ext4Superblock, bit: number): boolean {
  return (sb.s_feature_compat & bit) !== 0;
}
export function hasRoCompat(sb: Ext4Superblock, bit: number): boolean {
  return (sb.s_feature_ro_compat & bit) !== 0;
}

/** Parses and sanity-checks the superblock's geometry, as the kernel's ext4_fill_super does before trusting it. */
export function parseSuperblock(bytes: Uint8Array, base = SUPERBLOCK_OFFSET): Ext4Superblock {
  const f = new LeReader(bytes, 'ext4 superblock', { span: 'structure', base });
  const s_magic = f.u16(S_MAGIC_OFFSET);
  if (s_magic !== EXT4_SUPER_MAGIC) {
    f.fail(S_MAGIC_OFFSET, `bad magic ${hex(s_magic)} (expected 0xef53): not an ext2/3/4 filesystem`);
  }
  const s_rev_level = f.u32(0x4c);
  if (s_rev_level > 1) throw new UnsupportedError(`ext4 superblock revision ${s_rev_level} is newer than this reader knows (0 or 1)`);
  const dynamic = s_rev_level >= 1;
  const s_feature_compat = dynamic ? f.u32(0x5c) : 0;
  const s_feature_incompat = dynamic ? f.u32(0x60) : 0;
  const s_feature_ro_compat = dynamic ? f.u32(0x64) : 0;
  const is64 = (s_feature_incompat & INCOMPAT['64bit']) !== 0;

  const s_log_block_size = f.u32(0x18);
  // 1 KiB .. 64 KiB: the kernel's EXT4_MAX_BLOCK_LOG_SIZE is 16.
  if (s_log_block_size > 6) f.fail(0x18, `s_log_block_size ${s_log_block_size} gives a block size above 64 KiB`);
  const blockSize = 1024 << s_log_block_size;
  const s_log_cluster_size = f.u32(0x1c);
  const bigalloc = (s_feature_ro_compat & RO_COMPAT.bigalloc) !== 0;
  if (bigalloc && (s_log_cluster_size < s_log_block_size || s_log_cluster_size > s_log_block_size + 16)) {
    f.fail(0x1c, `s_log_cluster_size ${s_log_cluster_size} is not a sane cluster size for block size ${blockSize}`);
  }

  const s_blocks_count = f.hiLo(0x4, is64 ? 0x150 : undefined, 's_blocks_count');
  const s_first_data_block = f.u32(0x14);
  if (s_blocks_count === 0) f.fail(0x4, 's_blocks_count is 0');
  if (s_first_data_block > 1 || s_first_data_block >= s_blocks_count) {
    f.fail(0x14, `s_first_data_block ${s_first_data_block} is impossible (0 or 1 expected, below s_blocks_count ${s_blocks_count})`);
  }
  if (!Number.isSafeInteger(s_blocks_count * blockSize)) f.fail(0x4, `s_blocks_count ${s_blocks_count} × ${blockSize} exceeds 2^53 bytes`);

  const s_blocks_per_group = f.u32(0x20);
  // A group's block bitmap is one block: at most 8 bits a byte (times the cluster ratio with bigalloc).
  const maxPerGroup = blockSize * 8 * (bigalloc ? 2 ** (s_log_cluster_size - s_log_block_size) : 1);
  if (s_blocks_per_group === 0 || s_blocks_per_group > maxPerGroup) {
    f.fail(0x20, `s_blocks_per_group ${s_blocks_per_group} is outside 1..${maxPerGroup}`);
  }
  const s_inodes_per_group = f.u32(0x28);
  if (s_inodes_per_group === 0 || s_inodes_per_group > blockSize * 8) {
    f.fail(0x28, `s_inodes_per_group ${s_inodes_per_group} is outside 1..${blockSize * 8}`);
  }
  const groupCount = Math.ceil((s_blocks_count - s_first_data_block) / s_blocks_per_group);
  const s_inodes_count = f.u32(0x0);
  // The kernel refuses a superblock whose inode count disagrees with its geometry; so do we.
  if (s_inodes_count !== groupCount * s_inodes_per_group) {
    f.fail(0x0, `s_inodes_count ${s_inodes_count} does not match ${groupCount} groups × s_inodes_per_group ${s_inodes_per_group}`);
  }

  const s_inode_size = dynamic ? f.u16(0x58) : 128;
  if (s_inode_size < 128 || s_inode_size > blockSize || (s_inode_size & (s_inode_size - 1)) !== 0) {
    f.fail(0x58, `s_inode_size ${s_inode_size} is not a power of two between 128 and the block size ${blockSize}`);
  }
  const s_first_ino = dynamic ? f.u32(0x54) : 11;
  if (s_first_ino < 11 || s_first_ino > s_inodes_count) f.fail(0x54, `s_first_ino ${s_first_ino} is outside 11..${s_inodes_count}`);

  let s_desc_size = 32;
  if (is64) {
    s_desc_size = f.u16(0xfe);
    if (s_desc_size < 64 || s_desc_size > 1024 || s_desc_size > blockSize || (s_desc_size & (s_desc_size - 1)) !== 0) {
      f.fail(0xfe, `s_desc_size ${s_desc_size} is not a power of two between 64 and 1024 (64bit feature set)`);
    }
  }

  return {
    s_inodes_count,
    s_blocks_count,
    s_first_data_block,
    s_log_block_size,
    s_log_cluster_size,
    s_blocks_per_group,
    s_inodes_per_group,
    s_magic,
    s_state: f.u16(0x3a),
    s_rev_level,
    s_first_ino,
    s_inode_size,
    s_feature_compat,
    s_feature_incompat,
    s_feature_ro_compat,
    s_uuid: hexBytes(f.slice(0x68, 16)),
    s_volume_name: cString(f.slice(0x78, 16)),
    s_last_mounted: cString(f.slice(0x88, 64)),
    s_desc_size,
    s_first_meta_bg: f.u32(0x104),
    s_backup_bgs: [f.u32(0x24c), f.u32(0x250)],
    s_encoding: f.u16(0x27c),
    s_journal_inum: f.u32(0xe0),
    s_journal_dev: f.u32(0xe4),
    blockSize,
    groupCount,
  };
}

/** Refuses INCOMPAT features we would misread, naming each one (RO_COMPAT unknowns are fine for a reader). */
export function checkReadable(sb: Ext4Superblock): void {
  const refused = sb.s_feature_incompat & ~READABLE_INCOMPAT;
  if (refused === 0) return;
  const names = featureNames(refused, INCOMPAT);
  const why = names.map((n) => (REFUSED_WHY[n] ? `${n}: ${REFUSED_WHY[n]}` : n.startsWith('unknown') ? `${n}: an incompatible feature this reader does not know` : n));
  throw new UnsupportedError(
    `ext4 filesystem uses incompatible feature${names.length > 1 ? 's' : ''} ${names.join(', ')} that this reader cannot read (${why.join('; ')})`,
    'tune2fs -l shows the feature set; only an ext2/3/4 filesystem of known features can be read',
  );
}

/**
 * ext2, ext3 or ext4, as blkid names a filesystem from its features: ext2 and
 * ext3 use only what those drivers knew (ext3 adds the journal); anything
 * newer makes it ext4. An external journal device is "jbd".
 */
export function extFlavour(compat: number, incompat: number, roCompat: number): 'ext2' | 'ext3' | 'ext4' | 'jbd' {
  if ((incompat & INCOMPAT.journal_dev) !== 0) return 'jbd';
  const oldRo = RO_COMPAT.sparse_super | RO_COMPAT.large_file | RO_COMPAT.btree_dir;
  const oldIncompat = INCOMPAT.filetype | INCOMPAT.needs_recovery | INCOMPAT.meta_bg;
  if ((roCompat & ~oldRo) !== 0 || (incompat & ~oldIncompat) !== 0) return 'ext4';
  if ((compat & COMPAT.has_journal) !== 0) return 'ext3';
  // needs_recovery only makes sense with a journal.
  return (incompat & INCOMPAT.needs_recovery) !== 0 ? 'ext4' : 'ext2';
}

/** Reads the primary superblock of a ByteSource. */
export function readSuperblock(src: ByteSource): Ext4Superblock {
  if (src.size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) {
    throw new ParseError('ext4 superblock', SUPERBLOCK_OFFSET, `${src.name} is only ${src.size} bytes, too small for an ext2/3/4 superblock`);
  }
  return parseSuperblock(src.read(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE));
}
