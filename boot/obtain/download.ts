import { createReadStream, existsSync, renameSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { UnsupportedError } from '../../bytes/errors.js';
import type { CacheEntryPaths } from './cache-layout.js';
import { readPartRecord, removeQuietly, sameDigests, writeRecord, type PartRecord } from './cache-record.js';
import { DigestPair, firstMismatch, hasDigest, type Digests, type FullDigests } from './digest.js';
import { ChecksumMismatchError, DownloadAbortedError } from './errors.js';
import { httpGet, type HttpResponse } from './http-get.js';

/** Bytes received so far (including a resumed prefix) and the file's full size when the server said it. */
export interface DownloadProgress {
  received: number;
  total?: number;
}

export interface DownloadOptions {
  url: URL;
  paths: CacheEntryPaths;
  /** Digests the file must have; empty only when the caller allowed an unverified download. */
  expected: Digests;
  maxBytes: number;
  idleTimeoutMs: number;
  maxRedirects: number;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** On abort, delete the .part too (default: keep it for the next run to resume). */
  discardPartialOnAbort: boolean;
}

export interface DownloadResult {
  digests: FullDigests;
  bytes: number;
  /** Byte offset the download resumed from (0: from the start). */
  resumedFrom: number;
}

/** An opened transfer: where it starts in the file and how big the file is. */
interface Transfer {
  res: HttpResponse;
  offset: number;
  total: number | undefined;
}

/**
 * Stream a URL into `<image>.part`, resuming with Range when a matching
 * .part exists and the server honours it, then verify and rename it over
 * the image. The caller holds the cache lock. Nothing unverified or partial
 * is ever at the image path.
 */
export async function downloadToCache(opts: DownloadOptions): Promise<DownloadResult> {
  const { url, paths } = opts;
  const transfer = await openTransfer(opts, resumableOffset(opts));
  const { res, offset, total } = transfer;
  let received = 0;
  let fh: FileHandle | undefined;
  try {
    if (total !== undefined && total > opts.maxBytes) {
      removeQuietly(paths.part, paths.partRecord);
      throw overCap(url, opts.maxBytes, `the server says the file is ${total} bytes`);
    }
    writeRecord(paths.partRecord, partRecordFor(opts, res));
    const pair = new DigestPair();
    if (offset > 0) await hashPrefix(paths.part, offset, pair, opts.signal);
    fh = await open(paths.part, offset > 0 ? 'a' : 'w', 0o644);
    opts.onProgress?.({ received: offset, ...(total !== undefined ? { total } : {}) });
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (offset + received + chunk.length > opts.maxBytes) {
        await fh.close();
        fh = undefined;
        removeQuietly(paths.part, paths.partRecord);
        throw overCap(url, opts.maxBytes, 'the body kept coming past it');
      }
      await fh.write(chunk);
      pair.update(chunk);
      received += chunk.length;
      opts.onProgress?.({ received: offset + received, ...(total !== undefined ? { total } : {}) });
    }
    const bytes = offset + received;
    if (total !== undefined && bytes !== total) {
      throw new UnsupportedError(`${url.href}: the connection ended after ${bytes} of ${total} bytes`, `run again: the download resumes from ${paths.part}`);
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    const digests = pair.digest();
    const bad = firstMismatch(opts.expected, digests);
    if (bad) {
      removeQuietly(paths.part, paths.partRecord);
      const what = `${bytes} bytes downloaded${offset > 0 ? `, resumed at byte ${offset}` : ''}; the file was deleted`;
      throw new ChecksumMismatchError(url.href, bad.algorithm, bad.expected, bad.actual, what, 'run again to download it afresh; if it fails the same way, the pinned digest is stale or the mirror serves a different file: check the publisher\'s checksum list');
    }
    renameSync(paths.part, paths.image);
    removeQuietly(paths.partRecord);
    return { digests, bytes, resumedFrom: offset };
  } catch (e) {
    await fh?.close().catch(() => undefined);
    throw explainFailure(e, opts, offset + received, total);
  } finally {
    res.close();
  }
}

/** How many bytes of an earlier .part can be kept: only one made for this URL and these digests, and only when a change upstream would be noticed. */
function resumableOffset(opts: DownloadOptions): number {
  const { paths } = opts;
  if (!existsSync(paths.part)) {
    removeQuietly(paths.partRecord);
    return 0;
  }
  const record = readPartRecord(paths.partRecord);
  const size = statSync(paths.part).size;
  // Without a digest, only a server validator (If-Range) can tell that the upstream file is unchanged.
  const noticeable = hasDigest(opts.expected) || record?.etag !== undefined || record?.lastModified !== undefined;
  if (!record || record.url !== opts.url.href || !sameDigests(record.expected, opts.expected) || !noticeable || size > opts.maxBytes) {
    removeQuietly(paths.part, paths.partRecord);
    return 0;
  }
  return size;
}

/** GET from `offset`; a server that ignores Range, answers a different range or 416 starts over from byte 0. */
async function openTransfer(opts: DownloadOptions, offset: number): Promise<Transfer> {
  const get = (headers: Record<string, string>): Promise<HttpResponse> =>
    httpGet(opts.url, { headers, idleTimeoutMs: opts.idleTimeoutMs, maxRedirects: opts.maxRedirects, ...(opts.signal ? { signal: opts.signal } : {}) }).catch((e: unknown) => {
      throw explainFailure(e, opts, offset, undefined);
    });
  if (offset > 0) {
    const record = readPartRecord(opts.paths.partRecord);
    const validator = record?.etag ?? record?.lastModified;
    const res = await get({ range: `bytes=${offset}-`, ...(validator ? { 'if-range': validator } : {}) });
    if (res.status === 206) {
      const range = parseContentRange(res.headers['content-range']);
      if (range && range.start === offset) return { res, offset, total: range.total };
      res.close(); // a range other than the one asked for: start over
    } else if (res.status === 200) {
      // The server ignored Range (or If-Range said the file changed): this body is the whole file.
      removeQuietly(opts.paths.part);
      return { res, offset: 0, total: contentLength(res) };
    } else {
      res.close(); // 416: the .part does not fit the file any more
    }
    removeQuietly(opts.paths.part);
  }
  const res = await get({});
  if (res.status !== 200) {
    res.close();
    throw new UnsupportedError(`${opts.url.href}: HTTP ${res.status} for a plain GET`, 'the server answered a range request that was not made; try again later');
  }
  return { res, offset: 0, total: contentLength(res) };
}

function contentLength(res: HttpResponse): number | undefined {
  const v = res.headers['content-length'];
  return v !== undefined && /^\d{1,17}$/.test(v) ? Number(v) : undefined;
}

/** "bytes START-END/TOTAL" (TOTAL may be "*"), or undefined when malformed. */
export function parseContentRange(v: string | undefined): { start: number; end: number; total?: number } | undefined {
  const m = v === undefined ? null : /^bytes (\d{1,17})-(\d{1,17})\/(\d{1,17}|\*)$/.exec(v.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (end < start || (total !== undefined && end >= total)) return undefined;
  return total === undefined ? { start, end } : { start, end, total };
}

function partRecordFor(opts: DownloadOptions, res: HttpResponse): PartRecord {
  const etag = res.headers.etag;
  const lastModified = res.headers['last-modified'];
  return {
    version: 1,
    url: opts.url.href,
    expected: opts.expected,
    // If-Range accepts only strong validators.
    ...(etag && !etag.startsWith('W/') ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
  };
}

async function hashPrefix(path: string, length: number, pair: DigestPair, signal?: AbortSignal): Promise<void> {
  const stream = createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) pair.update(chunk);
}

function overCap(url: URL, maxBytes: number, why: string): UnsupportedError {
  return new UnsupportedError(`${url.href}: over the ${maxBytes}-byte size limit (${why}); nothing was kept`, 'raise maxBytes if an image this large is expected, or check the URL');
}

/** Turn whatever stopped the transfer into an error that says what is kept and what to do. */
function explainFailure(e: unknown, opts: DownloadOptions, received: number, total: number | undefined): Error {
  if (opts.signal?.aborted) {
    const kept = !opts.discardPartialOnAbort && existsSync(opts.paths.part);
    if (!kept) removeQuietly(opts.paths.part, opts.paths.partRecord);
    return new DownloadAbortedError(opts.url.href, kept ? opts.paths.part : undefined, kept ? statSync(opts.paths.part).size : received);
  }
  if (e instanceof UnsupportedError) return e;
  const err = e as NodeJS.ErrnoException;
  const of = total !== undefined ? ` of ${total}` : '';
  const resume = existsSync(opts.paths.part) ? `run again: the download resumes from ${opts.paths.part}` : 'check the network and run again';
  return new UnsupportedError(`${opts.url.href}: the download stopped after ${received}${of} bytes: ${err.message}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}`, resume);
}
