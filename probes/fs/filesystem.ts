import { ParseError } from '../../bytes/errors.js';

/**
 * A small read-only filesystem interface: what probes need to look inside an
 * image's root filesystem (os-release, boot files, kernel config) without
 * mounting it. Paths are POSIX, resolved from the filesystem's own root:
 * `..` never climbs above it, absolute symlink targets restart from it, and
 * symlink chains are bounded.
 */

export type FileType = 'file' | 'directory' | 'symlink' | 'char-device' | 'block-device' | 'fifo' | 'socket' | 'unknown';

export interface FileStat {
  type: FileType;
  /** Permission and set-id/sticky bits (mode & 0o7777). */
  mode: number;
  size: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Modification time, seconds since the epoch. */
  mtime: number;
  /** Identity of the file within this filesystem (the inode number on ext4). */
  ino: number;
}

export interface DirEntry {
  name: string;
  type: FileType;
  ino: number;
}

export interface ReadFileOptions {
  /** Largest file read (default 16 MiB). A bigger file is an EFBIG error unless `truncate`. */
  maxBytes?: number;
  /** Return the first maxBytes bytes of a bigger file instead of failing. */
  truncate?: boolean;
}

export interface ReadOnlyFilesystem {
  /** "ext4", "ext3", "ext2", ... */
  readonly type: string;
  /** Follows symlinks. */
  stat(path: string): FileStat;
  /** Does not follow a final symlink. */
  lstat(path: string): FileStat;
  /** Entries in on-disk order, without "." and "..". Follows symlinks. */
  readdir(path: string): DirEntry[];
  /** A regular file's content (following symlinks); holes read as zeros. */
  readFile(path: string, options?: ReadFileOptions): Uint8Array;
  /** Up to `length` bytes of a regular file at `offset` (fewer at the end), for large files read in parts. */
  read(path: string, offset: number, length: number): Uint8Array;
  /** Optional: read(path, offset, out.length) written into `out`; returns how many bytes the file held there. */
  readInto?(path: string, offset: number, out: Uint8Array): number;
  /** A symlink's target, as stored. */
  readlink(path: string): string;
  /** The canonical absolute path, every symlink resolved. */
  realpath(path: string): string;
  /** False for a missing path (or a dangling/looping symlink); damage still throws. */
  exists(path: string): boolean;
}

/** Linux's MAXSYMLINKS: more hops than this is a loop as far as anyone can tell. */
export const MAX_SYMLINK_HOPS = 40;
/** Linux's PATH_MAX, for paths given and symlink targets read. */
export const PATH_MAX = 4096;
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Whatever the caller asks, one readFile allocates at most this. */
export const HARD_MAX_FILE_BYTES = 1024 * 1024 * 1024;

export type FsErrorCode = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EINVAL' | 'EFBIG' | 'ENAMETOOLONG';

/** A path that cannot be followed in an intact filesystem (missing, wrong type, symlink loop): not damage. */
export class FsError extends Error {
  override readonly name = 'FsError';
  constructor(
    readonly code: FsErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`${code}: ${path}: ${message}`);
  }
}

/** What a path is (symlinks followed), or undefined when absent or unreachable: for "is there a…" questions. */
export function typeAt(fs: ReadOnlyFilesystem, path: string): FileStat['type'] | undefined {
  try {
    return fs.stat(path).type;
  } catch (e) {
    if (e instanceof FsError) return undefined;
    throw e;
  }
}

/** File type bits of st_mode (POSIX <sys/stat.h>), the same on every Linux filesystem. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** The file type an inode's mode says. */
export function fileTypeOfMode(mode: number): FileType {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'directory';
    case S_IFLNK: return 'symlink';
    case S_IFCHR: return 'char-device';
    case S_IFBLK: return 'block-device';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    default: return 'unknown';
  }
}

/** What a filesystem gives the generic path resolver. */
export interface PathWalker<N> {
  root(): N;
  typeOf(node: N): FileType;
  /** The child called `name`, or undefined. */
  lookup(dir: N, name: string): N | undefined;
  readlink(node: N): string;
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * Resolves a path component by component, as the kernel's path walk does:
 * `..` goes back to the directory we came from (never above the root, never
 * read from disk), a symlink's target is spliced in (absolute ones restart at
 * the root), and more than MAX_SYMLINK_HOPS symlinks is ELOOP.
 */
