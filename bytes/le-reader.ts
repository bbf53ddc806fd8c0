import { ParseError } from './errors.js';
import { latin1 } from './text.js';

/**
 * What the bytes under a reader are. It words the ParseError when a field runs
 * past their end, so each parser keeps the message its readers expect:
 * - 'input': a whole file in memory (an edk2 variable store);
 * - 'table': one ACPI table, bounded by its own Length (`limit`);
 * - 'structure': one on-disk structure at absolute offset `base` (ext4).
 */
export type Span = 'input' | 'table' | 'structure';

export interface LeReaderOptions {
  /** Default 'input'. */
  span?: Span;
  /** Reads at or beyond this offset fail (an ACPI table's Length). Default: all the bytes. */
  limit?: number;
  /** Absolute offset of bytes[0] in what is being read; errors report base + offset. Default 0. */
  base?: number;
}

/**
 * Bounds-checked little-endian field reads over bytes already in memory: a
 * field that runs past the end is a ParseError naming the structure, the
 * offset and the field, never a RangeError or a silent zero. Never writes.
 */
export class LeReader {
  readonly #view: DataView;
  readonly span: Span;
  readonly limit: number;
  readonly base: number;

  constructor(
    readonly bytes: Uint8Array,
    /** The structure being read, as its standard names it ("MADT", "ext4 inode 12"). */
    readonly structure: string,
    options: LeReaderOptions = {},
  ) {
    this.span = options.span ?? 'input';
    this.limit = options.limit ?? bytes.length;
    this.base = options.base ?? 0;
    if (this.limit > bytes.length) throw new ParseError(structure, 0, `limit ${this.limit} exceeds the ${bytes.length}-byte buffer`);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, this.limit);
  }

  /** The same bytes, with errors naming another structure (a header inside a larger input). */
  as(structure: string): LeReader {
    return new LeReader(this.bytes, structure, { span: this.span, limit: this.limit, base: this.base });
  }

  get length(): number {
    return this.limit;
  }

  /** True when [offset, offset+length) lies inside the readable bytes. */
  has(offset: number, length: number): boolean {
    return Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.limit;
  }

  /** Throw unless [offset, offset+length) lies inside the readable bytes. */
  need(offset: number, length: number, field: string): void {
    if (!this.has(offset, length)) throw new ParseError(this.structure, this.base + offset, this.#overrun(offset, length, field));
  }

  #overrun(offset: number, length: number, field: string): string {
    switch (this.span) {
      case 'input':
        return `${field} (${length} bytes) runs past the end of the ${this.limit}-byte input: the file is truncated or the structure is not where expected`;
      case 'table':
        return `${field} (${length} bytes) runs past the end of the table (Length ${this.limit})`;
      case 'structure':
        return `field of ${length} bytes at +${offset} lies outside the ${this.limit}-byte structure`;
    }
  }

  u8(offset: number, field = 'u8'): number {
    this.need(offset, 1, field);
    return this.#view.getUint8(offset);
  }

  u16(offset: number, field = 'u16'): number {
    this.need(offset, 2, field);
    return this.#view.getUint16(offset, true);
  }

  i16(offset: number, field = 'i16'): number {
    this.need(offset, 2, field);
    return this.#view.getInt16(offset, true);
  }

  u32(offset: number, field = 'u32'): number {
    this.need(offset, 4, field);
    return this.#view.getUint32(offset, true);
  }

  u64(offset: number, field = 'u64'): bigint {
    this.need(offset, 8, field);
    return this.#view.getBigUint64(offset, true);
  }

  /**
   * A 64-bit value stored as a 32-bit low half and a 16- or 32-bit high half
   * (ext4's `_lo`/`_hi` fields). Beyond 2^53 it cannot be a real offset or size.
   */
  hiLo(loOffset: number, hiOffset: number | undefined, field: string, hiBytes: 2 | 4 = 4): number {
    const lo = this.u32(loOffset, field);
    if (hiOffset === undefined) return lo;
    const hi = hiBytes === 2 ? this.u16(hiOffset, field) : this.u32(hiOffset, field);
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) this.fail(loOffset, `${field} ${hi}:${lo} exceeds 2^53`);
    return v;
  }

  /** A view (not a copy) of `length` bytes. */
  slice(offset: number, length: number, field = 'bytes'): Uint8Array {
    this.need(offset, length, field);
    return this.bytes.subarray(offset, offset + length);
  }

  /** Fixed-width ASCII field (OEM IDs, signatures), cut at the first NUL, trailing spaces kept. */
  ascii(offset: number, length: number, field = 'string'): string {
    const raw = this.slice(offset, length, field);
    const end = raw.indexOf(0);
    return latin1(end < 0 ? raw : raw.subarray(0, end));
  }

  /** A malformed field: a ParseError at `offset` in this structure. */
  fail(offset: number, message: string): never {
    throw new ParseError(this.structure, this.base + offset, message);
  }
}
