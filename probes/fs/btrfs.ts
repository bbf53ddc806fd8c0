import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { Lru } from '../lru.js';
import type { BtrfsKey } from './btrfs-bytes.js';
import { BTRFS_CHUNK_ITEM_KEY, ChunkMap, parseChunk, parseSysChunkArray, type BtrfsProfile } from './btrfs-chunks.js';
import { decompressExtent } from './btrfs-compression.js';
import {
  BTRFS_DIR_INDEX_KEY,
  BTRFS_DIR_ITEM_KEY,
  BTRFS_EXTENT_DATA_KEY,
  BTRFS_FIRST_CHUNK_TREE_OBJECTID,
  BTRFS_FS_TREE_OBJECTID,
  BTRFS_FT_BLKDEV,
  BTRFS_FT_CHRDEV,
  BTRFS_FT_DIR,
  BTRFS_FT_FIFO,
  BTRFS_FT_REG_FILE,
  BTRFS_FT_SOCK,
  BTRFS_FT_SYMLINK,
  BTRFS_INODE_ITEM_KEY,
  BTRFS_ROOT_ITEM_KEY,
  BTRFS_ROOT_TREE_DIR_OBJECTID,
  BTRFS_ROOT_TREE_OBJECTID,
  type BtrfsDirItem,
  type BtrfsFileExtent,
  type BtrfsInodeItem,
  parseDirItems,
  parseFileExtent,
  parseInodeItem,
  parseRootItem,
} from './btrfs-items.js';
import { BTRFS_SUPER_INFO_OFFSET, incompatNames, readSuperblock, type BtrfsSuperblock } from './btrfs-superblock.js';
import { TreeReader, U64_MAX, type CsumStats } from './btrfs-tree.js';
import {
  type DirEntry,
  type FileStat,
  type FileType,
  FsError,
  PATH_MAX,
  type PathWalker,
  resolvePath,
  splitPath,
  fileTypeOfMode,
  NodeFilesystem,
  S_IFDIR,
} from './filesystem.js';

/** BTRFS_INODE_REF_KEY: (inode, INODE_REF, parent directory) → index, name. */
const BTRFS_INODE_REF_KEY = 12;
/** Entries kept for one directory, as for ext4: bounds memory whatever the directory claims. */
export const MAX_DIR_ENTRIES = 1_000_000;
/** One source read is at most this, so a long extent never becomes one giant allocation. */
const READ_CHUNK = 8 * 1024 * 1024;
/** More nested directories than this between a subvolume and the top is damage. */
const MAX_PATH_DEPTH = 256;

/** The options openBtrfs takes. */
export interface BtrfsOpenOptions {
  /**
   * The subvolume to read, as a path from the top-level subvolume (id 5),
   * as `mount -o subvol=` takes it: "root", "@", "@/.snapshots/1/snapshot".
   * Without it: the default subvolume (`btrfs subvolume set-default`).
   */
  subvolume?: string;
}

/** Plain facts about the filesystem, for probes and reports. */
export interface BtrfsInfo {
  type: 'btrfs';
  /** fsid, 32 hex digits (what blkid and GRUB show as the UUID). */
  uuid: string;
  label: string;
  generation: string;
  sectorsize: number;
  nodesize: number;
  numDevices: number;
  checksum: 'crc32c' | 'sha256';
  incompat: string[];
  /** Chunk profiles present (SINGLE, DUP). */
  profiles: BtrfsProfile[];
  /** The subvolume `btrfs subvolume set-default` chose (5 when never set). */
  defaultSubvolume: string;
  /** The subvolume read: its id and path from the top level ("" for the top level itself). */
  subvolume: { id: string; path: string };
  /** A log tree exists (fsync'd data not yet replayed): we read the committed trees without it, as `mount -o norecovery` would. */
  needsRecovery: boolean;
  /** Tree block checksums verified so far, and copies that failed (a DUP copy may still have been good). */
  metadataCsums: CsumStats;
  truncated: boolean;
}