export function resolvePath<N>(w: PathWalker<N>, path: string, followFinal: boolean): { node: N; path: string } {
  if (typeof path !== 'string' || path.includes('\0')) throw new FsError('EINVAL', String(path), 'not a valid path');
  if (path.length > PATH_MAX) throw new FsError('ENAMETOOLONG', path.slice(0, 64) + '…', `path longer than ${PATH_MAX}`);
  const trailingSlash = /\/\.?$/.test(path) && splitPath(path).length > 0;
  const root = w.root();
  const stack: { name: string; node: N }[] = [];
  const top = (): N => (stack.length ? stack[stack.length - 1]!.node : root);
  const here = (): string => '/' + stack.map((s) => s.name).join('/');
  const queue = splitPath(path).reverse();
  let hops = 0;
  while (queue.length > 0) {
    const comp = queue.pop()!;
    const dir = top();
    if (w.typeOf(dir) !== 'directory') throw new FsError('ENOTDIR', here(), 'not a directory');
    if (comp === '..') {
      stack.pop();
      continue;
    }
    const child = w.lookup(dir, comp);
    if (child === undefined) throw new FsError('ENOENT', joinPath(here(), comp), 'no such file or directory');
    const last = queue.length === 0;
    if (w.typeOf(child) === 'symlink' && (!last || followFinal || trailingSlash)) {
      if (++hops > MAX_SYMLINK_HOPS) throw new FsError('ELOOP', path, `more than ${MAX_SYMLINK_HOPS} symbolic links`);
      const target = w.readlink(child);
      if (target === '') throw new FsError('ENOENT', joinPath(here(), comp), 'empty symlink');
      if (target.startsWith('/')) stack.length = 0;
      queue.push(...splitPath(target).reverse());
      continue;
    }
    stack.push({ name: comp, node: child });
  }
  const node = top();
  if (trailingSlash && w.typeOf(node) !== 'directory') throw new FsError('ENOTDIR', here(), 'not a directory');
  return { node, path: here() };
}

/**
 * The ReadOnlyFilesystem calls written once, over what each reader knows of
 * its own nodes (ext4 and xfs inodes, btrfs subvolume-and-inode pairs): how
 * to stat one, list a directory, read file data and a link target. Paths go
 * through resolvePath, so every reader follows the same rules and caps.
 */
export abstract class NodeFilesystem<N> implements ReadOnlyFilesystem {
  abstract readonly type: string;
  protected abstract readonly walker: PathWalker<N>;
  abstract statNode(node: N): FileStat;
  /** A regular file's size in bytes. */
  protected abstract dataSize(node: N): number;
  /** A directory's entries in on-disk order, without "." and "..". */
  protected abstract listDirectory(dir: N): DirEntry[];
  /** Up to `length` bytes of a regular file's data from `offset` (fewer at the end); holes read as zeros. */
  abstract readData(node: N, offset: number, length: number): Uint8Array;
  /** readData(node, offset, out.length) written into `out`; returns how many bytes it wrote. A reader that can fill `out` in place overrides it. */
  readDataInto(node: N, offset: number, out: Uint8Array): number {
    const bytes = this.readData(node, offset, out.length);
    out.set(bytes);
    return bytes.length;
  }
  abstract symlinkTarget(node: N): string;

  /** Resolves a path to its node (following a final symlink unless `follow` is false). */
  resolve(path: string, follow = true): { node: N; path: string } {
    return resolvePath(this.walker, path, follow);
  }

  stat(path: string): FileStat {
    return this.statNode(this.resolve(path, true).node);
  }

  lstat(path: string): FileStat {
    return this.statNode(this.resolve(path, false).node);
  }

  readdir(path: string): DirEntry[] {
    const { node, path: real } = this.resolve(path, true);
    if (this.walker.typeOf(node) !== 'directory') throw new FsError('ENOTDIR', real, 'not a directory');
    return this.listDirectory(node);
  }

