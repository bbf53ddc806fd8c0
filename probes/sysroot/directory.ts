import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { BundleSysroot, type BundleNode } from './bundle.js';

function fsError(e: unknown, where: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EACCES' || err.code === 'EPERM') return new UnsupportedError(`${where}: permission denied`, 'read the bundle as a user that can');
  if (err.code === 'ELOOP') return new ParseError(where, -1, 'is a symlink where a file was expected: refused');
  return new UnsupportedError(`${where}: ${err.message}`);
}

function nodeOf(st: Stats, full: string): BundleNode {
  if (st.isFile()) return { type: 'file', size: st.size };
  if (st.isDirectory()) return { type: 'dir' };
  if (st.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(full, 'utf8') };
  const what = st.isBlockDevice() ? 'block device' : st.isCharacterDevice() ? 'character device' : st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : 'unknown';
  return { type: 'other', what };
}

/**
 * An evidence bundle unpacked in a directory (collect.sh --out DIR). Paths
 * are resolved by BundleSysroot: each component is lstat'ed and symlinks are
 * followed only inside the bundle; the final file is opened with O_NOFOLLOW.
 * Devices, fifos and sockets are never opened.
 */
export class DirectorySysroot extends BundleSysroot {
  readonly kind = 'directory' as const;
  readonly root: string;

  constructor(dir: string) {
    super(resolve(dir));
    this.root = resolve(dir);
    let st: Stats;
    try {
      st = statSync(this.root);
    } catch (e) {
      throw fsError(e, this.root);
    }
    if (!st.isDirectory()) throw new UnsupportedError(`${this.root} is not a directory`);
    this.loadManifest();
  }

  #full(components: readonly string[]): string {
    for (const c of components) {
      if (c === '' || c === '.' || c === '..' || c.includes('/') || c.includes('\0')) {
        throw new ParseError(this.name, -1, `bad path component ${JSON.stringify(c)}`);
      }
    }
    return join(this.root, ...components);
  }

  protected lstatNode(components: readonly string[]): BundleNode | undefined {
    if (components.length === 0) return { type: 'dir' };
    const full = this.#full(components);
    try {
      return nodeOf(lstatSync(full), full);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw fsError(e, full);
    }
  }

  protected readNode(components: readonly string[], size: number): Uint8Array {
    const full = this.#full(components);
    let fd: number;
    try {
      fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      throw fsError(e, full);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new UnsupportedError(`${full} is not a regular file: refused`);
      if (st.size !== size) throw new ParseError(this.name, -1, `${full} changed size while being read`);
      const buf = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, buf, done, size - done, done);
        if (n === 0) throw new ParseError(this.name, done, `${full}: unexpected end of file`);
        done += n;
      }
      return buf;
    } finally {
      closeSync(fd);
    }
  }

  protected listNode(components: readonly string[]): string[] {
    const full = components.length === 0 ? this.root : this.#full(components);
    try {
      return readdirSync(full);
    } catch (e) {
      throw fsError(e, full);
    }
  }

  protected allFiles(): string[] {
    const out: string[] = [];
    const walk = (components: string[], depth: number): void => {
      if (depth > 64) throw new ParseError(this.name, -1, 'directory tree deeper than 64 levels');
      for (const name of this.listNode(components)) {
        const c = [...components, name];
        const node = this.lstatNode(c);
        if (node?.type === 'file') out.push(c.join('/'));
        else if (node?.type === 'dir') walk(c, depth + 1);
      }
    };
    walk([], 0);
    return out.sort();
  }

  close(): void {
    // Nothing held open between calls.
  }
}
