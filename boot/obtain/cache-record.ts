import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { HEX_LENGTH, type Digests, type FullDigests } from './digest.js';

/** Records are tiny; anything larger was not written by vmspec. */
const MAX_RECORD_BYTES = 64 * 1024;

/** What a verified cached image is (`.entry.json`). */
export interface EntryRecord extends FullDigests {
  version: 1;
  url: string;
  bytes: number;
  /** The image's mtime when recorded: a file changed since is hashed again, never trusted. */
  mtimeMs: number;
  /** Whether a pinned or listed digest was checked (false: downloaded with allowUnverified). */
  verified: boolean;
  completedAt: string;
}

/** What a `.part` file belongs to (`.part.json`), so a resume never splices two different files. */
export interface PartRecord {
  version: 1;
  url: string;
  /** The expected digests the download started with; a different pin discards the part. */
  expected: Digests;
  /** The server's validator for If-Range: a strong ETag or Last-Modified. */
  etag?: string;
  lastModified?: string;
}

function readJson(path: string): unknown {
  try {
    if (statSync(path).size > MAX_RECORD_BYTES) return undefined;
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined; // absent or unreadable: treated as no record
  }
}

const isHex = (v: unknown, n: number): v is string => typeof v === 'string' && v.length === n && /^[0-9a-f]+$/.test(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readEntryRecord(path: string): EntryRecord | undefined {
  const v = readJson(path);
  if (!isObject(v) || v.version !== 1 || typeof v.url !== 'string') return undefined;
  if (!Number.isSafeInteger(v.bytes) || (v.bytes as number) < 0 || typeof v.mtimeMs !== 'number') return undefined;
  if (!isHex(v.sha256, HEX_LENGTH.sha256) || !isHex(v.sha512, HEX_LENGTH.sha512) || typeof v.verified !== 'boolean') return undefined;
  return v as unknown as EntryRecord;
}

export function readPartRecord(path: string): PartRecord | undefined {
  const v = readJson(path);
  if (!isObject(v) || v.version !== 1 || typeof v.url !== 'string' || !isObject(v.expected)) return undefined;
  const e = v.expected;
  if ((e.sha256 !== undefined && !isHex(e.sha256, HEX_LENGTH.sha256)) || (e.sha512 !== undefined && !isHex(e.sha512, HEX_LENGTH.sha512))) return undefined;
  if ((v.etag !== undefined && typeof v.etag !== 'string') || (v.lastModified !== undefined && typeof v.lastModified !== 'string')) return undefined;
  return v as unknown as PartRecord;
}

/** Write a record so a reader sees the old one or the new one, never half. */
export function writeRecord(path: string, record: EntryRecord | PartRecord): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

export function removeQuietly(...paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

/** Do two sets of expected digests say the same thing? */
export function sameDigests(a: Digests, b: Digests): boolean {
  return a.sha256 === b.sha256 && a.sha512 === b.sha512;
}
