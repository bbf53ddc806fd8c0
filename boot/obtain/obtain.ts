import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import { cacheEntryPaths, defaultImageCacheDir, type CacheEntryPaths } from './cache-layout.js';
import { acquireCacheLock } from './cache-lock.js';
import { readEntryRecord, writeRecord } from './cache-record.js';
import { firstMismatch, hasDigest, HASH_ALGORITHMS, type Digests, type FullDigests, type HashAlgorithm } from './digest.js';
import { downloadToCache } from './download.js';
import { ChecksumMismatchError } from './errors.js';
import { expectedDigests } from './expected-digests.js';
import { digestFile, type FileDigestOptions } from '../../bytes/file-digest.js';
import type { DiskFormat } from '../../probes/image/disk-format.js';
import { sniffImageFormat } from './image-format.js';
import { urlFileName } from './image-name.js';
import { parseSource } from './source.js';

/** Defaults: 64 GiB, a minute of silence, ten redirects. */
export const OBTAIN_DEFAULTS = { maxBytes: 64 * 1024 ** 3, idleTimeoutMs: 60_000, maxRedirects: 10 } as const;

/** Progress: `download` counts bytes received (with a resumed prefix), `verify` bytes hashed of a file already on disk. */
export interface ObtainProgress {
  phase: 'download' | 'verify';
  received: number;
  total?: number;
}

export interface ObtainRequest {
  /** A path, an http(s):// URL or a file:// URL. */
  source: string;
  /** Pinned digests (hex). */
  sha256?: string;
  sha512?: string;
  /** A SHA256SUMS / SHA512SUMS / CHECKSUM list (GNU or BSD lines) that names the image. */
  sumsUrl?: string;
  /** The algorithm the checksum list must give for the image (default: whichever it gives). */
  sumsAlgorithm?: HashAlgorithm;
  /** Default: $XDG_CACHE_HOME/vmspec/images or ~/.cache/vmspec/images. */
  cacheDir?: string;
  /** Largest image accepted (default 64 GiB), checked against Content-Length and the bytes received. */
  maxBytes?: number;
  /** Download over http(s) without any digest to check. Off by default. */
  allowUnverified?: boolean;
  /** Longest silence on the connection (default 60 s). */
  idleTimeoutMs?: number;
  /** Redirects followed (default 10). */
  maxRedirects?: number;
  /** On abort, delete the partial download too (default: keep it so the next run resumes). */
  discardPartialOnAbort?: boolean;
  onProgress?: (p: ObtainProgress) => void;
  signal?: AbortSignal;
}

export interface ObtainedImage {
  /** The image to boot: the caller's own file (never copied) or the verified file in the cache. */
  path: string;
  /** The request's source, as given. */
  source: string;
  sha256: string;
  bytes: number;
  /** Found in the cache (no download). */
  cached: boolean;
  /** Downloaded by this call. */
  downloaded: boolean;
  format: DiskFormat;
  /** The digests checked against a pin or a checksum list; empty when nothing was verified. */
  verifiedWith: HashAlgorithm[];
  /** Byte offset a download resumed from (0: from the start, or not downloaded). */
  resumedFrom: number;
}

/**
 * Obtain an image for `vmspec boot`: a local file as it is, or a download
 * that is cached, resumable and verified before it is ever used.
 */
