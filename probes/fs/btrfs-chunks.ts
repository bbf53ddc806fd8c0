import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { BtrfsBytes, KEY_SIZE, readKey } from './btrfs-bytes.js';

/** BTRFS_CHUNK_ITEM_KEY, keyed (BTRFS_FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, logical start). */
export const BTRFS_CHUNK_ITEM_KEY = 228;
/** struct btrfs_chunk is 48 bytes, then num_stripes struct btrfs_stripe of 32 bytes (btrfs_tree.h). */
const CHUNK_SIZE = 48;
const STRIPE_SIZE = 32;
/** A chunk has at most this many stripes here: far more than any profile uses, small enough to bound the parse. */
const MAX_STRIPES = 256;

/** BTRFS_BLOCK_GROUP_* profile bits (btrfs_tree.h); none of them set is SINGLE. */
const PROFILES: [bigint, string][] = [
  [1n << 3n, 'RAID0'], [1n << 4n, 'RAID1'], [1n << 5n, 'DUP'], [1n << 6n, 'RAID10'],
  [1n << 7n, 'RAID5'], [1n << 8n, 'RAID6'], [1n << 9n, 'RAID1C3'], [1n << 10n, 'RAID1C4'],
];

export type BtrfsProfile = 'SINGLE' | 'DUP' | 'RAID0' | 'RAID1' | 'RAID10' | 'RAID5' | 'RAID6' | 'RAID1C3' | 'RAID1C4';

/** struct btrfs_chunk with its stripes (btrfs_tree.h; docs "On-disk Format", "CHUNK_ITEM"): one logical range and where it lives. */
export interface BtrfsChunk {
  logical: number;
  length: number;
  type: bigint;
  profile: BtrfsProfile;
  stripes: { devid: bigint; offset: number }[];
}

export function profileOf(type: bigint): BtrfsProfile {
  for (const [bit, name] of PROFILES) if (type & bit) return name as BtrfsProfile;
  return 'SINGLE';
}

/** Parses one btrfs_chunk at `o` in `r`; returns it and its size in bytes. */
export function parseChunk(r: BtrfsBytes, o: number, logical: number): { chunk: BtrfsChunk; size: number } {
  const length = r.u64(o, 'chunk length');
  const type = r.u64big(o + 24);
  const num_stripes = r.u16(o + 44);
  if (num_stripes === 0 || num_stripes > MAX_STRIPES) throw new ParseError(r.structure, r.base + o, `chunk at logical ${logical} has ${num_stripes} stripes`);
  if (length === 0) throw new ParseError(r.structure, r.base + o, `chunk at logical ${logical} has length 0`);
  const stripes = [];
  for (let i = 0; i < num_stripes; i++) {
    const s = o + CHUNK_SIZE + i * STRIPE_SIZE;
    stripes.push({ devid: r.u64big(s), offset: r.u64(s + 8, 'stripe offset') });
  }
  return { chunk: { logical, length, type, profile: profileOf(type), stripes }, size: CHUNK_SIZE + num_stripes * STRIPE_SIZE };
}

/** The superblock's sys_chunk_array: (btrfs_disk_key, btrfs_chunk) pairs, back to back. */
export function parseSysChunkArray(array: Uint8Array, base: number): BtrfsChunk[] {
  const r = new BtrfsBytes(array, 'btrfs sys_chunk_array', base);
  const out: BtrfsChunk[] = [];
  let o = 0;
  while (o < array.length) {
    const key = readKey(r, o);
    if (key.type !== BTRFS_CHUNK_ITEM_KEY) throw new ParseError(r.structure, base + o, `key type ${key.type} where a CHUNK_ITEM (228) belongs`);
    if (key.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError(r.structure, base + o, 'chunk logical address out of range');
    const { chunk, size } = parseChunk(r, o + KEY_SIZE, Number(key.offset));
    out.push(chunk);
    o += KEY_SIZE + size;
  }
  return out;
}

/**
 * Logical → physical, for one device. SINGLE chunks have one stripe, DUP two
 * copies on the same device (both are offered, so a bad copy can fall back).
 * Striped and mirrored-across-devices profiles are refused: their data is on
 * other devices this image does not hold.
 */
export class ChunkMap {
  readonly #chunks: BtrfsChunk[] = [];

  constructor(readonly devid: bigint) {}

  get chunks(): readonly BtrfsChunk[] {
    return this.#chunks;
  }

  add(chunk: BtrfsChunk): void {
    if (chunk.profile !== 'SINGLE' && chunk.profile !== 'DUP') {
      throw new UnsupportedError(`btrfs chunk at logical ${chunk.logical} uses the ${chunk.profile} profile: its data is spread over ${chunk.stripes.length} devices, and this reader reads a single device (SINGLE and DUP only)`);
    }
    const other = chunk.stripes.find((s) => s.devid !== this.devid);
    if (other) throw new UnsupportedError(`btrfs chunk at logical ${chunk.logical} lives on device ${other.devid}, not this one (device ${this.devid}): a multi-device filesystem`);
    const i = this.#index(chunk.logical);
    const at = this.#chunks[i];
    if (at && at.logical === chunk.logical) return; // sys_chunk_array and the chunk tree both list the SYSTEM chunks
    const prev = this.#chunks[i - 1];
    if ((prev && prev.logical + prev.length > chunk.logical) || (at && chunk.logical + chunk.length > at.logical)) {
      throw new ParseError('btrfs chunk tree', -1, `chunk at logical ${chunk.logical} overlaps another`);
    }
    this.#chunks.splice(i, 0, chunk);
  }

  /** First chunk index whose logical start is >= `logical`. */
  #index(logical: number): number {
    let lo = 0;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#chunks[mid]!.logical < logical) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The chunk holding `logical`, or a ParseError. */
  chunkOf(logical: number, length: number): BtrfsChunk {
    let i = this.#index(logical);
    if (this.#chunks[i]?.logical !== logical) i--;
    const c = this.#chunks[i];
    if (!c || logical < c.logical || logical + length > c.logical + c.length) {
      throw new ParseError('btrfs chunk map', logical, `logical range [${logical}, +${length}) is not inside one chunk`);
    }
    return c;
  }

  /** Physical byte offsets of every copy of [logical, logical+length) (one for SINGLE, two for DUP). */
  map(logical: number, length: number): number[] {
    const c = this.chunkOf(logical, length);
    return c.stripes.map((s) => s.offset + (logical - c.logical));
  }

  /** How many bytes from `logical` stay within its chunk. */
  contiguous(logical: number): number {
    const c = this.chunkOf(logical, 1);
    return c.logical + c.length - logical;
  }
}
