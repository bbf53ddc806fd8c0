import { FsError, joinPath, NodeFilesystem, splitPath, type DirEntry, type FileStat, type PathWalker, type ReadOnlyFilesystem } from '../fs/filesystem.js';

/**
 * Several read-only filesystems seen as one tree, as the OS mounts them:
 * the root at "/", and each other filesystem over a directory (its mount
 * point, "/boot", "/usr", "/boot/efi"). The path walk is the one every
 * reader uses (resolvePath): stepping onto a mount point enters the
 * mounted filesystem's root, `..` from there returns to the parent
 * mount, and an absolute symlink restarts at the root of the whole tree
 * (as it does on a running system). Inode numbers are made unique across
 * filesystems (the filesystem's index above bit 40), so tree walks that
 * detect cycles by inode see no false ones.
 */

export interface Mount {
  /** Absolute mount point; "/" for the root. */
  at: string;
  fs: ReadOnlyFilesystem;
}

interface MountedNode {
  /** Index into the mounts. */
  m: number;
  /** Canonical path inside that filesystem. */
  path: string;
  /** Path in the whole tree (for mount-point lookups). */
  os: string;
}

const INO_SPAN = 2 ** 40;
/** Paths whose lstat is kept at once. */
const MAX_CACHED_STATS = 4096;

/** A mount point in canonical form: absolute, no "." or "..", no trailing slash. Null for one that is not absolute or climbs. */
export function normaliseMountPoint(at: string): string | null {
  if (!at.startsWith('/')) return null;
  const parts = splitPath(at);
  if (parts.includes('..')) return null;
  return '/' + parts.join('/');
}

export class MountedFilesystem extends NodeFilesystem<MountedNode> {
  readonly type: string;
  readonly mounts: readonly Mount[];
  readonly #at = new Map<string, number>();
  readonly #stats = new Map<string, FileStat | FsError>();
  protected readonly walker: PathWalker<MountedNode>;

  /** `mounts[0]` is the root; later mounts over the same point hide earlier ones, as mount(8) stacks them. */
  constructor(mounts: Mount[]) {
    super();
    if (mounts.length === 0 || mounts[0]!.at !== '/') throw new Error('MountedFilesystem: the first mount must be the root');
    this.mounts = mounts;
    this.type = mounts[0]!.fs.type;
    mounts.forEach((mt, i) => {
      if (i > 0) this.#at.set(mt.at, i);
    });
    this.walker = {
      root: () => ({ m: 0, path: '/', os: '/' }),
      typeOf: (n) => this.#lstat(n).type,
      lookup: (dir, name) => {
        const os = joinPath(dir.os, name);
        const m = this.#at.get(os);
        if (m !== undefined) return { m, path: '/', os };
        const node = { m: dir.m, path: joinPath(dir.path, name), os };
        try {
          this.#lstat(node);
          return node;
        } catch (e) {
          if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return undefined;
          throw e;
        }
      },
      readlink: (n) => this.symlinkTarget(n),
    };
  }

  /**
   * What the mounted filesystem says of a node, asked once per path: the
   * walk asks for each component's type several times, and each ask
   * resolves the whole path in the mounted filesystem again. A missing
   * path is remembered too; damage is not (it is thrown each time).
   */
  #lstat(n: MountedNode): FileStat {
    const key = `${n.m}\0${n.path}`;
    const known = this.#stats.get(key);
    if (known instanceof FsError) throw known;
    if (known) return known;
    if (this.#stats.size >= MAX_CACHED_STATS) this.#stats.clear();
    try {
      const st = this.mounts[n.m]!.fs.lstat(n.path);
      this.#stats.set(key, st);
      return st;
    } catch (e) {
      if (e instanceof FsError) this.#stats.set(key, e);
      throw e;
    }
  }

  /** The mounted filesystem that holds `path` (symlinks followed, as stat does) and the canonical path in it. Throws FsError as stat does. */
  locate(path: string): { fs: ReadOnlyFilesystem; path: string } {
    const { node } = this.resolve(path);
    return { fs: this.mounts[node.m]!.fs, path: node.path };
  }

  statNode(n: MountedNode): FileStat {
    const st = this.#lstat(n);
    return n.m === 0 ? st : { ...st, ino: n.m * INO_SPAN + (st.ino % INO_SPAN) };
  }

  protected dataSize(n: MountedNode): number {
    return this.#lstat(n).size;
  }

  protected listDirectory(n: MountedNode): DirEntry[] {
    const entries = this.mounts[n.m]!.fs.readdir(n.path);
    if (n.m === 0) return entries;
    return entries.map((e) => ({ ...e, ino: n.m * INO_SPAN + (e.ino % INO_SPAN) }));
  }

  readData(n: MountedNode, offset: number, length: number): Uint8Array {
    return this.mounts[n.m]!.fs.read(n.path, offset, length);
  }

  override readDataInto(n: MountedNode, offset: number, out: Uint8Array): number {
    const fs = this.mounts[n.m]!.fs;
    return fs.readInto ? fs.readInto(n.path, offset, out) : super.readDataInto(n, offset, out);
  }

  symlinkTarget(n: MountedNode): string {
    return this.mounts[n.m]!.fs.readlink(n.path);
  }
}
