import { ParseError } from '../errors.js';

/**
 * Bounded little-endian reads over one ACPI table (or RSDP). Every read is
 * checked against `limit` (the table's own Length, already checked against
 * the buffer), so a bad offset or count becomes a ParseError naming the
 * structure and offset instead of a RangeError or a read of the next table.
 */
export class TableReader {
  readonly #dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** Name of the table for errors ("MADT"). */
    readonly structure: string,
    /** Reads at or beyond this offset fail. */
    readonly limit: number = bytes.length,
  ) {
    if (limit > bytes.length) throw new ParseError(structure, 0, `limit ${limit} exceeds the ${bytes.length}-byte buffer`);
    this.#dv = new DataView(bytes.buffer, bytes.byteOffset, limit);
  }

  /** Throw unless [offset, offset+length) lies within the table. */
  need(offset: number, length: number, what: string, structure = this.structure): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.limit) {
      throw new ParseError(structure, offset, `${what} (${length} bytes) runs past the end of the table (Length ${this.limit})`);
    }
  }

  has(offset: number, length: number): boolean {
    return offset >= 0 && length >= 0 && offset + length <= this.limit;
  }

  u8(offset: number, what = 'u8'): number {
    this.need(offset, 1, what);
    return this.#dv.getUint8(offset);
  }

  u16(offset: number, what = 'u16'): number {
    this.need(offset, 2, what);
    return this.#dv.getUint16(offset, true);
  }

  u32(offset: number, what = 'u32'): number {
    this.need(offset, 4, what);
    return this.#dv.getUint32(offset, true);
  }

  u64(offset: number, what = 'u64'): bigint {
    this.need(offset, 8, what);
    return this.#dv.getBigUint64(offset, true);
  }

  /** A 64-bit field (address, MPIDR) as a hex string: exact, and readable in reports. */
  hex64(offset: number, what = 'u64'): string {
    return hex(this.u64(offset, what));
  }

  /** A 32-bit address as a hex string, same convention as hex64. */
  hex32(offset: number, what = 'u32'): string {
    return hex(this.u32(offset, what));
  }

  /** Fixed-width ASCII field (OEM ID, signatures), cut at the first NUL, trailing spaces kept. */
  ascii(offset: number, length: number, what = 'string'): string {
    this.need(offset, length, what);
    const raw = this.bytes.subarray(offset, offset + length);
    const end = raw.indexOf(0);
    return latin1(end < 0 ? raw : raw.subarray(0, end));
  }
}

/** `0x` + lowercase hex, no padding: the convention for 64-bit fields and addresses in facts. */
export function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

export function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}
