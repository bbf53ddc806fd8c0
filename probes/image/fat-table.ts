import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import type { FatGeometry } from './fat-bpb.js';
import { hex } from '../../bytes/hex.js';

/**
 * The File Allocation Table itself (fatgen103 §4): entry lookup for the
 * three widths and cluster-chain following that always terminates.
 */

/** How a FAT entry value reads (fatgen103 §4: free, bad, end-of-chain or next cluster). */
export type FatEntryKind = 'free' | 'next' | 'reserved' | 'bad' | 'eoc';

/** Bytes of FAT kept in memory at once; chunks are dropped wholesale when exceeded. */
const CHUNK = 4096;
const MAX_CACHED_CHUNKS = 256;

/**
 * Clusters seen on one chain walk: a Set, which a long chain on a volume
 * of up to 16 M clusters trades for a bitmap (at most 2 MiB).
 */
class ClusterSet {
  #set: Set<number> | null = new Set();
  #bits: Uint8Array | null = null;
  size = 0;
  constructor(readonly clusters: number) {}
  /** The bitmap once there is one (bit c of byte c >>> 3), for a caller testing and setting bits itself; add() keeps `size` then. */
  get bits(): Uint8Array | null {
    return this.#bits;
  }
  has(c: number): boolean {
    return this.#bits ? (this.#bits[c >>> 3]! & (1 << (c & 7))) !== 0 : this.#set!.has(c);
  }
  /** Adds `c`; false when it was already there. */
  addNew(c: number): boolean {
    if (this.has(c)) return false;
    this.add(c);
    return true;
  }
  add(c: number): void {
    if (this.#set && this.#set.size >= 1024 && this.clusters <= 1 << 24) {
      this.#bits = new Uint8Array((this.clusters >>> 3) + 1);
      for (const x of this.#set) this.#bits[x >>> 3]! |= 1 << (x & 7);
      this.#set = null;
    }
    if (this.#bits) this.#bits[c >>> 3]! |= 1 << (c & 7);
    else this.#set!.add(c);
    this.size++;
  }
}

/**
 * One chain followed on demand (FatTable.walk): `clusters` holds those met
 * so far; `extend` follows it further. A plain loop, not a generator per
 * cluster: the chain of a 4 MB loader in 512-byte clusters is 8,000 links,
 * followed while nothing is compiled yet.
 */
export class ChainWalk {
  readonly clusters: number[] = [];
  readonly #start: number;
  #ended = false;
  #error: unknown = null;
  readonly #seen: ClusterSet;

  constructor(
    readonly table: FatTable,
    start: number,
    readonly limit: number,
    readonly what: string,
    readonly volumeClusters: number,
  ) {
    this.#start = start;
    this.#seen = new ClusterSet(volumeClusters + 2);
  }

  /** The chain met its end-of-chain mark or its limit. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Follows the chain until it holds `count` clusters or ends, and returns
   * them. A damaged link throws its ParseError when reached, and again on
   * every later call.
   */
  extend(count: number): readonly number[] {
    const { clusters, table } = this;
    const want = Math.min(count, this.limit);
    if (clusters.length >= want) return clusters;
    if (this.#error) throw this.#error;
    const seen = this.#seen;
    // FAT16/FAT32 entries are read straight from the FAT chunk at hand (they never straddle one); FAT12 through entry().
    const width = table.entryWidth;
    const fatBytes = table.fatBytes;
    const highest = this.volumeClusters + 1;
    const bad = table.badValue;
    let chunk: Uint8Array = EMPTY;
    let chunkIndex = -1;
    try {
      while (!this.#ended && clusters.length < want) {
        // The link of the last cluster met is read only now: a chain is followed no further than asked.
        let c = this.#start;
        const n = clusters.length;
        if (n > 0) {
          const last = clusters[n - 1]!;
          const rel = last * width;
          let next: number;
          if (width !== 0 && rel + width <= fatBytes) {
            const index = Math.floor(rel / CHUNK);
            if (index !== chunkIndex) {
              chunk = table.chunkAt(rel);
              chunkIndex = index;
            }
            const at = rel - index * CHUNK;
            next = width === 2 ? chunk[at]! | (chunk[at + 1]! << 8) : (chunk[at]! | (chunk[at + 1]! << 8) | (chunk[at + 2]! << 16) | (chunk[at + 3]! << 24)) & 0x0fffffff;
          } else next = table.entry(last);
          if (next < 2 || next > highest || next >= bad) {
            if (next > bad && table.kind(next) === 'eoc') {
              this.#ended = true;
              break;
            }
            throw this.#badLink(last, next);
          }
          c = next;
        }
        const bits = seen.bits;
        if (bits !== null) {
          const mask = 1 << (c & 7);
          if ((bits[c >>> 3]! & mask) !== 0) throw this.#cycle(c);
          bits[c >>> 3]! |= mask;
          seen.size++;
        } else if (!seen.addNew(c)) throw this.#cycle(c);
        if (seen.size > this.volumeClusters) {
          throw new ParseError('FAT', table.entryOffset(c), `${this.what}: cluster chain is longer than the ${this.volumeClusters} clusters of the volume`);
        }
        clusters.push(c);
        if (clusters.length >= this.limit) this.#ended = true;
      }
    } catch (e) {
      this.#error = e;
      throw e;
    }
    return clusters;
  }

  #badLink(last: number, next: number): ParseError {
    return new ParseError('FAT', this.table.entryOffset(last), `${this.what}: cluster ${last} links to ${this.table.kind(next)} value ${hex(next)} inside a chain`);
  }

  #cycle(c: number): ParseError {
    return new ParseError('FAT', this.table.entryOffset(c), `${this.what}: cluster chain revisits cluster ${c} (a cycle) after ${this.clusters.length} clusters`);
  }
}

const EMPTY = new Uint8Array(0);

export class FatTable {
  readonly #src: ByteSource;
  readonly #geo: FatGeometry;
  readonly #chunks = new Map<number, Uint8Array>();
  /** The chunk read last: a chain walks one chunk for hundreds of entries. */
  #lastIndex = -1;
  #last: Uint8Array | null = null;
  /** The "bad cluster" entry value; values above it end a chain. */
  readonly badValue: number;
  readonly #eoc: number;

