import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { Lru } from '../lru.js';
import { CachedBlockReader, type Run } from './ext4-block-io.js';
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
import { CrcTally } from './xfs-bytes.js';
import {
  leafBlockMagic,
  parseDataBlock,
  parseShortform,
  XFS_DA3_NODE_MAGIC,
  XFS_DA_NODE_MAGIC,
  XFS_DIR2_LEAF1_MAGIC,
  XFS_DIR2_LEAF_OFFSET,
  XFS_DIR2_LEAFN_MAGIC,
  XFS_DIR3_FT_BLKDEV,
  XFS_DIR3_FT_CHRDEV,
  XFS_DIR3_FT_DIR,
  XFS_DIR3_FT_FIFO,
  XFS_DIR3_FT_REG_FILE,
  XFS_DIR3_FT_SOCK,
  XFS_DIR3_FT_SYMLINK,
  XFS_DIR3_LEAF1_MAGIC,
  XFS_DIR3_LEAFN_MAGIC,
  type XfsDirEntry,
} from './xfs-directory.js';
import { dataForkLevels, dataForkRuns } from './xfs-extents.js';
import {
  readInode,
  XFS_DIFLAG_REALTIME,
  XFS_DINODE_FMT_BTREE,
  XFS_DINODE_FMT_EXTENTS,
  XFS_DINODE_FMT_LOCAL,
  type XfsInode,
} from './xfs-inode.js';
import { JournalOverlayByteSource } from './ext4-journal.js';
import { logState, type XfsLogState } from './xfs-log.js';
import { recoverXfsLog, type XfsLogRecovery } from './xfs-log-recover.js';
import {
  checkReadable,
  FEAT_INCOMPAT,
  FEAT_LOG_INCOMPAT,
  FEAT_RO_COMPAT,
  FEATURES2,
  featureNames,
  readSuperblock,
  VERSION_BITS,
  type XfsSuperblock,
} from './xfs-superblock.js';
import { symlinkChunk, XFS_SYMLINK_HDR, XFS_SYMLINK_MAXLEN } from './xfs-symlink.js';

/** Directories bigger than this are not scanned (as for ext4): real ones are far smaller. */
export const MAX_DIR_BYTES = 512 * 1024 * 1024;
/** Entries kept for one directory: bounds memory whatever the directory claims. */
export const MAX_DIR_ENTRIES = 1_000_000;
const MAX_CACHED_DIR_ENTRIES = 100_000;
/** One source read is at most this, so a long run never becomes one giant allocation. */
const READ_CHUNK = 8 * 1024 * 1024;


/** How a directory is stored ("XFS Algorithms & Data Structures", "Directories"), for reports and tests. */
export type XfsDirFormat = 'shortform' | 'block' | 'leaf' | 'node';

/** What log recovery did, as facts: XfsLogRecovery without its overlay. */
export type XfsLogFacts = Omit<XfsLogRecovery, 'sectors'>;

export interface XfsOpenOptions {
  /** Like `mount -o norecovery`: read what is on disk, leaving a dirty log unreplayed. */
  norecovery?: boolean;
}

const NOT_REPLAYED: XfsLogFacts = { replayed: false, transactions: 0, blocksReplayed: 0, revoked: 0, skippedNewer: 0, checksumFailures: 0, features: [], tail: null, head: null };

