import { ParseError } from '../../bytes/errors.js';
import { crc32c } from '../../bytes/crc32.js';

/**
 * Big-endian field access over one xfs on-disk structure ("XFS Algorithms &
 * Data Structures", "Common XFS Types": everything on disk is big-endian but
 * the CRC), bounds-checked so a short structure is a ParseError naming the
 * structure and the absolute offset.
 */
export class BeFields {
  constructor(
    readonly bytes: Uint8Array,
    /** What this is, as the xfs docs name it ("xfs superblock", "bmbt block"). */
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
    return (this.bytes[off]! << 8) | this.bytes[off + 1]!;
  }

  u32(off: number): number {
    this.#check(off, 4);
    return this.bytes[off]! * 0x1000000 + ((this.bytes[off + 1]! << 16) | (this.bytes[off + 2]! << 8) | this.bytes[off + 3]!);
  }

  /** A __be64 that must be a safe integer (sizes, block and inode numbers). */
  u64(off: number, what: string): number {
    const hi = this.u32(off);
    const lo = this.u32(off + 4);
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) this.fail(off, `${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} exceeds 2^53`);
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

/** How many v5 metadata CRCs were checked and which failed: facts, not refusals (the structures are still checked). */
export class CrcTally {
  checked = 0;
  failed = 0;
  /** The first few failures, "structure at offset". */
  readonly failures: string[] = [];

  /**
   * xfs_verify_cksum: CRC-32C of `bytes` with the 4-byte field at `crcOffset`
   * taken as zero, compared with the little-endian value stored there.
   */
  verify(bytes: Uint8Array, crcOffset: number, what: string, offset: number): boolean {
    this.checked++;
    const stored = (bytes[crcOffset]! | (bytes[crcOffset + 1]! << 8) | (bytes[crcOffset + 2]! << 16)) + bytes[crcOffset + 3]! * 0x1000000;
    let crc = crc32c(bytes.subarray(0, crcOffset));
    crc = crc32c(new Uint8Array(4), crc);
    crc = crc32c(bytes.subarray(crcOffset + 4), crc);
    if (crc === stored) return true;
    this.failed++;
    if (this.failures.length < 16) this.failures.push(`${what} at ${offset}`);
    return false;
  }
}

/** A 16-byte UUID as 32 lower-case hex digits (as Ext4Info.uuid holds it; volumes.ts adds the dashes). */
export function uuidHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
