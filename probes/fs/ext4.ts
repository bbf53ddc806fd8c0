import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { readInto, type ByteSource } from '../../bytes/byte-source.js';
import { CachedBlockReader, type Run } from './ext4-block-io.js';
import { blockMapRuns } from './ext4-block-map.js';
import {
  EXT4_FT_BLKDEV,
  EXT4_FT_CHRDEV,
  EXT4_FT_DIR,
  EXT4_FT_FIFO,
  EXT4_FT_REG_FILE,
  EXT4_FT_SOCK,
  EXT4_FT_SYMLINK,
  type Ext4DirEntry,
  parseDirBlock,
} from './ext4-directory.js';
import { extentDepth, extentRuns } from './ext4-extents.js';
import { type Ext4JournalFacts, journalFacts, JournalOverlayByteSource, recoverJournal } from './ext4-journal.js';
import { GroupDescriptors } from './ext4-group-descriptors.js';
import {
  EXT4_CASEFOLD_FL,
  EXT4_ENCRYPT_FL,
  EXT4_EXTENTS_FL,
  EXT4_INLINE_DATA_FL,
  type Ext4Inode,
  I_BLOCK_SIZE,
  InodeTable,
} from './ext4-inode.js';
import {
  checkReadable,
  COMPAT,
  type Ext4Superblock,
  extFlavour,
  featureNames,
  hasIncompat,
  hasRoCompat,
  INCOMPAT,
  readSuperblock,
  RO_COMPAT,
} from './ext4-superblock.js';
import { inlineDataXattr } from './ext4-xattr.js';
import {
  type DirEntry,
  type FileStat,
  type FileType,
  FsError,
  PATH_MAX,
  type PathWalker,
  fileTypeOfMode,
  NodeFilesystem,
  S_IFDIR,
  S_IFMT,
} from './filesystem.js';
import { Lru } from '../lru.js';

/** The root directory is always inode 2 (ext4 docs: special_inodes.rst). */
export const EXT4_ROOT_INO = 2;
/** Directories bigger than this are not scanned: 2 GiB was ext4's limit before large_dir, and real ones are far smaller. */
export const MAX_DIR_BYTES = 512 * 1024 * 1024;
/** Entries kept for one directory: bounds memory whatever the directory claims. */
export const MAX_DIR_ENTRIES = 1_000_000;
/** Directories with more entries than this are re-read on each lookup rather than cached. */
const MAX_CACHED_DIR_ENTRIES = 100_000;
/** One source read is at most this, so a long run never becomes one giant allocation. */
const READ_CHUNK = 8 * 1024 * 1024;

/** Plain facts about the filesystem, for probes and reports. */
export interface Ext4Info {
  type: 'ext2' | 'ext3' | 'ext4';
  blockSize: number;
  blocksCount: number;
  inodesCount: number;
  groupCount: number;
  inodeSize: number;
  descSize: number;
  uuid: string;
  label: string;
  lastMounted: string;
  features: { compat: string[]; incompat: string[]; roCompat: string[] };
  /** s_state bit 0: unmounted cleanly. */
  clean: boolean;
  /** s_state bit 1: errors detected. */
  errors: boolean;
  /** The superblock says the journal holds transactions not yet written to their home blocks (needs_recovery). */
  needsRecovery: boolean;
  /**
   * Only when needsRecovery: whether the journal was replayed in memory (files read as after the
   * kernel's recovery) or not (read as `mount -o norecovery` shows them), and why.
   */
  journal?: Ext4JournalFacts;
  /** The filesystem claims more blocks than the image holds. Reads past the end fail; the rest works. */
  truncated: boolean;
}

