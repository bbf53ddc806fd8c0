import { ParseError } from '../errors.js';

/**
 * Little-endian field access over one on-disk structure, bounds-checked so a
 * short or truncated structure is a ParseError naming the structure and the
 * absolute offset (ext4 stores everything little-endian: ondisk/about.rst).
 */
export class Fields {
  constructor(
    readonly bytes: Uint8Array,
    /** What this is, as the ext4 docs name it ("ext4 superblock", "extent header"). */
    readonly structure: string,
    /** Absolute offset of bytes[0] in the filesystem, for error messages. */
    readonly base: number,
  ) {}

  #check(off: number, n: number): void {
    if (off < 0 || off + n > this.bytes.length) {
      throw new ParseError(this.structure, this.base + off, `field of ${n} bytes at +${off} lies outside the ${this.bytes.length}-byte structure`);
    }
  }

  u8(off: number): number {
    this.#check(off, 1);
    return this.bytes[off]!;
  }

  u16(off: number): number {
    this.#check(off, 2);
    return this.bytes[off]! | (this.bytes[off + 1]! << 8);
  }

  u32(off: number): number {
    this.#check(off, 4);
    return (this.bytes[off]! | (this.bytes[off + 1]! << 8) | (this.bytes[off + 2]! << 16)) + this.bytes[off + 3]! * 0x1000000;
  }

  /** A 64-bit value built from lo/hi halves; beyond 2^53 it cannot be a real offset or size here. */
  hiLo(loOff: number, hiOff: number | undefined, what: string, hiBytes: 2 | 4 = 4): number {
    const lo = this.u32(loOff);
    if (hiOff === undefined) return lo;
    const hi = hiBytes === 2 ? this.u16(hiOff) : this.u32(hiOff);
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) throw new ParseError(this.structure, this.base + loOff, `${what} ${hi}:${lo} exceeds 2^53`);
    return v;
  }

  slice(off: number, n: number): Uint8Array {
    this.#check(off, n);
    return this.bytes.subarray(off, off + n);
  }

  fail(off: number, message: string): never {
    throw new ParseError(this.structure, this.base + off, message);
  }
}

/** NUL-padded fixed-width text field (s_volume_name, s_last_mounted). */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder('utf-8', { fatal: false }).decode(end < 0 ? bytes : bytes.subarray(0, end));
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