/** Plain facts about the filesystem, for probes and reports. */
export interface XfsInfo {
  type: 'xfs';
  /** Superblock version: 5 has metadata CRCs, 4 does not. */
  version: 4 | 5;
  blockSize: number;
  dirBlockSize: number;
  inodeSize: number;
  agCount: number;
  agBlocks: number;
  blocksCount: number;
  uuid: string;
  label: string;
  features: { versionBits: string[]; features2: string[]; roCompat: string[]; incompat: string[]; logIncompat: string[] };
  /** The log is dirty: it holds changes the kernel replays at mount (see journal: replayed in memory or not). */
  needsRecovery: boolean;
  log: XfsLogState;
  /**
   * Only when needsRecovery: what log recovery did (xfs-log-recover.ts). Replayed: files read as after the
   * kernel's recovery (the image untouched); not replayed: as `mount -o norecovery` shows them, with the reason.
   */
  journal?: XfsLogFacts;
  /** v5 metadata CRCs checked so far (superblock, inodes, bmbt, directory and symlink blocks) and the ones that did not match: updated as the reader goes. */
  crc: { checked: number; failed: number; failures: string[] };
  /** The filesystem claims more blocks than the image holds. */
  truncated: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const bytesKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');


const FT_TYPES: { [ft: number]: FileType } = {
  [XFS_DIR3_FT_REG_FILE]: 'file',
  [XFS_DIR3_FT_DIR]: 'directory',
  [XFS_DIR3_FT_SYMLINK]: 'symlink',
  [XFS_DIR3_FT_CHRDEV]: 'char-device',
  [XFS_DIR3_FT_BLKDEV]: 'block-device',
  [XFS_DIR3_FT_FIFO]: 'fifo',
  [XFS_DIR3_FT_SOCK]: 'socket',
};

interface DirIndex {
  entries: XfsDirEntry[];
  byName: Map<string, XfsDirEntry>;
}

/** Index of the first of the sorted, disjoint `runs` that ends after file block `lblk` (runs.length when none does). */
function firstRunEndingAfter(runs: Run[], lblk: number): number {
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = runs[mid]!;
    if (r.lblk + r.len <= lblk) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A read-only xfs (v4 and v5) reader over a ByteSource, the counterpart of
 * Ext4Filesystem: the superblock at open, then only the inodes, bmap btree
 * blocks, directory and file blocks a call needs. Every structure is
 * bounds-checked; damage is a ParseError with its offset; v5 CRCs are
 * verified and counted in `info.crc`. A dirty log is replayed in memory
 * first, as the kernel does at mount (`info.journal` says what happened);
 * the image is never written.
 */
export class XfsFilesystem extends NodeFilesystem<XfsInode> {
  readonly type = 'xfs';
  readonly info: XfsInfo;
  readonly #crc: CrcTally;
  readonly #io: CachedBlockReader;
  readonly #inodeCache = new Lru<number, XfsInode>(1024);
  readonly #runCache = new Lru<number, Run[]>(64);
  readonly #dirCache = new Lru<number, DirIndex>(32);
  protected readonly walker: PathWalker<XfsInode>;

  private constructor(
    readonly src: ByteSource,
    readonly sb: XfsSuperblock,
    crc: CrcTally,
    log: XfsLogState,
    journal?: XfsLogFacts,
  ) {
    super();
    this.#crc = crc;
    this.#io = new CachedBlockReader(src, sb.sb_blocksize, sb.sb_dblocks);
    this.info = {
      type: 'xfs',
      version: sb.version,
      blockSize: sb.sb_blocksize,
      dirBlockSize: sb.dirBlockSize,
      inodeSize: sb.sb_inodesize,
      agCount: sb.sb_agcount,
      agBlocks: sb.sb_agblocks,
      blocksCount: sb.sb_dblocks,
      uuid: sb.sb_uuid,
      label: sb.sb_fname,
      features: {
        versionBits: featureNames(sb.sb_versionnum & ~0xf, VERSION_BITS),
        features2: featureNames(sb.sb_features2, FEATURES2),
        roCompat: featureNames(sb.sb_features_ro_compat, FEAT_RO_COMPAT),
        incompat: featureNames(sb.sb_features_incompat, FEAT_INCOMPAT),
        logIncompat: featureNames(sb.sb_features_log_incompat, FEAT_LOG_INCOMPAT),
      },
      needsRecovery: log.state === 'dirty',
      log,
      ...(journal ? { journal } : {}),
      crc: crc as XfsInfo['crc'],
      truncated: sb.sb_dblocks * sb.sb_blocksize > src.size,
    };
    this.walker = {
      root: () => this.inode(sb.sb_rootino),
      typeOf: (node) => fileTypeOfMode(node.di_mode),
      lookup: (dir, name) => {
        const e = this.lookup(dir, name);
        return e && this.inode(e.ino);
      },
      readlink: (node) => this.symlinkTarget(node),
    };
  }

  /**
   * Opens the filesystem on `src`: reads and checks the superblock and the root inode. A dirty log is
   * replayed in memory first, as the kernel does at mount; when it cannot be, the filesystem is read
   * unreplayed and info.journal says why.
   */
  static open(src: ByteSource, options: XfsOpenOptions = {}): XfsFilesystem {
    const crc = new CrcTally();
    const sb = readSuperblock(src, crc);
    checkReadable(sb);
    const log = logState(src, sb);
    if (log.state !== 'dirty') return new XfsFilesystem(src, sb, crc, log).#checkRoot();
    if (options.norecovery) return new XfsFilesystem(src, sb, crc, log, { ...NOT_REPLAYED, reason: 'not replayed: opened with norecovery' }).#checkRoot();
    const { sectors, ...facts } = recoverXfsLog(src, sb);
    if (facts.replayed && sectors.size > 0) {
      try {
        const overlay = new JournalOverlayByteSource(src, 512, sectors);
        // The superblock may have been logged: read it again, as xlog_do_recover does after replay.
        const replayedCrc = new CrcTally();
        const replayedSb = readSuperblock(overlay, replayedCrc);
        checkReadable(replayedSb);
        if (replayedSb.sb_blocksize !== sb.sb_blocksize || replayedSb.sb_inodesize !== sb.sb_inodesize) {
          throw new ParseError('xfs superblock', 0, 'the replayed superblock changes the block or inode size');
        }
        return new XfsFilesystem(overlay, replayedSb, replayedCrc, log, facts).#checkRoot();
      } catch (e) {
        if (!(e instanceof ParseError || e instanceof UnsupportedError)) throw e;
        const unreplayed = { ...facts, replayed: false, blocksReplayed: 0, reason: `after replaying the log the filesystem is unreadable (${e.message}): read unreplayed` };
        return new XfsFilesystem(src, sb, crc, log, unreplayed).#checkRoot();
      }
    }
    return new XfsFilesystem(src, sb, crc, log, facts).#checkRoot();
  }

  #checkRoot(): this {
    const root = this.inode(this.sb.sb_rootino);
    if ((root.di_mode & S_IFMT) !== S_IFDIR) {
      throw new ParseError(`xfs inode ${this.sb.sb_rootino}`, root.offset, `the root inode is not a directory (di_mode 0o${root.di_mode.toString(8)})`);
    }
    return this;
  }

  // ---- inodes and their data ------------------------------------------------

  inode(ino: number): XfsInode {
    const hit = this.#inodeCache.get(ino);
    if (hit) return hit;
    const inode = readInode(this.src, this.sb, ino, this.#crc);
    this.#inodeCache.set(ino, inode);
    return inode;
  }

  /** The data fork's extents as runs of linear blocks (extent list or bmap btree), cached per inode. */
  runs(inode: XfsInode): Run[] {
    const hit = this.#runCache.get(inode.ino);
    if (hit) return hit;
    if ((inode.di_flags & XFS_DIFLAG_REALTIME) !== 0) {
      throw new UnsupportedError(`xfs inode ${inode.ino} keeps its data on the realtime device, which is not part of this image`);
    }
    const runs = dataForkRuns({ sb: this.sb, io: this.#io, crc: this.#crc }, inode);
    this.#runCache.set(inode.ino, runs);
    return runs;
  }

  /** Levels of the data fork's bmap btree (0: extents in the inode), or undefined for local/device forks. */
  bmbtLevels(inode: XfsInode): number | undefined {
    return inode.di_format === XFS_DINODE_FMT_EXTENTS || inode.di_format === XFS_DINODE_FMT_BTREE ? dataForkLevels(inode) : undefined;
  }

  /** Bytes [offset, offset+n) of the data mapped by `runs` (holes and unwritten extents read as zeros). */
  #readMapped(runs: Run[], offset: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    const bs = this.sb.sb_blocksize;
    // Runs are sorted and disjoint (dataForkRuns checks): start at the first one that can overlap.
    for (let i = firstRunEndingAfter(runs, Math.floor(offset / bs)); i < runs.length; i++) {
      const run = runs[i]!;
      const runStart = run.lblk * bs;
      if (runStart >= offset + n) break;
      if (run.uninit) continue;
      let a = Math.max(runStart, offset);
      const b = Math.min(runStart + run.len * bs, offset + n);
      while (a < b) {
        const len = Math.min(b - a, READ_CHUNK);
        out.set(this.src.read(run.pblk * bs + (a - runStart), len), a - offset);
        a += len;
      }
    }
    return out;
  }

  /** Bytes [offset, offset+length) of an inode's data, clipped to di_size; the caller bounds length. */
  readData(inode: XfsInode, offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, inode.di_size - offset));
    if (!Number.isSafeInteger(offset) || offset < 0 || n > 0x7fffffff) {
      throw new FsError('EINVAL', `inode ${inode.ino}`, `cannot read ${length} bytes at ${offset}`);
    }
    if (n === 0) return new Uint8Array(0);
    if (inode.di_format === XFS_DINODE_FMT_LOCAL) {
      if (inode.di_size > inode.dataFork.length) {
        throw new ParseError(`xfs inode ${inode.ino}`, inode.dataForkOffset, `local data of ${inode.di_size} bytes does not fit the ${inode.dataFork.length}-byte fork`);
      }
      return inode.dataFork.slice(offset, offset + n);
    }
    return this.#readMapped(this.runs(inode), offset, n);
  }

  /** A symlink's target: inline in the data fork ("local") or in remote blocks. */
  symlinkTarget(inode: XfsInode): string {
    const size = inode.di_size;
    if (size === 0 || size > Math.min(PATH_MAX, XFS_SYMLINK_MAXLEN)) {
      throw new ParseError(`xfs inode ${inode.ino}`, inode.offset, `symlink of ${size} bytes is empty or longer than XFS_SYMLINK_MAXLEN`);
    }
    if (inode.di_format === XFS_DINODE_FMT_LOCAL) return utf8.decode(this.readData(inode, 0, size));
    const bs = this.sb.sb_blocksize;
    const parts: Uint8Array[] = [];
    let got = 0;
    // xfs_readlink_bmap reads one buffer per extent; a v5 buffer has one header whatever its length.
    // The target and (v5) one header fit in this many blocks; a longer extent is not a symlink's.
    const maxBlocks = Math.ceil((XFS_SYMLINK_MAXLEN + XFS_SYMLINK_HDR) / bs);
    for (const run of this.runs(inode)) {
      if (got >= size) break;
      if (run.len > maxBlocks) {
        throw new ParseError(`xfs inode ${inode.ino}`, inode.offset, `symlink extent of ${run.len} blocks is longer than a symlink needs (${maxBlocks})`);
      }
      const bytes = this.src.read(run.pblk * bs, run.len * bs);
      const chunk = symlinkChunk(bytes, this.sb.hasCrc, {
        crc: this.#crc, owner: inode.ino, daddr: run.pblk * (bs / 512), offset: got,
        want: size - got, structure: `xfs symlink block of inode ${inode.ino}`, base: run.pblk * bs,
      });
      parts.push(chunk);
      got += chunk.length;
    }
    if (got !== size) {
      throw new ParseError(`xfs inode ${inode.ino}`, inode.offset, `remote symlink blocks hold ${got} of its ${size} bytes`);
    }
    return utf8.decode(Buffer.concat(parts));
  }

  // ---- directories ----------------------------------------------------------

  /** All live entries of a directory inode, "." and ".." first, in on-disk order. */
  dirEntries(inode: XfsInode): XfsDirEntry[] {
    return this.#dirIndex(inode).entries;
  }

  #dirIndex(inode: XfsInode): DirIndex {
    const hit = this.#dirCache.get(inode.ino);
    if (hit) return hit;
    if ((inode.di_mode & S_IFMT) !== S_IFDIR) throw new ParseError(`xfs inode ${inode.ino}`, inode.offset, 'not a directory');
    const entries = this.#readDirEntries(inode);
    const byName = new Map<string, XfsDirEntry>();
    for (const e of entries) if (!byName.has(bytesKey(e.name))) byName.set(bytesKey(e.name), e);
    const index: DirIndex = { entries, byName };
    if (entries.length <= MAX_CACHED_DIR_ENTRIES) this.#dirCache.set(inode.ino, index);
    return index;
  }

