import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ParseError } from './errors.js';

/**
 * Random-access, read-only bytes: a disk (raw or qcow2), a partition, a file.
 * Every parser reads through this, so bounds are checked in one place and
 * the bytes actually read can be counted (metadata only, never whole images).
 */
export interface ByteSource {
  /** Size in bytes of the addressable content (a disk's virtual size). */
  readonly size: number;
  /** Human name for error messages (file path, "partition 1", ...). */
  readonly name: string;
  /**
   * Exactly `length` bytes at `offset`. Throws ParseError when the range
   * lies outside [0, size): a short read is always an error, never silent.
   */
  read(offset: number, length: number): Uint8Array;
  /**
   * Optional: what read(offset, out.length) returns, written into `out`
   * (all of it) instead of a buffer of its own, so that a file read in parts
   * lands where it is kept rather than being copied there through fresh
   * buffers at each layer (each fresh page costs a fault).
   */
  readInto?(offset: number, out: Uint8Array): void;
}

/** read(offset, out.length) into `out`: through the source's readInto when it has one, else copied. */
export function readInto(src: ByteSource, offset: number, out: Uint8Array): void {
  if (src.readInto) src.readInto(offset, out);
  else out.set(src.read(offset, out.length));
}

/** Hard cap on a single read, so no untrusted length allocates unbounded memory. */
export const MAX_READ = 64 * 1024 * 1024;

export function checkRange(src: { size: number; name: string }, offset: number, length: number, what = 'read'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ParseError(src.name, offset, `invalid ${what} range (offset ${offset}, length ${length})`);
  }
  if (length > MAX_READ) {
    throw new ParseError(src.name, offset, `${what} of ${length} bytes exceeds the ${MAX_READ}-byte cap`);
  }
  if (offset + length > src.size) {
    throw new ParseError(src.name, offset, `${what} of ${length} bytes runs past the end (size ${src.size})`);
  }
}

/** Counts bytes read, for the "metadata only" promise and the benchmarks. */
export interface ReadStats {
  bytesRead: number;
  reads: number;
}

/** A file opened read-only. Never written. */
export class FileByteSource implements ByteSource {
  readonly size: number;
  readonly stats: ReadStats = { bytesRead: 0, reads: 0 };
  #fd: number | undefined;

  constructor(readonly path: string, readonly name: string = path) {
    this.#fd = openSync(path, 'r');
    this.size = fstatSync(this.#fd).size;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.readAt(offset, length);
  }

  readInto(offset: number, out: Uint8Array): void {
    checkRange(this, offset, out.length);
    this.#fill(offset, out);
  }

  /** Raw read without the virtual-size check (container formats read their own file). */
  readAt(offset: number, length: number): Uint8Array {
    checkRange({ size: this.size, name: this.name }, offset, length);
    const buf = new Uint8Array(length);
    this.#fill(offset, buf);
    return buf;
  }

  #fill(offset: number, buf: Uint8Array): void {
    if (this.#fd === undefined) throw new Error(`${this.name}: read after close`);
    const length = buf.length;
    let done = 0;
    while (done < length) {
      const n = readSync(this.#fd, buf, done, length - done, offset + done);
      if (n === 0) throw new ParseError(this.name, offset + done, 'unexpected end of file');
      done += n;
    }
    this.stats.bytesRead += length;
    this.stats.reads++;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Bytes already in memory (tests, small files pulled out of a filesystem). */
export class BufferByteSource implements ByteSource {
  readonly size: number;
  constructor(readonly bytes: Uint8Array, readonly name = 'buffer') {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** `file` as a source: bytes in memory wrapped (named `name`), a source as it is. For parsers that take either. */
export function asByteSource(file: Uint8Array | ByteSource, name: string): ByteSource {
  return file instanceof Uint8Array ? new BufferByteSource(file, name) : file;
}

/** A window of another source: a partition of a disk. */
export class SliceByteSource implements ByteSource {
  constructor(
    readonly parent: ByteSource,
    readonly start: number,
    readonly size: number,
    readonly name: string,
  ) {
    if (start < 0 || size < 0 || start + size > parent.size) {
      throw new ParseError(name, start, `extends past the end of ${parent.name} (${start}+${size} > ${parent.size})`);
    }
  }
  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.parent.read(this.start + offset, length);
  }
  readInto(offset: number, out: Uint8Array): void {
    checkRange(this, offset, out.length);
    readInto(this.parent, this.start + offset, out);
  }
}
