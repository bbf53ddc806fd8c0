import { createReadStream } from 'node:fs';
import { DigestPair, type FullDigests } from './digest.js';

export interface HashFileOptions {
  /** Bytes hashed so far; lets a long verification show progress. */
  onBytes?: (hashed: number) => void;
  signal?: AbortSignal;
}

/** sha256 and sha512 of a file, read once, in 1 MiB chunks. */
export async function hashFile(path: string, opts: HashFileOptions = {}): Promise<FullDigests> {
  const pair = new DigestPair();
  let hashed = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(opts.signal ? { signal: opts.signal } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pair.update(chunk);
    hashed += chunk.length;
    opts.onBytes?.(hashed);
  }
  return pair.digest();
}