interface DirIndex {
  entries: Ext4DirEntry[];
  /** Raw name bytes as a latin1 string → entry: exact byte match, whatever the encoding. */
  byName: Map<string, Ext4DirEntry>;
  /** Case-folded name → entry, only for casefolded directories. */
  folded?: Map<string, Ext4DirEntry>;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const bytesKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
/**
 * An approximation of the kernel's utf8 casefolding (NFD + full case fold):
 * upper- then lower-casing handles ß→ss and final sigma; exact for ASCII.
 */
const fold = (s: string): string => s.normalize('NFD').toUpperCase().toLowerCase();


const FT_TYPES: { [ft: number]: FileType } = {
  [EXT4_FT_REG_FILE]: 'file',
  [EXT4_FT_DIR]: 'directory',
  [EXT4_FT_SYMLINK]: 'symlink',
  [EXT4_FT_CHRDEV]: 'char-device',
  [EXT4_FT_BLKDEV]: 'block-device',
  [EXT4_FT_FIFO]: 'fifo',
  [EXT4_FT_SOCK]: 'socket',
};


/**
 * A read-only ext2/ext3/ext4 reader over a ByteSource (a partition of a
 * disk image). Reads lazily: the superblock at open, then only the group
 * descriptors, inodes, tree nodes, directory and file blocks a call needs.
 * Every structure is bounds-checked; damage is a ParseError with its offset,
 * features we cannot read an UnsupportedError naming them.
 */
export class Ext4Filesystem extends NodeFilesystem<Ext4Inode> {
  readonly type: 'ext2' | 'ext3' | 'ext4';
  readonly info: Ext4Info;
  readonly #io: CachedBlockReader;
  readonly #groups: GroupDescriptors;
  readonly #inodes: InodeTable;
  readonly #inodeCache = new Lru<number, Ext4Inode>(1024);
  readonly #dirCache = new Lru<number, DirIndex>(32);
  protected readonly walker: PathWalker<Ext4Inode>;

  private constructor(
    readonly src: ByteSource,
    readonly sb: Ext4Superblock,
    journal?: Ext4JournalFacts,
  ) {
    super();
    const flavour = extFlavour(sb.s_feature_compat, sb.s_feature_incompat, sb.s_feature_ro_compat);
    // checkReadable already refused journal_dev, so this is never "jbd".
    this.type = flavour === 'jbd' ? 'ext4' : flavour;
    this.#io = new CachedBlockReader(src, sb.blockSize, sb.s_blocks_count);
    this.#groups = new GroupDescriptors(src, sb);
    this.#inodes = new InodeTable(src, sb, this.#groups);
    this.info = {
      type: this.type,
      blockSize: sb.blockSize,
      blocksCount: sb.s_blocks_count,
      inodesCount: sb.s_inodes_count,
      groupCount: sb.groupCount,
      inodeSize: sb.s_inode_size,
      descSize: sb.s_desc_size,
      uuid: sb.s_uuid,
      label: sb.s_volume_name,
      lastMounted: sb.s_last_mounted,
      features: {
        compat: featureNames(sb.s_feature_compat, COMPAT),
        incompat: featureNames(sb.s_feature_incompat, INCOMPAT),
        roCompat: featureNames(sb.s_feature_ro_compat, RO_COMPAT),
      },
      clean: (sb.s_state & 1) !== 0,
      errors: (sb.s_state & 2) !== 0,
      needsRecovery: journal !== undefined || hasIncompat(sb, INCOMPAT.needs_recovery),
      truncated: sb.s_blocks_count * sb.blockSize > src.size,
      ...(journal ? { journal } : {}),
    };
    this.walker = {
      root: () => this.inode(EXT4_ROOT_INO),
      typeOf: (node) => fileTypeOfMode(node.i_mode),
      lookup: (dir, name) => {
        const e = this.lookup(dir, name);
        return e && this.inode(e.inode);
      },
      readlink: (node) => this.symlinkTarget(node),
    };
  }

  /**
   * Opens the filesystem on `src`: reads and checks the superblock and refuses features it cannot read.
   * With needs_recovery, the internal journal is replayed in memory first, as the kernel does at mount
   * (the image is never written); when it cannot be, the filesystem is read unreplayed and info.journal says why.
   */
  static open(src: ByteSource, options: Ext4OpenOptions = {}): Ext4Filesystem {
    const sb = readSuperblock(src);
    checkReadable(sb);
    const raw = new Ext4Filesystem(src, sb);
    if (!hasIncompat(sb, INCOMPAT.needs_recovery)) return raw.#checkRoot();
    if (options.norecovery) {
      return new Ext4Filesystem(src, sb, { ...NOT_REPLAYED, reason: 'not replayed: opened with norecovery' }).#checkRoot();
    }
    const replay = recoverJournal(src, sb, raw);
    const facts = journalFacts(replay);
    if (replay.replayed && replay.blocks.size > 0) {
      try {
        const overlay = new JournalOverlayByteSource(src, sb.blockSize, replay.blocks);
        // The superblock itself may have been logged: read it again, as the kernel's buffer cache now holds it.
        const replayedSb = readSuperblock(overlay);
        checkReadable(replayedSb);
        if (replayedSb.blockSize !== sb.blockSize) throw new ParseError('ext4 superblock', 1024, `the replayed superblock changes the block size to ${replayedSb.blockSize}`);
        return new Ext4Filesystem(overlay, replayedSb, facts).#checkRoot();
      } catch (e) {
        const unreplayed = { ...facts, replayed: false, blocksReplayed: 0, reason: `after replaying the journal the filesystem is unreadable (${(e as Error).message}): read unreplayed` };
        return new Ext4Filesystem(src, sb, unreplayed).#checkRoot();
      }
    }
    return new Ext4Filesystem(src, sb, facts).#checkRoot();
  }