  constructor(src: ByteSource, geo: FatGeometry) {
    this.#src = src;
    this.#geo = geo;
    // fatgen103 §4: BAD is 0xFF7 / 0xFFF7 / 0x0FFFFFF7; anything above it ends the chain.
    this.badValue = geo.type === 'FAT12' ? 0xff7 : geo.type === 'FAT16' ? 0xfff7 : 0x0ffffff7;
    this.#eoc = this.badValue + 1;
  }

  /** Byte offset (in the volume) of entry `n` in the active FAT. */
  entryOffset(n: number): number {
    const g = this.#geo;
    const rel = g.type === 'FAT12' ? n + Math.floor(n / 2) : g.type === 'FAT16' ? n * 2 : n * 4;
    return g.fatOffset + rel;
  }

  /** The raw entry for cluster `n` (FAT32: the low 28 bits; the top 4 are reserved). */
  entry(n: number): number {
    const g = this.#geo;
    if (!Number.isInteger(n) || n < 0 || n > g.countOfClusters + 1) {
      throw new ParseError('FAT', -1, `cluster ${n} is outside 0..${g.countOfClusters + 1}`);
    }
    const off = this.entryOffset(n) - g.fatOffset;
    if (g.type === 'FAT12') {
      // fatgen103 §4: FAT12 packs two 12-bit entries in three bytes; odd entries take the high 12 bits.
      const w = this.#byte(off) | (this.#byte(off + 1) << 8);
      return n & 1 ? w >>> 4 : w & 0x0fff;
    }
    if (g.type === 'FAT16') return this.#byte(off) | (this.#byte(off + 1) << 8);
    const at = off % CHUNK;
    if (at <= CHUNK - 4 && off + 4 <= g.fatBytes) {
      // The common case, one chunk lookup for all four bytes (a chain of a 4 MB file in 512-byte clusters is 8,000 of these).
      const c = this.#chunk(off);
      return (c[at]! | (c[at + 1]! << 8) | (c[at + 2]! << 16) | (c[at + 3]! << 24)) & 0x0fffffff;
    }
    const w = (this.#byte(off) | (this.#byte(off + 1) << 8) | (this.#byte(off + 2) << 16) | (this.#byte(off + 3) << 24)) >>> 0;
    return w & 0x0fffffff;
  }

  /** Bytes per entry for FAT16 (2) and FAT32 (4); 0 for FAT12, whose entries are 12 bits. */
  get entryWidth(): number {
    const t = this.#geo.type;
    return t === 'FAT16' ? 2 : t === 'FAT32' ? 4 : 0;
  }

  /** Bytes in one FAT. */
  get fatBytes(): number {
    return this.#geo.fatBytes;
  }

  /** The cached chunk of FAT bytes holding FAT byte `rel` (0 <= rel < fatBytes), starting at rel - rel % 4096. */
  chunkAt(rel: number): Uint8Array {
    return this.#chunk(rel);
  }

  kind(value: number): FatEntryKind {
    if (value === 0) return 'free';
    if (value >= this.#eoc) return 'eoc';
    if (value === this.badValue) return 'bad';
    if (value >= 2 && value <= this.#geo.countOfClusters + 1) return 'next';
    return 'reserved';
  }

  /**
   * Follow a chain from `start`, yielding at most `limit` clusters. Throws
   * ParseError on a start or link outside the data area, a free or bad
   * cluster inside the chain, a revisited cluster (a cycle) or a chain
   * longer than the volume has clusters. Stops quietly at end-of-chain or
   * once `limit` clusters have been yielded: the caller judges length.
   */
  *chain(start: number, limit: number, what: string): Generator<number, void, undefined> {
    const walk = this.walk(start, limit, what);
    // One link at a time: a caller that stops early (a directory's end mark) never meets damage further on.
    for (let i = 0; walk.extend(i + 1).length > i; i++) yield walk.clusters[i]!;
  }

  /** The chain from `start` as a ChainWalk, followed as far as asked (the checks of `chain`). */
  walk(start: number, limit: number, what: string): ChainWalk {
    const max = this.#geo.countOfClusters + 1;
    if (!Number.isInteger(start) || start < 2 || start > max) {
      throw new ParseError('FAT', -1, `${what}: first cluster ${start} is outside 2..${max}`);
    }
    return new ChainWalk(this, start, limit, what, this.#geo.countOfClusters);
  }

  #byte(rel: number): number {
    const g = this.#geo;
    if (rel < 0 || rel >= g.fatBytes) throw new ParseError('FAT', g.fatOffset + rel, 'entry lies past the end of the FAT');
    return this.#chunk(rel)[rel % CHUNK] ?? 0;
  }

  /** The cached CHUNK of FAT bytes holding FAT byte `rel` (in range). */
  #chunk(rel: number): Uint8Array {
    const g = this.#geo;
    const index = Math.floor(rel / CHUNK);
    if (index === this.#lastIndex) return this.#last!;
    let chunk = this.#chunks.get(index);
    if (chunk === undefined) {
      const base = index * CHUNK;
      const len = Math.min(CHUNK, g.fatBytes - base);
      const abs = g.fatOffset + base;
      if (abs + len > this.#src.size) {
        throw new ParseError('FAT', abs, `FAT bytes ${abs}..${abs + len} lie past the end of ${this.#src.name} (size ${this.#src.size})`);
      }
      if (this.#chunks.size >= MAX_CACHED_CHUNKS) this.#chunks.clear();
      chunk = this.#src.read(abs, len);
      this.#chunks.set(index, chunk);
    }
    this.#lastIndex = index;
    this.#last = chunk;
    return chunk;
  }
}