  #readDirEntries(inode: XfsInode): XfsDirEntry[] {
    const structure = `xfs directory inode ${inode.ino}`;
    if (inode.di_format === XFS_DINODE_FMT_LOCAL) {
      return parseShortform(inode.dataFork, inode.di_size, this.sb.hasFtype, inode.ino, structure, inode.dataForkOffset);
    }
    if (inode.di_size > MAX_DIR_BYTES) {
      throw new ParseError(structure, inode.offset, `directory of ${inode.di_size} bytes is larger than this reader scans (${MAX_DIR_BYTES})`);
    }
    const bs = this.sb.sb_blocksize;
    const dbs = this.sb.dirBlockSize;
    const fsbPerDirBlock = dbs / bs;
    const runs = this.runs(inode);
    // Data blocks are the directory blocks below di_size (leaf, node and free blocks live above 32 GiB); freed ones are holes.
    const dirBlocks = new Set<number>();
    for (const run of runs) {
      if (run.lblk * bs >= Math.min(inode.di_size, XFS_DIR2_LEAF_OFFSET)) break;
      const from = Math.floor(run.lblk / fsbPerDirBlock);
      const to = Math.ceil(Math.min(run.lblk + run.len, Math.ceil(inode.di_size / bs)) / fsbPerDirBlock);
      for (let d = from; d < to; d++) dirBlocks.add(d);
    }
    const out: XfsDirEntry[] = [];
    for (const d of [...dirBlocks].sort((a, b) => a - b)) {
      const first = runs[firstRunEndingAfter(runs, d * fsbPerDirBlock)];
      if (!first || first.lblk > d * fsbPerDirBlock) throw new ParseError(structure, inode.offset, `directory block ${d} is only partly mapped`);
      const pblk = first.pblk + (d * fsbPerDirBlock - first.lblk);
      const bytes = this.#readMapped(runs, d * dbs, dbs);
      parseDataBlock(bytes, {
        hasCrc: this.sb.hasCrc, hasFtype: this.sb.hasFtype, crc: this.#crc, owner: inode.ino, daddr: pblk * (bs / 512),
        structure: `${structure} block ${d}`, base: pblk * bs,
      }, out);
      if (out.length > MAX_DIR_ENTRIES) throw new ParseError(structure, pblk * bs, `more than ${MAX_DIR_ENTRIES} entries`);
    }
    return out;
  }

  /** How a directory is stored: in the inode, one block, data blocks plus one leaf, or a da-btree of leaves. */
  dirFormat(inode: XfsInode): XfsDirFormat {
    if (inode.di_format === XFS_DINODE_FMT_LOCAL) return 'shortform';
    const bs = this.sb.sb_blocksize;
    const leafLblk = XFS_DIR2_LEAF_OFFSET / bs;
    const runs = this.runs(inode);
    const leaf = runs[firstRunEndingAfter(runs, leafLblk)];
    if (!leaf || leaf.lblk > leafLblk) return 'block';
    const pblk = leaf.pblk + (leafLblk - leaf.lblk);
    const magic = leafBlockMagic(this.src.read(pblk * bs, Math.min(bs, 64)), `xfs directory inode ${inode.ino} leaf`, pblk * bs);
    if (magic === XFS_DIR2_LEAF1_MAGIC || magic === XFS_DIR3_LEAF1_MAGIC) return 'leaf';
    if ([XFS_DIR2_LEAFN_MAGIC, XFS_DIR3_LEAFN_MAGIC, XFS_DA_NODE_MAGIC, XFS_DA3_NODE_MAGIC].includes(magic)) return 'node';
    throw new ParseError(`xfs directory inode ${inode.ino}`, pblk * bs, `bad leaf block magic 0x${magic.toString(16)}`);
  }

  /** The entry called `name` in a directory (exact bytes). */
  lookup(dir: XfsInode, name: string): XfsDirEntry | undefined {
    return this.#dirIndex(dir).byName.get(bytesKey(Buffer.from(name, 'utf8')));
  }

  // ---- ReadOnlyFilesystem (NodeFilesystem does the rest) ------------------

  statNode(inode: XfsInode): FileStat {
    return {
      type: fileTypeOfMode(inode.di_mode),
      mode: inode.di_mode & 0o7777,
      size: inode.di_size,
      uid: inode.di_uid,
      gid: inode.di_gid,
      nlink: inode.di_nlink,
      mtime: inode.di_mtime,
      ino: inode.ino,
    };
  }

  protected listDirectory(dir: XfsInode): DirEntry[] {
    const out: DirEntry[] = [];
    for (const e of this.dirEntries(dir)) {
      const name = utf8.decode(e.name);
      if (name === '.' || name === '..') continue;
      // Without ftype (v4 without the feature) only the inode knows.
      const type = FT_TYPES[e.ftype] ?? fileTypeOfMode(this.inode(e.ino).di_mode);
      out.push({ name, type, ino: e.ino });
    }
    return out;
  }

  protected dataSize(node: XfsInode): number {
    return node.di_size;
  }
}

/** Opens an xfs filesystem read-only (a dirty log replayed in memory unless `norecovery`). */
export function openXfs(src: ByteSource, options: XfsOpenOptions = {}): XfsFilesystem {
  return XfsFilesystem.open(src, options);
}

