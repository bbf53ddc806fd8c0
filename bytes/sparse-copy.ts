import { closeSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * Why this exists: Node's copyFileSync writes every byte, so a copy of a
 * sparse disk image or of an all-zero 64 MiB UEFI vars template fills the
 * disk with zeros (measured: a 1 GiB file with 4 KiB of data became 1.1 GiB
 * on ext4). This copy leaves zero blocks unwritten, as `cp --sparse=always`
 * does; the destination reads back byte-identical.
 */

/** The granularity at which zeros become holes: a multiple of every usual filesystem block. */
const HOLE_BLOCK = 64 * 1024;
const CHUNK = 4 * 1024 * 1024;
const ZERO = Buffer.alloc(HOLE_BLOCK);

export interface SparseCopyOptions {
  /** Fail with EEXIST if `dest` exists (as COPYFILE_EXCL), rather than replace it. */
  exclusive?: boolean;
}

/** Whether `buf` holds only zero bytes. */
export function isAllZero(buf: Uint8Array): boolean {
  for (let at = 0; at < buf.length; at += HOLE_BLOCK) {
    const end = Math.min(at + HOLE_BLOCK, buf.length);
    if (Buffer.compare(buf.subarray(at, end), ZERO.subarray(0, end - at)) !== 0) return false;
  }
  return true;
}

/**
 * Copy `src` to `dest`, leaving every all-zero 64 KiB block a hole. Returns
 * the bytes copied (the source's size, which the destination then has).
 * Errors are fs errors, with their `code`, for the caller to explain.
 */
export function copyFileSparse(src: string, dest: string, opts: SparseCopyOptions = {}): number {
  const from = openSync(src, 'r');
  try {
    const to = openSync(dest, opts.exclusive ? 'wx' : 'w');
    try {
      const n = writeNonZeroBlocks(from, to);
      // Trailing zero blocks were skipped: the size comes from the truncate.
      ftruncateSync(to, n);
      return n;
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}

/**
 * Writes the open file `from` into the open file `to` from byte `at` on,
 * skipping every all-zero 64 KiB block: only for a destination that reads
 * as zeros there already (new, or just truncated). Returns the bytes read.
 */
export function writeNonZeroBlocks(from: number, to: number, at = 0): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  for (;;) {
    const n = readSync(from, buf, 0, CHUNK, pos);
    if (n === 0) return pos;
    for (let b = 0; b < n; b += HOLE_BLOCK) {
      const block = buf.subarray(b, Math.min(b + HOLE_BLOCK, n));
      if (!isAllZero(block)) writeFull(to, block, at + pos + b);
    }
    pos += n;
  }
}

function writeFull(fd: number, data: Uint8Array, pos: number): void {
  for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, pos + done);
}