  #checkRoot(): this {
    const root = this.inode(EXT4_ROOT_INO);
    if ((root.i_mode & S_IFMT) !== S_IFDIR) {
      throw new ParseError('ext4 inode 2', root.offset, `the root inode is not a directory (i_mode 0o${root.i_mode.toString(8)})`);
    }
    return this;
  }

  // ---- inodes and their data ------------------------------------------------

  inode(ino: number): Ext4Inode {
    const hit = this.#inodeCache.get(ino);
    if (hit) return hit;
    const inode = this.#inodes.read(ino);
    this.#inodeCache.set(ino, inode);
    return inode;
  }

  #refuseEncrypted(inode: Ext4Inode): void {
    if ((inode.i_flags & EXT4_ENCRYPT_FL) !== 0) {
      throw new UnsupportedError(`ext4 inode ${inode.ino} is encrypted (fscrypt): its names and data cannot be read without the key`);
    }
  }

  /** Maps logical blocks [from, from+count) to physical runs, via the extent tree or the legacy block map. */
  runs(inode: Ext4Inode, from: number, count: number): Run[] {
    if ((inode.i_flags & EXT4_INLINE_DATA_FL) !== 0) {
      throw new ParseError(`ext4 inode ${inode.ino}`, inode.offset, 'inline-data inode has no blocks to map');
    }
    return (inode.i_flags & EXT4_EXTENTS_FL) !== 0
      ? extentRuns(this.#io, inode, from, count)
      : blockMapRuns(this.#io, inode, from, count);
  }

  /** Depth of an extent-mapped inode's tree (0: all extents in i_block), or undefined for other mappings. */
  extentDepth(inode: Ext4Inode): number | undefined {
    return (inode.i_flags & EXT4_EXTENTS_FL) !== 0 && (inode.i_flags & EXT4_INLINE_DATA_FL) === 0 ? extentDepth(inode) : undefined;
  }

  /** Inline data: i_block's 60 bytes, continued in the system.data attribute (ext4 docs: inlinedata.rst). */
  #inlineData(inode: Ext4Inode): Uint8Array {
    const ea = inlineDataXattr(inode) ?? new Uint8Array(0);
    if (inode.i_size > I_BLOCK_SIZE + ea.length) {
      throw new ParseError(`ext4 inode ${inode.ino}`, inode.offset, `inline data: i_size ${inode.i_size} exceeds the ${I_BLOCK_SIZE + ea.length} bytes stored in i_block and system.data`);
    }
    const all = new Uint8Array(I_BLOCK_SIZE + ea.length);
    all.set(inode.i_block, 0);
    all.set(ea, I_BLOCK_SIZE);
    return all.subarray(0, inode.i_size);
  }

  /**
   * Bytes [offset, offset+length) of an inode's data, clipped to i_size.
   * Holes and uninitialised extents read as zeros; the caller bounds length.
   */
  readData(inode: Ext4Inode, offset: number, length: number): Uint8Array {
    const out = new Uint8Array(this.#clip(inode, offset, length));
    this.#fill(inode, offset, out, true);
    return out;
  }

  override readDataInto(inode: Ext4Inode, offset: number, out: Uint8Array): number {
    const n = this.#clip(inode, offset, out.length);
    this.#fill(inode, offset, out.subarray(0, n), false);
    return n;
  }

  /** How many of `length` bytes at `offset` the file holds (clipped to i_size). */
  #clip(inode: Ext4Inode, offset: number, length: number): number {
    this.#refuseEncrypted(inode);
    const n = Math.max(0, Math.min(length, inode.i_size - offset));
    if (!Number.isSafeInteger(offset) || offset < 0 || n > 0x7fffffff) {
      throw new FsError('EINVAL', `inode ${inode.ino}`, `cannot read ${length} bytes at ${offset}`);
    }
    return n;
  }

  /**
   * Writes the file's bytes at `offset` into `out` (within i_size): holes and
   * uninitialised extents read as zeros, written here unless `out` is zeroed
   * already.
   */
  #fill(inode: Ext4Inode, offset: number, out: Uint8Array, zeroed: boolean): void {
    const n = out.length;
    if (n === 0) return;
    if ((inode.i_flags & EXT4_INLINE_DATA_FL) !== 0) {
      const inline = this.#inlineData(inode).subarray(offset, offset + n);
      out.set(inline);
      if (!zeroed) out.fill(0, inline.length);
      return;
    }
    const bs = this.sb.blockSize;
    const first = Math.floor(offset / bs);
    const end = Math.ceil((offset + n) / bs);
    // Runs come in logical order (extentRuns refuses an extent that precedes the one before it; the block map is
    // walked in order), so each gap is zeroed as it is passed.
    let written = 0; // out[0, written) holds the file's bytes
    for (const run of this.runs(inode, first, end - first)) {
      if (run.uninit) continue; // allocated, never written: zeros
      const runStart = run.lblk * bs;
      let a = Math.max(runStart, offset);
      const b = Math.min(runStart + run.len * bs, offset + n);
      if (!zeroed && a - offset > written) out.fill(0, written, a - offset); // a hole or uninitialised extents before
      while (a < b) {
        const len = Math.min(b - a, READ_CHUNK);
        readInto(this.src, run.pblk * bs + (a - runStart), out.subarray(a - offset, a - offset + len));
        a += len;
      }
      written = Math.max(written, b - offset);
    }
    if (!zeroed && written < n) out.fill(0, written);
  }

  /** A symlink's target: inline, fast (in i_block) or slow (in a data block). */
  symlinkTarget(inode: Ext4Inode): string {
    this.#refuseEncrypted(inode);
    const size = inode.i_size;
    // The kernel caps a symlink at one block (and PATH_MAX); more is damage, not a path.
    if (size > Math.min(PATH_MAX, this.sb.blockSize)) {
      throw new ParseError(`ext4 inode ${inode.ino}`, inode.offset, `symlink of ${size} bytes is longer than a block or PATH_MAX`);
    }
    let bytes: Uint8Array;
    if ((inode.i_flags & EXT4_INLINE_DATA_FL) !== 0) {
      bytes = this.#inlineData(inode);
    } else if (this.#isFastSymlink(inode)) {
      bytes = inode.i_block.subarray(0, size);
    } else {
      bytes = this.readData(inode, 0, size);
    }
    return utf8.decode(bytes);
  }

  /** Kernel ext4_inode_is_fast_symlink: no blocks allocated besides an xattr block means the target is in i_block. */
  #isFastSymlink(inode: Ext4Inode): boolean {
    const sb = this.sb;
    const cluster = hasRoCompat(sb, RO_COMPAT.bigalloc) ? 1024 << sb.s_log_cluster_size : sb.blockSize;
    const eaBlocks = inode.i_file_acl !== 0 ? cluster / 512 : 0;
    if (inode.i_blocks - eaBlocks !== 0) return false;
    if (inode.i_size >= I_BLOCK_SIZE) {
      throw new ParseError(`ext4 inode ${inode.ino}`, inode.offset, `symlink of ${inode.i_size} bytes has no blocks yet does not fit in i_block`);
    }
    return true;
  }

  // ---- directories ----------------------------------------------------------

  /** All live entries of a directory inode, "." and ".." included when stored, in on-disk order. */
  dirEntries(inode: Ext4Inode): Ext4DirEntry[] {
    return this.#dirIndex(inode).entries;
  }

  #dirIndex(inode: Ext4Inode): DirIndex {
    const hit = this.#dirCache.get(inode.ino);
    if (hit) return hit;
    if ((inode.i_mode & S_IFMT) !== S_IFDIR) {
      throw new ParseError(`ext4 inode ${inode.ino}`, inode.offset, 'not a directory');
    }
    this.#refuseEncrypted(inode);
    const entries = this.#readDirEntries(inode);
    const byName = new Map<string, Ext4DirEntry>();
    for (const e of entries) if (!byName.has(bytesKey(e.name))) byName.set(bytesKey(e.name), e);
    const index: DirIndex = { entries, byName };
    if ((inode.i_flags & EXT4_CASEFOLD_FL) !== 0) {
      index.folded = new Map();
      for (const e of entries) index.folded.set(fold(utf8.decode(e.name)), e);
    }
    // Very large directories are not cached: 32 of them could hold tens of millions of names.
    if (entries.length <= MAX_CACHED_DIR_ENTRIES) this.#dirCache.set(inode.ino, index);
    return index;
  }

  #readDirEntries(inode: Ext4Inode): Ext4DirEntry[] {
    const sb = this.sb;
    const ctx = {
      blockSize: sb.blockSize,
      hasFiletype: hasIncompat(sb, INCOMPAT.filetype),
      inodesCount: sb.s_inodes_count,
      structure: `ext4 directory inode ${inode.ino}`,
      base: 0,
    };
    const out: Ext4DirEntry[] = [];
    if ((inode.i_flags & EXT4_INLINE_DATA_FL) !== 0) {
      // i_block: the parent's inode number, then 56 bytes of entries; system.data holds more (inlinedata.rst "Inline Directories").
      parseDirBlock(inode.i_block.subarray(4), { ...ctx, base: inode.offset + 0x28 + 4 }, out);
      const ea = inlineDataXattr(inode);
      if (ea && ea.length > 0) parseDirBlock(ea, { ...ctx, structure: `${ctx.structure} (system.data)`, base: inode.offset }, out);
      return out;
    }
    if (inode.i_size > MAX_DIR_BYTES) {
      throw new ParseError(ctx.structure, inode.offset, `directory of ${inode.i_size} bytes is larger than this reader scans (${MAX_DIR_BYTES})`);
    }
    const bs = sb.blockSize;
    const blocks = Math.ceil(inode.i_size / bs);
    // htree directories are read linearly too: their index blocks parse as empty entries.
    for (const run of this.runs(inode, 0, blocks)) {
      if (run.uninit) continue;
      for (let i = 0; i < run.len; i++) {
        const pblk = run.pblk + i;
        parseDirBlock(this.src.read(pblk * bs, bs), { ...ctx, structure: `${ctx.structure} block ${run.lblk + i}`, base: pblk * bs }, out);
        if (out.length > MAX_DIR_ENTRIES) {
          throw new ParseError(ctx.structure, pblk * bs, `more than ${MAX_DIR_ENTRIES} entries`);
        }
      }
    }
    return out;
  }

  /** The entry called `name` in a directory: exact bytes, then (casefolded directories only) case-insensitively. */
  lookup(dir: Ext4Inode, name: string): Ext4DirEntry | undefined {
    const index = this.#dirIndex(dir);
    return index.byName.get(bytesKey(Buffer.from(name, 'utf8'))) ?? index.folded?.get(fold(name));
  }

  // ---- ReadOnlyFilesystem (NodeFilesystem does the rest) ------------------

  statNode(inode: Ext4Inode): FileStat {
    return {
      type: fileTypeOfMode(inode.i_mode),
      mode: inode.i_mode & 0o7777,
      size: inode.i_size,
      uid: inode.i_uid,
      gid: inode.i_gid,
      nlink: inode.i_links_count,
      mtime: inode.i_mtime,
      ino: inode.ino,
    };
  }

  protected listDirectory(dir: Ext4Inode): DirEntry[] {
    const out: DirEntry[] = [];
    for (const e of this.dirEntries(dir)) {
      const name = utf8.decode(e.name);
      if (name === '.' || name === '..') continue;
      // Without the filetype feature (or with an unknown type) only the inode knows.
      const type = FT_TYPES[e.file_type] ?? fileTypeOfMode(this.inode(e.inode).i_mode);
      out.push({ name, type, ino: e.inode });
    }
    return out;
  }

  protected dataSize(node: Ext4Inode): number {
    return node.i_size;
  }
}

export interface Ext4OpenOptions {
  /** Like `mount -o norecovery`: read what is on disk, leaving a dirty journal unreplayed. */
  norecovery?: boolean;
}

const NOT_REPLAYED: Ext4JournalFacts = { replayed: false, transactions: 0, blocksReplayed: 0, revoked: 0, escaped: 0, revokeRecords: 0, checksumFailures: 0, features: [] };

/** Opens an ext2/3/4 filesystem read-only (a dirty journal replayed in memory unless `norecovery`). */
export function openExt4(src: ByteSource, options: Ext4OpenOptions = {}): Ext4Filesystem {
  return Ext4Filesystem.open(src, options);
}
