import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UnsupportedError } from '../../bytes/errors.js';
import { buildCpio, type CpioEntry } from '../reference/cpio.js';

/**
 * A directory tree (e.g. a boot/nested/debian-root.ts root) packed as a
 * gzip newc initramfs with boot/reference/cpio.ts: deterministic (sorted,
 * one timestamp, uid/gid 0), regular files, directories and symlinks only
 * (a package tree has no device nodes; `extra` adds them). `extra` entries
 * replace a tree entry of the same path; `keep` leaves paths out (documentation,
 * what the guest never runs).
 */

export interface PackOptions {
  /** Entries added after the tree; an entry of the same path replaces the tree's. */
  extra?: CpioEntry[];
  /** Relative path (no leading slash) → whether to pack it; a directory left out is left out whole. */
  keep?: (path: string, kind: 'dir' | 'file' | 'symlink') => boolean;
  /** The timestamp of every entry (seconds). */
  mtime: number;
  /** gzip level (default 6: the L1 kernel unpacks it under TCG, where the size costs less than the level's time here). */
  level?: number;
}

/** The entries of a tree, parents before children, sorted. */
export function treeEntries(root: string, keep: PackOptions['keep'] = () => true): CpioEntry[] {
  const out: CpioEntry[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, path));
      if (st.isDirectory()) {
        if (!keep(path, 'dir')) continue;
        out.push({ type: 'dir', path, mode: st.mode & 0o7777 });
        walk(path);
      } else if (st.isSymbolicLink()) {
        if (keep(path, 'symlink')) out.push({ type: 'symlink', path, target: readlinkSync(join(root, path)) });
      } else if (st.isFile()) {
        if (keep(path, 'file')) out.push({ type: 'file', path, data: readFileSync(join(root, path)), mode: st.mode & 0o7777 });
      } else {
        throw new UnsupportedError(`${join(root, path)}: neither a file, a directory nor a symlink; a package tree should hold none`);
      }
    }
  };
  walk('');
  return out;
}

/** The tree plus `extra`, as a gzip newc archive. */
export function packInitramfs(root: string, o: PackOptions): Uint8Array {
  const extra = o.extra ?? [];
  const replaced = new Set(extra.map((e) => e.path.replace(/^\/+/, '')));
  const entries = [...treeEntries(root, o.keep).filter((e) => !replaced.has(e.path)), ...extra];
  return gzipSync(buildCpio(entries, o.mtime), { level: o.level ?? 6 });
}
