import { UnsupportedError } from '../../bytes/errors.js';
import type { HashAlgorithm } from './digest.js';

/**
 * The bytes obtained are not the bytes pinned. The file has already been
 * deleted (a download) or left alone (a local file); the message shows both
 * hashes so a stale pin and a corrupt mirror can be told apart.
 */
export class ChecksumMismatchError extends UnsupportedError {
  constructor(
    readonly source: string,
    readonly algorithm: HashAlgorithm,
    readonly expected: string,
    readonly actual: string,
    what: string,
    hint: string,
  ) {
    super(`${source}: ${algorithm} mismatch: expected ${expected}, got ${actual} (${what})`, hint);
  }
}

/**
 * The caller's AbortSignal fired. `partial` is the .part file kept for a
 * later resume, or undefined when it was discarded (or nothing was written).
 */
export class DownloadAbortedError extends Error {
  override readonly name = 'AbortError';
  constructor(
    readonly source: string,
    readonly partial: string | undefined,
    readonly receivedBytes: number,
  ) {
    super(
      partial
        ? `download of ${source} aborted after ${receivedBytes} bytes; the partial file ${partial} is kept and the next run resumes from it`
        : `download of ${source} aborted; nothing partial is kept`,
    );
  }
}