export async function obtainImage(req: ObtainRequest): Promise<ObtainedImage> {
  const limits = checkLimits(req);
  const source = parseSource(req.source);
  const fetchOpts = { idleTimeoutMs: limits.idleTimeoutMs, maxRedirects: limits.maxRedirects, ...(req.signal ? { signal: req.signal } : {}) };
  if (source.kind === 'local') {
    const st = statLocal(source.path);
    const expected = await expectedDigests(req, basename(source.path), fetchOpts);
    const { digests } = await digestFile(source.path, HASH_ALGORITHMS, hashOptions(req, st.size));
    const bad = firstMismatch(expected, digests);
    if (bad) {
      throw new ChecksumMismatchError(source.path, bad.algorithm, bad.expected, bad.actual, 'local file; left untouched', 'check that this is the file the digest was published for, or fix the pin');
    }
    return { path: source.path, source: req.source, sha256: digests.sha256, bytes: st.size, cached: false, downloaded: false, format: sniffImageFormat(source.path), verifiedWith: checked(expected), resumedFrom: 0 };
  }

  const url = source.url;
  const name = urlFileName(url);
  if (req.sha256 === undefined && req.sha512 === undefined && req.sumsUrl === undefined && !req.allowUnverified) {
    throw new UnsupportedError(
      `${url.href}: refusing to download an image with no checksum to verify it against`,
      `pin it: vmspec boot URL --sha256 HEX or --sha512 HEX (from the publisher's SHA256SUMS/SHA512SUMS, or \`sha256sum ${name}\` on a trusted copy), or --sums URL-OF-THAT-LIST; --allow-unverified downloads without one`,
    );
  }
  const paths = cacheEntryPaths(req.cacheDir ?? defaultImageCacheDir(), url);
  const expected = await expectedDigests(req, name, fetchOpts).catch((e: unknown) => {
    throw withOfflineHint(e, paths, url);
  });
  const hit = await findCached(paths, url, expected, req);
  if (hit) return result(req, paths.image, hit, expected, { cached: true, resumedFrom: 0 });

  try {
    mkdirSync(paths.dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new UnsupportedError(`cannot create the image cache directory ${paths.dir}: ${(e as Error).message}`, 'choose another cache directory, or set XDG_CACHE_HOME to a writable place');
  }
  const lock = acquireCacheLock(paths.lock, url.href);
  try {
    const again = await findCached(paths, url, expected, req); // another process may have finished meanwhile
    if (again) return result(req, paths.image, again, expected, { cached: true, resumedFrom: 0 });
    const got = await downloadToCache({
      url,
      paths,
      expected,
      maxBytes: limits.maxBytes,
      idleTimeoutMs: limits.idleTimeoutMs,
      maxRedirects: limits.maxRedirects,
      discardPartialOnAbort: req.discardPartialOnAbort ?? false,
      ...(req.onProgress ? { onProgress: (p) => req.onProgress!({ phase: 'download', ...p }) } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const st = statSync(paths.image);
    writeRecord(paths.entryRecord, { version: 1, url: url.href, bytes: st.size, mtimeMs: st.mtimeMs, ...got.digests, verified: hasDigest(expected), completedAt: new Date().toISOString() });
    return result(req, paths.image, { ...got.digests, bytes: got.bytes }, expected, { cached: false, resumedFrom: got.resumedFrom });
  } finally {
    lock.release();
    removeIfEmpty(paths.dir); // a failed first download leaves no empty entry behind
  }
}

/**
 * A checksum list that cannot be fetched (offline, mirror down) while a
 * verified copy is cached: say which pin would use that copy.
 */
function withOfflineHint(e: unknown, paths: CacheEntryPaths, url: URL): unknown {
  if (!(e instanceof UnsupportedError) || e instanceof ChecksumMismatchError) return e;
  const rec = readEntryRecord(paths.entryRecord);
  if (!rec || !rec.verified || rec.url !== url.href || !existsSync(paths.image)) return e;
  const st = statSync(paths.image);
  if (st.size !== rec.bytes || st.mtimeMs !== rec.mtimeMs) return e;
  const err = new UnsupportedError(e.message, `${e.hint ? `${e.hint}; ` : ''}a verified copy is cached (sha256 ${rec.sha256}, downloaded ${rec.completedAt}): pin that sha256 to use it without the list`);
  err.stack = e.stack;
  return err;
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (an image or a .part kept for resume), or already gone
  }
}

type Found = FullDigests & { bytes: number };

/**
 * A cached image that matches the expected digests. A record whose size and
 * mtime still match the file is trusted; otherwise the file is hashed again
 * (and the record rewritten when it matches a pin).
 */
async function findCached(paths: CacheEntryPaths, url: URL, expected: Digests, req: ObtainRequest): Promise<Found | undefined> {
  if (!existsSync(paths.image)) return undefined;
  const st = statSync(paths.image);
  if (!st.isFile()) return undefined;
  const rec = readEntryRecord(paths.entryRecord);
  if (rec && rec.url === url.href && rec.bytes === st.size && rec.mtimeMs === st.mtimeMs) {
    return firstMismatch(expected, rec) ? undefined : { sha256: rec.sha256, sha512: rec.sha512, bytes: rec.bytes };
  }
  if (!hasDigest(expected)) return undefined; // nothing to check an unrecorded file against: download again
  const { digests } = await digestFile(paths.image, HASH_ALGORITHMS, hashOptions(req, st.size));
  if (firstMismatch(expected, digests)) return undefined;
  writeRecord(paths.entryRecord, { version: 1, url: url.href, bytes: st.size, mtimeMs: st.mtimeMs, ...digests, verified: true, completedAt: new Date().toISOString() });
  return { ...digests, bytes: st.size };
}

function result(req: ObtainRequest, path: string, found: Found, expected: Digests, how: { cached: boolean; resumedFrom: number }): ObtainedImage {
  return { path, source: req.source, sha256: found.sha256, bytes: found.bytes, cached: how.cached, downloaded: !how.cached, format: sniffImageFormat(path), verifiedWith: checked(expected), resumedFrom: how.resumedFrom };
}

function checked(expected: Digests): HashAlgorithm[] {
  return HASH_ALGORITHMS.filter((a) => expected[a] !== undefined);
}

function hashOptions(req: ObtainRequest, total: number): FileDigestOptions {
  return {
    ...(req.onProgress ? { onBytes: (n: number) => req.onProgress!({ phase: 'verify', received: n, total }) } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  };
}

function statLocal(path: string): { size: number } {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UnsupportedError(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (e as Error).message})`}`, 'check the path, or give an http(s):// URL or a reference name');
  }
  if (!st.isFile()) throw new UnsupportedError(`${path}: not a regular file`, 'give the disk image file itself (raw or qcow2)');
  return { size: st.size };
}

function checkLimits(req: ObtainRequest): { maxBytes: number; idleTimeoutMs: number; maxRedirects: number } {
  const maxBytes = req.maxBytes ?? OBTAIN_DEFAULTS.maxBytes;
  const idleTimeoutMs = req.idleTimeoutMs ?? OBTAIN_DEFAULTS.idleTimeoutMs;
  const maxRedirects = req.maxRedirects ?? OBTAIN_DEFAULTS.maxRedirects;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new UnsupportedError(`maxBytes ${maxBytes} is not a positive whole number of bytes`, `use e.g. ${OBTAIN_DEFAULTS.maxBytes} (64 GiB)`);
  if (!Number.isFinite(idleTimeoutMs) || idleTimeoutMs <= 0 || idleTimeoutMs > 3_600_000) throw new UnsupportedError(`idleTimeoutMs ${idleTimeoutMs} is out of range`, 'use between 1 and 3600000 milliseconds');
  if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > 50) throw new UnsupportedError(`maxRedirects ${maxRedirects} is out of range`, 'use between 0 and 50');
  return { maxBytes, idleTimeoutMs, maxRedirects };
}
