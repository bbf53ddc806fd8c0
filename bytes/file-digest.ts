import { crypto } from './lazy-builtins.js';
import { createReadStream } from 'node:fs';

/** The digests files are identified and pinned by. */
export type DigestAlgorithm = 'sha256' | 'sha512';

export interface FileDigestOptions {
  /** Bytes hashed so far; lets a long verification show progress. */
  onBytes?: (hashed: number) => void;
  signal?: AbortSignal;
}

/**
 * Digests of a file, read once in 1 MiB chunks (streaming: a multi-GiB image
 * is never held in memory), lower-case hex, with the bytes read.
 */
export async function digestFile<A extends DigestAlgorithm>(path: string, algorithms: readonly A[], opts: FileDigestOptions = {}): Promise<{ digests: Record<A, string>; bytes: number }> {
  const hashes = algorithms.map((a) => [a, crypto().createHash(a)] as const);
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(opts.signal ? { signal: opts.signal } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (const [, h] of hashes) h.update(chunk);
    bytes += chunk.length;
    opts.onBytes?.(bytes);
  }
  const digests = Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])) as Record<A, string>;
  return { digests, bytes };
}

/** The sha256 of a file, lower-case hex. */
export async function sha256File(path: string): Promise<string> {
  return (await digestFile(path, ['sha256'])).digests.sha256;
}