/** One tree (a subvolume, or the root/chunk tree): where its root node is. */
interface Tree {
  id: bigint;
  bytenr: number;
  level: number;
  /** The subvolume's top directory (BTRFS_FIRST_FREE_OBJECTID for subvolumes). */
  rootDir: bigint;
}

/** An inode in one subvolume's tree. */
export interface BtrfsNode {
  tree: Tree;
  ino: bigint;
  item: BtrfsInodeItem;
}

interface DirIndex {
  entries: { name: Uint8Array; item: BtrfsDirItem }[];
  byName: Map<string, BtrfsDirItem>;
}



const FT_TYPES: { [ft: number]: FileType } = {
  [BTRFS_FT_REG_FILE]: 'file',
  [BTRFS_FT_DIR]: 'directory',
  [BTRFS_FT_SYMLINK]: 'symlink',
  [BTRFS_FT_CHRDEV]: 'char-device',
  [BTRFS_FT_BLKDEV]: 'block-device',
  [BTRFS_FT_FIFO]: 'fifo',
  [BTRFS_FT_SOCK]: 'socket',
};

const utf8 = new TextDecoder('utf-8', { fatal: false });
const bytesKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
const key = (objectid: bigint, type: number, offset: bigint): BtrfsKey => ({ objectid, type, offset });
/** A subvolume deleted (or a snapshot's placeholder for a nested one) reads as an empty directory, as the kernel shows it. */
const EMPTY_DIR: BtrfsInodeItem = { size: 0, nbytes: 0, nlink: 1, uid: 0, gid: 0, mode: S_IFDIR | 0o755, flags: 0n, mtime: 0 };

/**
 * A read-only btrfs reader over a ByteSource (one device of the
 * filesystem). Opens the superblock, maps logical addresses through the
 * sys_chunk_array and chunk tree, then reads one subvolume's tree lazily:
 * only the tree blocks, inodes, directories and extents a call needs.
 * Every tree block's checksum is verified; damage is a ParseError, layouts
 * this reader does not follow (RAID profiles, other devices, zoned) an
 * UnsupportedError naming them.
 */
export class BtrfsFilesystem extends NodeFilesystem<BtrfsNode> {
  readonly type = 'btrfs';
  readonly info: BtrfsInfo;
  readonly #io: TreeReader;
  readonly #trees = new Map<bigint, Tree | null>();
  readonly #inodes = new Lru<string, BtrfsNode>(1024);
  readonly #dirs = new Lru<string, DirIndex>(32);
  readonly #decompressedCache = new Lru<string, Uint8Array>(16);
  protected readonly walker: PathWalker<BtrfsNode>;
  /** The subvolume read (its tree's top directory is `/`). */
  readonly root: BtrfsNode;

