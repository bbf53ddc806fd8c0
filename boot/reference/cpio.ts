import { hexDigits } from '../../bytes/hex.js';

/**
 * A deterministic "newc" cpio archive (the Linux initramfs format), built in
 * memory: entries sorted, parents first, inode numbers sequential, every
 * timestamp the same, uid/gid 0. No host tool, no root (device nodes are
 * just header fields).
 */

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return hexDigits(n, 8);
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function normalize(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new Error(`cpio: ".." in ${path}`);
  return parts.join('/');
}

export function buildCpio(entries: readonly CpioEntry[], mtime: number): Uint8Array {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const path = normalize(e.path);
    if (path === '') continue;
    if (byPath.has(path)) throw new Error(`cpio: duplicate entry ${path}`);
    byPath.set(path, { ...e, path });
    // Implied parent directories.
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const existing = byPath.get(dir);
      if (existing === undefined) byPath.set(dir, { type: 'dir', path: dir });
      else if (existing.type !== 'dir') throw new Error(`cpio: ${dir} is both a ${existing.type} and a directory`);
    }
  }
  const sorted = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chunks: Uint8Array[] = [];
  const enc = new TextEncoder();
  let ino = 1;
  const push = (name: string, mode: number, nlink: number, data: Uint8Array, rdevMajor = 0, rdevMinor = 0): void => {
    const nameBytes = enc.encode(name + '\0');
    const header =
      '070701' +
      hex8(ino++) +
      hex8(mode) +
      hex8(0) +
      hex8(0) +
      hex8(nlink) +
      hex8(mtime) +
      hex8(data.length) +
      hex8(0) +
      hex8(0) +
      hex8(rdevMajor) +
      hex8(rdevMinor) +
      hex8(nameBytes.length) +
      hex8(0);
    chunks.push(enc.encode(header), nameBytes, new Uint8Array(pad4(110 + nameBytes.length)), data, new Uint8Array(pad4(data.length)));
  };
  for (const e of sorted) {
    switch (e.type) {
      case 'dir':
        push(e.path, S_IFDIR | (e.mode ?? 0o755), 2, new Uint8Array(0));
        break;
      case 'file':
        push(e.path, S_IFREG | (e.mode ?? 0o644), 1, e.data);
        break;
      case 'symlink':
        push(e.path, S_IFLNK | 0o777, 1, enc.encode(e.target));
        break;
      case 'chardev':
        push(e.path, S_IFCHR | (e.mode ?? 0o600), 1, new Uint8Array(0), e.major, e.minor);
        break;
    }
  }
  ino = 0;
  push('TRAILER!!!', 0, 1, new Uint8Array(0));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}
