import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import type { EvidenceManifest } from './manifest.js';

/**
 * A guest's facts, read as files. Probes read `/sys/firmware/acpi/tables/APIC`
 * or `/proc/consoles` through this interface and never care whether the
 * bytes come from the running system, a bundle directory or a bundle tar.
 *
 * All methods are synchronous and read-only. Paths are guest paths
 * (`/sys/...`; a relative path is taken from the root). `..` that would
 * climb above the root is refused.
 */
export interface Sysroot {
  readonly kind: SysrootKind;
  /** Human name for messages: "/", the bundle directory or tar path. */
  readonly name: string;
  /** The bundle's manifest.json (directory and tar bundles that have one). */
  readonly manifest?: EvidenceManifest;
  /** True when the path names something (symlinks followed; a dangling link is false). */
  exists(path: string): boolean;
  /**
   * A regular file's bytes. Throws NotFoundError when absent,
   * UnreadableInGuestError when the collector recorded it as unreadable,
   * ParseError when larger than `maxBytes` (default 16 MiB) or when its
   * content does not match the bundle manifest, UnsupportedError for
   * directories, devices and other non-files.
   */
  readFile(path: string, opts?: ReadFileOptions): Uint8Array;
  /** Names in a directory, sorted (no "." or ".."). */
  readdir(path: string): string[];
  /** A symlink's target text, as stored (not resolved). */
  readlink(path: string): string;
  /** What the path is (symlinks followed), or undefined when absent. */
  stat(path: string): SysrootStat | undefined;
  /** Check every file the manifest lists (size, sha256) and look for unlisted ones. */
  verify(): IntegrityReport;
  /** Integrity problems met so far while reading (mismatches, unlisted files). */
  readonly issues: readonly IntegrityIssue[];
  close(): void;
}

export type SysrootKind = 'live' | 'directory' | 'tar';

export interface ReadFileOptions {
  /** Refuse files larger than this (default DEFAULT_MAX_FILE_BYTES; never above MAX_READ). */
  maxBytes?: number;
}

export type SysrootStat =
  | { type: 'file'; size: number }
  | { type: 'dir' }
  | { type: 'symlink'; target: string }
  | { type: 'other'; what: string };

export interface IntegrityIssue {
  /** Bundle-relative path ("sys/firmware/fdt"). */
  path: string;
  kind: 'sha256-mismatch' | 'size-mismatch' | 'missing' | 'unlisted';
  message: string;
}

export interface IntegrityReport {
  /** False for a bundle without manifest (nothing to verify against) and for live roots. */
  hasManifest: boolean;
  checked: number;
  ok: boolean;
  issues: IntegrityIssue[];
}

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

/** The path does not exist in the guest (or was not collected). */
export class NotFoundError extends UnsupportedError {
  readonly code = 'ENOENT';
  constructor(readonly path: string, where: string) {
    super(`${where}: ${path}: no such file or directory`);
    Object.defineProperty(this, 'name', { value: 'NotFoundError' });
  }
}

/** The collector could not read this path in the guest; `reason` is what it recorded. */
export class UnreadableInGuestError extends UnsupportedError {
  readonly code = 'EGUEST';
  constructor(readonly path: string, readonly reason: string, where: string) {
    super(`${where}: ${path} was unreadable in the guest: ${reason}`);
    Object.defineProperty(this, 'name', { value: 'UnreadableInGuestError' });
  }
}

/**
 * Split a guest path into components, resolving "." and ".." lexically.
 * Refuses NUL bytes and ".." above the root.
 */
export function splitGuestPath(path: string, where: string): string[] {
  if (typeof path !== 'string') throw new UnsupportedError(`${where}: path must be a string`);
  if (path.includes('\0')) throw new ParseError(where, -1, `path ${JSON.stringify(path)} contains a NUL byte`);
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new UnsupportedError(`${where}: path ${JSON.stringify(path)} climbs above the root`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

export function guestPath(components: readonly string[]): string {
  return '/' + components.join('/');
}

/** Read a file as UTF-8 text (sysfs/proc files are text). */
export function readText(root: Sysroot, path: string, opts?: ReadFileOptions): string {
  return new TextDecoder('utf-8').decode(root.readFile(path, opts));
}

/** Like readText, but undefined when the file is absent (other errors still throw). */
export function readTextIfExists(root: Sysroot, path: string, opts?: ReadFileOptions): string | undefined {
  try {
    return readText(root, path, opts);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}
