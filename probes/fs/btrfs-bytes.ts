import { ParseError } from '../../bytes/errors.js';

/** Little-endian field readers for btrfs structures; every read is bounds-checked against the slice. */
export class BtrfsBytes {
  constructor(
    readonly b: Uint8Array,
    /** The structure's name, for errors. */
    readonly structure: string,
    /** Where `b` starts in the source (or logical address space), for errors. */
    readonly base: number,
  ) {}

  #need(o: number, n: number): void {
    if (o < 0 || o + n > this.b.length) throw new ParseError(this.structure, this.base + o, `field of ${n} bytes at +${o} runs past the ${this.b.length}-byte structure`);
  }

  u8(o: number): number {
    this.#need(o, 1);
    return this.b[o]!;
  }

  u16(o: number): number {
    this.#need(o, 2);
    return this.b[o]! | (this.b[o + 1]! << 8);
  }

  u32(o: number): number {
    this.#need(o, 4);
    return (this.b[o]! | (this.b[o + 1]! << 8) | (this.b[o + 2]! << 16)) + this.b[o + 3]! * 0x1000000;
  }

  u64big(o: number): bigint {
    return BigInt(this.u32(o)) | (BigInt(this.u32(o + 4)) << 32n);
  }

  /** A u64 that must fit a safe integer (sizes, byte addresses); a bigger one is damage. */
  u64(o: number, field: string): number {
    const hi = this.u32(o + 4);
    if (hi >= 0x200000) throw new ParseError(this.structure, this.base + o, `${field} 0x${this.u64big(o).toString(16)} is beyond what this reader addresses`);
    return hi * 0x100000000 + this.u32(o);
  }

  bytes(o: number, n: number): Uint8Array {
    this.#need(o, n);
    return this.b.subarray(o, o + n);
  }

  hex(o: number, n: number): string {
    return Buffer.from(this.bytes(o, n)).toString('hex');
  }
}

/** btrfs_disk_key (btrfs_tree.h; docs "On-disk Format", "Key"): objectid, type, offset, 17 bytes packed. */
export interface BtrfsKey {
  objectid: bigint;
  type: number;
  offset: bigint;
}

export const KEY_SIZE = 17;

export function readKey(r: BtrfsBytes, o: number): BtrfsKey {
  return { objectid: r.u64big(o), type: r.u8(o + 8), offset: r.u64big(o + 9) };
}

export function compareKeys(a: BtrfsKey, b: BtrfsKey): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

export const formatKey = (k: BtrfsKey): string => `(${k.objectid} ${k.type} ${k.offset})`;