  readFile(path: string, options?: ReadFileOptions): Uint8Array {
    const { maxBytes, truncate } = fileLimit(options);
    const node = this.#regularFile(path);
    const size = this.dataSize(node);
    if (size > maxBytes && !truncate) throw new FsError('EFBIG', path, `file of ${size} bytes exceeds maxBytes ${maxBytes}`);
    return this.readData(node, 0, Math.min(size, maxBytes));
  }

  read(path: string, offset: number, length: number): Uint8Array {
    const { maxBytes } = fileLimit({ maxBytes: length });
    const node = this.#regularFile(path);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new FsError('EINVAL', path, `invalid offset ${offset}`);
    return this.readData(node, offset, maxBytes);
  }

  readInto(path: string, offset: number, out: Uint8Array): number {
    fileLimit({ maxBytes: out.length });
    const node = this.#regularFile(path);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new FsError('EINVAL', path, `invalid offset ${offset}`);
    return this.readDataInto(node, offset, out);
  }

  #regularFile(path: string): N {
    const { node, path: real } = this.resolve(path, true);
    const type = this.walker.typeOf(node);
    if (type === 'directory') throw new FsError('EISDIR', real, 'is a directory');
    if (type !== 'file') throw new FsError('EINVAL', real, `is a ${type}, not a regular file`);
    return node;
  }

  readlink(path: string): string {
    const { node, path: real } = this.resolve(path, false);
    if (this.walker.typeOf(node) !== 'symlink') throw new FsError('EINVAL', real, 'not a symbolic link');
    return this.symlinkTarget(node);
  }

  realpath(path: string): string {
    return this.resolve(path, true).path;
  }

  exists(path: string): boolean {
    try {
      this.resolve(path, true);
      return true;
    } catch (e) {
      if (e instanceof FsError) return false;
      throw e;
    }
  }
}

/** ReadFileOptions checked and defaulted. */
export function fileLimit(options: ReadFileOptions | undefined): { maxBytes: number; truncate: boolean } {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > HARD_MAX_FILE_BYTES) {
    throw new FsError('EINVAL', '', `maxBytes ${maxBytes} is outside 0..${HARD_MAX_FILE_BYTES}`);
  }
  return { maxBytes, truncate: options?.truncate ?? false };
}

export interface WalkOptions {
  /** Deeper directories are reported as damage (default 256). */
  maxDepth?: number;
  /** Stop with an error after this many entries (default 1,000,000). */
  maxEntries?: number;
}

export interface WalkEntry {
  path: string;
  type: FileType;
  ino: number;
  depth: number;
}

/**
 * Every entry under `start`, depth first, without following symlinks. A
 * directory reached twice (a directory hard link or an entry pointing back up
 * the tree) is damage and a ParseError, so walking a crafted image ends.
 */
export function* walk(fs: ReadOnlyFilesystem, start = '/', options: WalkOptions = {}): Generator<WalkEntry> {
  const maxDepth = options.maxDepth ?? 256;
  const maxEntries = options.maxEntries ?? 1_000_000;
  const rootPath = fs.realpath(start);
  const rootStat = fs.stat(rootPath);
  if (rootStat.type !== 'directory') throw new FsError('ENOTDIR', start, 'not a directory');
  const seen = new Map<number, string>([[rootStat.ino, rootPath]]);
  let count = 0;
  const stack: { path: string; depth: number }[] = [{ path: rootPath, depth: 0 }];
  while (stack.length > 0) {
    const { path, depth } = stack.pop()!;
    const children: { path: string; depth: number }[] = [];
    for (const e of fs.readdir(path)) {
      if (++count > maxEntries) throw new ParseError('directory tree', -1, `more than ${maxEntries} entries under ${rootPath}`);
      const p = joinPath(path, e.name);
      yield { path: p, type: e.type, ino: e.ino, depth: depth + 1 };
      if (e.type !== 'directory') continue;
      const first = seen.get(e.ino);
      if (first !== undefined) {
        throw new ParseError('directory tree', -1, `directory cycle: ${p} is the same directory (inode ${e.ino}) as ${first}`);
      }
      seen.set(e.ino, p);
      if (depth + 1 >= maxDepth) throw new ParseError('directory tree', -1, `${p} is deeper than ${maxDepth} levels`);
      children.push({ path: p, depth: depth + 1 });
    }
    stack.push(...children.reverse());
  }
}