  private constructor(
    readonly src: ByteSource,
    readonly sb: BtrfsSuperblock,
    chunks: ChunkMap,
    options: BtrfsOpenOptions,
  ) {
    super();
    this.#io = new TreeReader(src, sb, chunks);
    const rootTree: Tree = { id: BTRFS_ROOT_TREE_OBJECTID, bytenr: sb.root, level: sb.root_level, rootDir: 0n };
    this.#trees.set(BTRFS_ROOT_TREE_OBJECTID, rootTree);
    const defaultId = this.#defaultSubvolume();
    this.walker = {
      root: () => this.root,
      typeOf: (n) => fileTypeOfMode(n.item.mode),
      lookup: (dir, name) => {
        const e = this.#dirIndex(dir).byName.get(bytesKey(Buffer.from(name, 'utf8')));
        return e && this.#follow(dir, e);
      },
      readlink: (n) => this.symlinkTarget(n),
    };
    let root: BtrfsNode;
    let path: string;
    if (options.subvolume !== undefined) {
      // Resolved from the top level (id 5), as mount's subvol= is.
      this.root = this.#subvolumeRoot(BTRFS_FS_TREE_OBJECTID, 'the top-level subvolume');
      const r = resolvePath(this.walker, options.subvolume, true);
      if (r.node.ino !== r.node.tree.rootDir) throw new FsError('EINVAL', options.subvolume, 'is a directory, not a subvolume');
      root = r.node;
      path = splitPath(r.path).join('/');
    } else {
      root = this.#subvolumeRoot(defaultId, `the default subvolume ${defaultId}`);
      path = this.subvolumePath(defaultId);
    }
    this.root = root;
    this.info = {
      type: 'btrfs',
      uuid: sb.fsid,
      label: sb.label,
      generation: sb.generation.toString(),
      sectorsize: sb.sectorsize,
      nodesize: sb.nodesize,
      numDevices: sb.num_devices,
      checksum: sb.csum_type === 0 ? 'crc32c' : 'sha256',
      incompat: incompatNames(sb.incompat_flags),
      profiles: [...new Set(chunks.chunks.map((c) => c.profile))],
      defaultSubvolume: defaultId.toString(),
      subvolume: { id: root.tree.id.toString(), path },
      needsRecovery: sb.log_root !== 0,
      metadataCsums: this.#io.stats,
      truncated: sb.total_bytes > src.size,
    };
  }

  /** Opens the filesystem: superblock, chunk tree, then the default subvolume (or options.subvolume). */
  static open(src: ByteSource, options: BtrfsOpenOptions = {}): BtrfsFilesystem {
    const sb = readSuperblock(src);
    const chunks = new ChunkMap(sb.devid);
    for (const c of parseSysChunkArray(sb.sys_chunk_array, BTRFS_SUPER_INFO_OFFSET + 0x32b)) chunks.add(c);
    const io = new TreeReader(src, sb, chunks);
    const first = key(BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, 0n);
    const last = key(BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, U64_MAX);
    const found = [];
    for (const item of io.range(sb.chunk_root, sb.chunk_root_level, first, last)) {
      if (item.key.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError('btrfs chunk tree', item.data.base, 'chunk logical address out of range');
      found.push(parseChunk(item.data, 0, Number(item.key.offset)).chunk);
    }
    for (const c of found) chunks.add(c);
    return new BtrfsFilesystem(src, sb, chunks, options);
  }

  // ---- trees and subvolumes -------------------------------------------------

  /** The root tree's DEFAULT dir item (in directory objectid 6) names the default subvolume; without it, 5. */
  #defaultSubvolume(): bigint {
    const rt = this.#trees.get(BTRFS_ROOT_TREE_OBJECTID)!;
    const from = key(BTRFS_ROOT_TREE_DIR_OBJECTID, BTRFS_DIR_ITEM_KEY, 0n);
    const to = key(BTRFS_ROOT_TREE_DIR_OBJECTID, BTRFS_DIR_ITEM_KEY, U64_MAX);
    for (const item of this.#io.range(rt.bytenr, rt.level, from, to)) {
      for (const d of parseDirItems(item.data)) {
        if (bytesKey(d.name) === 'default') return d.location.objectid;
      }
    }
    return BTRFS_FS_TREE_OBJECTID;
  }

  /** A subvolume's tree from its ROOT_ITEM in the root tree, or null when there is none (deleted). */
  tree(id: bigint): Tree | null {
    const hit = this.#trees.get(id);
    if (hit !== undefined) return hit;
    const rt = this.#trees.get(BTRFS_ROOT_TREE_OBJECTID)!;
    let tree: Tree | null = null;
    for (const item of this.#io.range(rt.bytenr, rt.level, key(id, BTRFS_ROOT_ITEM_KEY, 0n), key(id, BTRFS_ROOT_ITEM_KEY, U64_MAX))) {
      const r = parseRootItem(item.data);
      tree = { id, bytenr: r.bytenr, level: r.level, rootDir: r.root_dirid };
      break;
    }
    if (this.#trees.size < 4096) this.#trees.set(id, tree);
    return tree;
  }

  #subvolumeRoot(id: bigint, what: string): BtrfsNode {
    const tree = this.tree(id);
    if (!tree) throw new ParseError('btrfs root tree', -1, `${what} has no ROOT_ITEM`);
    const node = this.inode(tree, tree.rootDir);
    if (fileTypeOfMode(node.item.mode) !== 'directory') throw new ParseError(`btrfs subvolume ${id}`, -1, 'its top inode is not a directory');
    return node;
  }

