import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { Lru } from '../lru.js';
import { type BtrfsKey, BtrfsBytes, compareKeys, formatKey, KEY_SIZE, readKey } from './btrfs-bytes.js';
import type { ChunkMap } from './btrfs-chunks.js';
import { blockCsumOk, type BtrfsSuperblock } from './btrfs-superblock.js';

/** struct btrfs_header is 101 bytes (btrfs_tree.h; docs "On-disk Format", "Header"). */
export const HEADER_SIZE = 0x65;
/** struct btrfs_item: key, offset, size (docs "On-disk Format", "Leaf Node"). */
const ITEM_SIZE = KEY_SIZE + 8;
/** struct btrfs_key_ptr: key, blockptr, generation (docs "On-disk Format", "Internal Node"). */
const KEY_PTR_SIZE = KEY_SIZE + 16;
/** BTRFS_MAX_LEVEL: a tree is at most 8 levels deep (0 = leaves). */
export const BTRFS_MAX_LEVEL = 8;

export interface LeafItem {
  key: BtrfsKey;
  /** The item's data, a view into the leaf. */
  data: BtrfsBytes;
}

interface TreeNode {
  logical: number;
  level: number;
  owner: bigint;
  keys: BtrfsKey[];
  /** level 0: each item's data; level > 0: each child's blockptr. */
  items: LeafItem[];
  ptrs: number[];
}

/** Metadata checksums seen, as facts: tree blocks verified and copies that failed. */
export interface CsumStats {
  checked: number;
  failed: number;
}

/** Reads tree blocks (verifying their header checksum) and walks key ranges of a tree. */
export class TreeReader {
  readonly #cache = new Lru<number, TreeNode>(512);
  readonly stats: CsumStats = { checked: 0, failed: 0 };

  constructor(
    readonly src: ByteSource,
    readonly sb: BtrfsSuperblock,
    readonly chunks: ChunkMap,
  ) {}

  /** The tree block at `logical`: the first copy whose checksum, bytenr and fsid are right. */
  node(logical: number, level: number): TreeNode {
    const hit = this.#cache.get(logical);
    if (hit && hit.level === level) return hit;
    const size = this.sb.nodesize;
    if (logical % this.sb.sectorsize !== 0) throw new ParseError('btrfs tree block', logical, 'not sector-aligned');
    let why = '';
    for (const physical of this.chunks.map(logical, size)) {
      const raw = this.src.read(physical, size);
      this.stats.checked++;
      const r = new BtrfsBytes(raw, 'btrfs tree block', physical);
      if (!blockCsumOk(this.sb.csum_type, raw)) why = `checksum mismatch at physical ${physical}`;
      else if (r.u64big(0x30) !== BigInt(logical)) why = `header bytenr ${r.u64big(0x30)} is not its address`;
      else if (r.hex(0x20, 16) !== this.sb.metadataFsid) why = 'header fsid is not this filesystem\'s';
      else if (r.u8(0x64) !== level) why = `level ${r.u8(0x64)} where ${level} was expected`;
      else {
        const node = this.#parse(r, logical, level);
        this.#cache.set(logical, node);
        return node;
      }
      this.stats.failed++;
    }
    throw new ParseError('btrfs tree block', logical, why);
  }

  #parse(r: BtrfsBytes, logical: number, level: number): TreeNode {
    const owner = r.u64big(0x58);
    const nritems = r.u32(0x60);
    const each = level === 0 ? ITEM_SIZE : KEY_PTR_SIZE;
    if (HEADER_SIZE + nritems * each > r.b.length) throw new ParseError('btrfs tree block', logical, `${nritems} items do not fit in a ${r.b.length}-byte node`);
    const keys: BtrfsKey[] = [];
    const items: LeafItem[] = [];
    const ptrs: number[] = [];
    for (let i = 0; i < nritems; i++) {
      const o = HEADER_SIZE + i * each;
      const key = readKey(r, o);
      if (i > 0 && compareKeys(keys[i - 1]!, key) >= 0) throw new ParseError('btrfs tree block', logical, `keys out of order at item ${i}: ${formatKey(key)}`);
      keys.push(key);
      if (level === 0) {
        const off = r.u32(o + KEY_SIZE);
        const size = r.u32(o + KEY_SIZE + 4);
        if (HEADER_SIZE + off + size > r.b.length || off < nritems * each) {
          throw new ParseError('btrfs tree block', logical, `item ${i} data [${off}, +${size}) lies outside the leaf's data area`);
        }
        items.push({ key, data: new BtrfsBytes(r.b.subarray(HEADER_SIZE + off, HEADER_SIZE + off + size), `btrfs item ${formatKey(key)}`, logical + HEADER_SIZE + off) });
      } else {
        ptrs.push(r.u64(o + KEY_SIZE, 'blockptr'));
      }
    }
    return { logical, level, owner, keys, items, ptrs };
  }

  /** Every leaf item with min <= key <= max, in key order, of the tree rooted at (root, level). */
  *range(root: number, level: number, min: BtrfsKey, max: BtrfsKey): Generator<LeafItem> {
    if (level >= BTRFS_MAX_LEVEL) throw new ParseError('btrfs tree block', root, `root level ${level} exceeds ${BTRFS_MAX_LEVEL - 1}`);
    const node = this.node(root, level);
    if (level === 0) {
      for (const item of node.items) {
        if (compareKeys(item.key, min) < 0) continue;
        if (compareKeys(item.key, max) > 0) return;
        yield item;
      }
      return;
    }
    const n = node.keys.length;
    for (let i = 0; i < n; i++) {
      // Child i holds keys in [keys[i], keys[i+1]).
      if (compareKeys(node.keys[i]!, max) > 0) return;
      if (i + 1 < n && compareKeys(node.keys[i + 1]!, min) <= 0) continue;
      yield* this.range(node.ptrs[i]!, level - 1, min, max);
    }
  }

  /** The item with exactly this key, or undefined. */
  find(root: number, level: number, key: BtrfsKey): LeafItem | undefined {
    for (const item of this.range(root, level, key, key)) return item;
    return undefined;
  }
}

export const U64_MAX = 0xffffffffffffffffn;
