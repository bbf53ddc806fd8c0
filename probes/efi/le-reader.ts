import { ParseError } from '../errors.js';

/**
 * Little-endian reads over bytes already in memory, each bounds-checked: a
 * field that runs past the end is a ParseError naming the structure and the
 * offset, never a RangeError or a silent zero. Never writes.
 */
export class LeReader {
  readonly #view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** True when [offset, offset+length) lies inside the bytes. */
  has(offset: number, length: number): boolean {
    return Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.bytes.length;
  }

  check(structure: string, offset: number, length: number, field: string): void {
    if (!this.has(offset, length)) {
      throw new ParseError(structure, offset, `${field} (${length} bytes) runs past the end of the ${this.bytes.length}-byte input: the file is truncated or the structure is not where expected`);
    }
  }

  u8(structure: string, offset: number, field: string): number {
    this.check(structure, offset, 1, field);
    return this.#view.getUint8(offset);
  }

  u16(structure: string, offset: number, field: string): number {
    this.check(structure, offset, 2, field);
    return this.#view.getUint16(offset, true);
  }

  i16(structure: string, offset: number, field: string): number {
    this.check(structure, offset, 2, field);
    return this.#view.getInt16(offset, true);
  }

  u32(structure: string, offset: number, field: string): number {
    this.check(structure, offset, 4, field);
    return this.#view.getUint32(offset, true);
  }

  u64(structure: string, offset: number, field: string): bigint {
    this.check(structure, offset, 8, field);
    return this.#view.getBigUint64(offset, true);
  }

  /** A view (not a copy) of `length` bytes. */
  slice(structure: string, offset: number, length: number, field: string): Uint8Array {
    this.check(structure, offset, length, field);
    return this.bytes.subarray(offset, offset + length);
  }
}