  /**
   * A subvolume's path from the top level, from its ROOT_BACKREF (parent
   * subvolume, directory and name) and that directory's INODE_REFs.
   */
  subvolumePath(id: bigint): string {
    const parts: string[] = [];
    const rt = this.#trees.get(BTRFS_ROOT_TREE_OBJECTID)!;
    let cur = id;
    for (let depth = 0; cur !== BTRFS_FS_TREE_OBJECTID; depth++) {
      if (depth > MAX_PATH_DEPTH) throw new ParseError('btrfs root tree', -1, `subvolume ${id} is nested deeper than ${MAX_PATH_DEPTH}`);
      let ref: { parent: bigint; dirid: bigint; name: string } | undefined;
      for (const item of this.#io.range(rt.bytenr, rt.level, key(cur, 144, 0n), key(cur, 144, U64_MAX))) {
        const name_len = item.data.u16(16);
        ref = { parent: item.key.offset, dirid: item.data.u64big(0), name: utf8.decode(item.data.bytes(18, name_len)) };
        break;
      }
      if (!ref) return parts.length === 0 ? `<subvolume ${id}>` : parts.join('/');
      parts.unshift(ref.name);
      const parent = this.tree(ref.parent);
      if (parent) parts.unshift(...this.#dirPath(parent, ref.dirid));
      cur = ref.parent;
    }
    return parts.join('/');
  }

  /** Names from a subvolume's top directory down to directory `ino`, by INODE_REF. */
  #dirPath(tree: Tree, ino: bigint): string[] {
    const parts: string[] = [];
    for (let depth = 0; ino !== tree.rootDir; depth++) {
      if (depth > MAX_PATH_DEPTH) throw new ParseError(`btrfs tree ${tree.id}`, -1, `directory ${ino} is deeper than ${MAX_PATH_DEPTH}`);
      let next: bigint | undefined;
      for (const item of this.#io.range(tree.bytenr, tree.level, key(ino, BTRFS_INODE_REF_KEY, 0n), key(ino, BTRFS_INODE_REF_KEY, U64_MAX))) {
        const name_len = item.data.u16(8);
        parts.unshift(utf8.decode(item.data.bytes(10, name_len)));
        next = item.key.offset;
        break;
      }
      if (next === undefined) break;
      ino = next;
    }
    return parts;
  }

  // ---- inodes and their data ------------------------------------------------

  inode(tree: Tree, ino: bigint): BtrfsNode {
    const id = `${tree.id}/${ino}`;
    const hit = this.#inodes.get(id);
    if (hit) return hit;
    const found = this.#io.find(tree.bytenr, tree.level, key(ino, BTRFS_INODE_ITEM_KEY, 0n));
    if (!found) throw new ParseError(`btrfs tree ${tree.id}`, -1, `inode ${ino} has no INODE_ITEM`);
    const node = { tree, ino, item: parseInodeItem(found.data) };
    this.#inodes.set(id, node);
    return node;
  }

