import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';

/** A stretch of a file's logical blocks mapped to consecutive physical blocks. Holes are simply absent. */
export interface Run {
  /** First logical block in the file. */
  lblk: number;
  /** First physical block in the filesystem. */
  pblk: number;
  /** Number of blocks. */
  len: number;
  /** Allocated but never written (uninitialised extent): reads as zeros. */
  uninit: boolean;
}

/** Whole-block reads, every block number checked against the filesystem and the image before it is read. */
export interface BlockReader {
  readonly blockSize: number;
  /** s_blocks_count: no block number at or above this is part of the filesystem. */
  readonly blocksCount: number;
  /** One block, `what` naming it for errors ("extent tree node of inode 12"). */
  block(pblk: number, what: string): Uint8Array;
  /** Why [pblk, pblk+len) is not readable (outside the filesystem or the image), or undefined when it is. */
  blockRangeProblem(pblk: number, len: number): string | undefined;
  /** Throws ParseError unless [pblk, pblk+len) lies inside the filesystem and the image. */
  checkBlocks(pblk: number, len: number, what: string): void;
}

/** A BlockReader over a ByteSource, with a small cache for metadata blocks read again and again (indirect blocks, tree nodes). */
export class CachedBlockReader implements BlockReader {
  readonly #cache = new Map<number, Uint8Array>();
  constructor(
    readonly src: ByteSource,
    readonly blockSize: number,
    readonly blocksCount: number,
    readonly cacheBlocks = 256,
  ) {}

  blockRangeProblem(pblk: number, len: number): string | undefined {
    const range = len === 1 ? `block ${pblk}` : `blocks ${pblk}..${pblk + len - 1}`;
    if (!Number.isSafeInteger(pblk) || !Number.isSafeInteger(len) || pblk < 0 || len < 0 || pblk + len > this.blocksCount) {
      return `${range} lie${len === 1 ? 's' : ''} outside the filesystem (${this.blocksCount} blocks)`;
    }
    if ((pblk + len) * this.blockSize > this.src.size) {
      return `${range} lie${len === 1 ? 's' : ''} past the end of ${this.src.name} (${this.src.size} bytes): truncated image?`;
    }
    return undefined;
  }

  checkBlocks(pblk: number, len: number, what: string): void {
    const problem = this.blockRangeProblem(pblk, len);
    if (problem) throw new ParseError(what, Number.isSafeInteger(pblk * this.blockSize) ? pblk * this.blockSize : -1, problem);
  }

  block(pblk: number, what: string): Uint8Array {
    const hit = this.#cache.get(pblk);
    if (hit) {
      // Refresh recency: Map iteration order is insertion order, so re-insert.
      this.#cache.delete(pblk);
      this.#cache.set(pblk, hit);
      return hit;
    }
    this.checkBlocks(pblk, 1, what);
    const bytes = this.src.read(pblk * this.blockSize, this.blockSize);
    if (this.#cache.size >= this.cacheBlocks) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(pblk, bytes);
    return bytes;
  }
}

/** Appends a run, merging it with the previous one when both are contiguous, logically and physically. */
export function pushRun(runs: Run[], run: Run): void {
  const last = runs[runs.length - 1];
  if (last && last.uninit === run.uninit && last.lblk + last.len === run.lblk && last.pblk + last.len === run.pblk) {
    last.len += run.len;
  } else {
    runs.push(run);
  }
}