  /** The inode a directory entry names: in the same tree, or the top of another subvolume. */
  #follow(dir: BtrfsNode, e: BtrfsDirItem): BtrfsNode {
    if (e.location.type === BTRFS_ROOT_ITEM_KEY) {
      const tree = this.tree(e.location.objectid);
      return tree ? this.inode(tree, tree.rootDir) : { tree: dir.tree, ino: 0n, item: EMPTY_DIR };
    }
    if (e.location.type !== BTRFS_INODE_ITEM_KEY) throw new ParseError(`btrfs tree ${dir.tree.id}`, -1, `directory ${dir.ino} entry points at key type ${e.location.type}`);
    return this.inode(dir.tree, e.location.objectid);
  }

  /** An inode's EXTENT_DATA items, in file order. */
  *#extents(node: BtrfsNode): Generator<{ fileOffset: number; extent: BtrfsFileExtent; where: number }> {
    const t = node.tree;
    for (const item of this.#io.range(t.bytenr, t.level, key(node.ino, BTRFS_EXTENT_DATA_KEY, 0n), key(node.ino, BTRFS_EXTENT_DATA_KEY, U64_MAX))) {
      if (item.key.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError(item.data.structure, item.data.base, 'file offset out of range');
      yield { fileOffset: Number(item.key.offset), extent: parseFileExtent(item.data), where: item.data.base };
    }
  }

  /** Bytes at a logical address (data extents), through the chunk map, first copy. */
  #readLogical(logical: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = Math.min(length - done, READ_CHUNK, this.#io.chunks.contiguous(logical + done));
      out.set(this.src.read(this.#io.chunks.map(logical + done, n)[0]!, n), done);
      done += n;
    }
    return out;
  }

  /** A compressed extent, decompressed (cached: a file read in parts decompresses each extent once). */
  #decompressed(e: Extract<BtrfsFileExtent, { type: 'regular' | 'prealloc' }>, what: string): Uint8Array {
    const id = `${e.disk_bytenr}/${e.disk_num_bytes}`;
    const hit = this.#decompressedCache.get(id);
    if (hit) return hit;
    const data = decompressExtent(e.compression, this.#readLogical(e.disk_bytenr, e.disk_num_bytes), e.ram_bytes, this.sb.sectorsize, what);
    this.#decompressedCache.set(id, data);
    return data;
  }

  /**
   * Bytes [offset, offset+length) of an inode's data, clipped to its size.
   * Holes (missing or explicit) and prealloc extents read as zeros.
   */
  readData(node: BtrfsNode, offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, node.item.size - offset));
    if (!Number.isSafeInteger(offset) || offset < 0 || n > 0x7fffffff) {
      throw new FsError('EINVAL', `inode ${node.ino}`, `cannot read ${length} bytes at ${offset}`);
    }
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const end = offset + n;
    for (const { fileOffset, extent, where } of this.#extents(node)) {
      if (fileOffset >= end) break;
      const what = `btrfs inode ${node.ino} extent at file offset ${fileOffset}`;
      if (extent.type === 'inline') {
        const data = extent.compression === 0 ? extent.data : decompressExtent(extent.compression, extent.data, extent.ram_bytes, this.sb.sectorsize, what);
        const a = Math.max(fileOffset, offset);
        const b = Math.min(fileOffset + data.length, end);
        if (a < b) out.set(data.subarray(a - fileOffset, b - fileOffset), a - offset);
        continue;
      }
      const a = Math.max(fileOffset, offset);
      const b = Math.min(fileOffset + extent.num_bytes, end);
      if (a >= b || extent.type === 'prealloc' || extent.disk_bytenr === 0) continue; // zeros
      if (extent.compression !== 0) {
        const data = this.#decompressed(extent, what);
        const from = extent.offset + (a - fileOffset);
        if (from + (b - a) > data.length) throw new ParseError(what, where, `range [${from}, +${b - a}) lies outside the ${data.length} decompressed bytes`);
        out.set(data.subarray(from, from + (b - a)), a - offset);
      } else {
        if (extent.offset + extent.num_bytes > extent.disk_num_bytes) throw new ParseError(what, where, `offset ${extent.offset} + num_bytes ${extent.num_bytes} exceeds disk_num_bytes ${extent.disk_num_bytes}`);
        out.set(this.#readLogical(extent.disk_bytenr + extent.offset + (a - fileOffset), b - a), a - offset);
      }
    }
    return out;
  }

  /** A symlink's target: its data (an inline extent), at most PATH_MAX bytes. */
  symlinkTarget(node: BtrfsNode): string {
    if (node.item.size > PATH_MAX) throw new ParseError(`btrfs inode ${node.ino}`, -1, `symlink of ${node.item.size} bytes is longer than PATH_MAX`);
    return utf8.decode(this.readData(node, 0, node.item.size));
  }

  // ---- directories ----------------------------------------------------------

  #dirIndex(dir: BtrfsNode): DirIndex {
    const id = `${dir.tree.id}/${dir.ino}`;
    const hit = this.#dirs.get(id);
    if (hit) return hit;
    if (fileTypeOfMode(dir.item.mode) !== 'directory') throw new ParseError(`btrfs inode ${dir.ino}`, -1, 'not a directory');
    const entries: DirIndex['entries'] = [];
    const byName = new Map<string, BtrfsDirItem>();
    if (dir.ino !== 0n) {
      const t = dir.tree;
      // DIR_INDEX items: one entry each, in creation order, as readdir returns them.
      for (const item of this.#io.range(t.bytenr, t.level, key(dir.ino, BTRFS_DIR_INDEX_KEY, 0n), key(dir.ino, BTRFS_DIR_INDEX_KEY, U64_MAX))) {
        for (const d of parseDirItems(item.data)) {
          entries.push({ name: d.name, item: d });
          if (!byName.has(bytesKey(d.name))) byName.set(bytesKey(d.name), d);
        }
        if (entries.length > MAX_DIR_ENTRIES) throw new ParseError(`btrfs directory ${dir.ino}`, -1, `more than ${MAX_DIR_ENTRIES} entries`);
      }
    }
    const index = { entries, byName };
    if (entries.length <= 100_000) this.#dirs.set(id, index);
    return index;
  }

  // ---- ReadOnlyFilesystem (NodeFilesystem does the rest) ------------------

  /** Inode numbers repeat across subvolumes: those of other subvolumes than the one read carry their tree id above bit 32. */
  #ino(node: BtrfsNode): number {
    if (node.ino > 0xffffffffn) throw new ParseError(`btrfs tree ${node.tree.id}`, -1, `inode number ${node.ino} out of range`);
    if (node.tree.id === this.root.tree.id) return Number(node.ino);
    return Number(BigInt.asUintN(20, node.tree.id)) * 0x100000000 + Number(node.ino);
  }

  statNode(node: BtrfsNode): FileStat {
    const i = node.item;
    return { type: fileTypeOfMode(i.mode), mode: i.mode & 0o7777, size: i.size, uid: i.uid, gid: i.gid, nlink: i.nlink, mtime: i.mtime, ino: this.#ino(node) };
  }

  protected listDirectory(dir: BtrfsNode): DirEntry[] {
    return this.#dirIndex(dir).entries.map((e) => {
      const name = utf8.decode(e.name);
      if (e.item.location.type === BTRFS_ROOT_ITEM_KEY) {
        const child = this.#follow(dir, e.item);
        return { name, type: 'directory' as const, ino: this.#ino(child) };
      }
      const type = FT_TYPES[e.item.type] ?? fileTypeOfMode(this.#follow(dir, e.item).item.mode);
      return { name, type, ino: this.#ino({ tree: dir.tree, ino: e.item.location.objectid, item: EMPTY_DIR }) };
    });
  }

  protected dataSize(node: BtrfsNode): number {
    return node.item.size;
  }
}

/** Opens a btrfs filesystem read-only: the default subvolume, or options.subvolume. */
export function openBtrfs(src: ByteSource, options: BtrfsOpenOptions = {}): BtrfsFilesystem {
  return BtrfsFilesystem.open(src, options);
}
