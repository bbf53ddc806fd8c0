import { LeReader } from '../../bytes/le-reader.js';
import { type BlockReader, pushRun, type Run } from './ext4-block-io.js';
import { hex } from '../../bytes/hex.js';

/** eh_magic of every extent tree node (ext4 docs: ifork.rst "Extent Tree"). */
export const EXT4_EXT_MAGIC = 0xf30a;
/** The kernel's EXT4_MAX_EXTENT_DEPTH: deeper trees are damage, not data. */
export const EXT4_MAX_EXTENT_DEPTH = 5;
/** ee_len above this marks an uninitialised extent of (ee_len - 32768) blocks (ifork.rst). */
export const EXT_INIT_MAX_LEN = 32768;
/** sizeof(ext4_extent_header) == sizeof(ext4_extent) == sizeof(ext4_extent_idx). */
const ENTRY = 12;
/** Upper bound on tree nodes read for one mapping, so no crafted tree can make us read forever. */
const MAX_NODES = 1 << 16;

/** Where the extent tree root sits: i_block of an inode. */
export interface ExtentRoot {
  ino: number;
  /** Absolute offset of the inode record (i_block is at +0x28). */
  offset: number;
  i_block: Uint8Array;
}

/**
 * Maps logical blocks [from, from+count) of an extent-mapped inode to runs,
 * walking only the index entries whose key range overlaps the request
 * (ext4 docs: ifork.rst "Extent Tree"). Checks every node header (magic,
 * entries ≤ max, max fits the node, depth decreasing by one a level, depth ≤ 5),
 * that entries are sorted and every physical block is inside the filesystem.
 */
export function extentRuns(io: BlockReader, root: ExtentRoot, from: number, count: number): Run[] {
  const runs: Run[] = [];
  const end = from + count;
  let nodes = 0;
  const what = `ext4 extent tree of inode ${root.ino}`;

  const visit = (node: Uint8Array, base: number, expectDepth: number | undefined, lo: number, hi: number): void => {
    const f = new LeReader(node, what, { span: 'structure', base });
    const eh_magic = f.u16(0);
    if (eh_magic !== EXT4_EXT_MAGIC) f.fail(0, `bad extent header magic ${hex(eh_magic)} (expected 0xf30a)`);
    const eh_entries = f.u16(2);
    const eh_max = f.u16(4);
    const eh_depth = f.u16(6);
    if (ENTRY + eh_max * ENTRY > node.length) f.fail(4, `eh_max ${eh_max} entries do not fit in a ${node.length}-byte node`);
    if (eh_entries > eh_max) f.fail(2, `eh_entries ${eh_entries} exceeds eh_max ${eh_max}`);
    if (eh_depth > EXT4_MAX_EXTENT_DEPTH) f.fail(6, `eh_depth ${eh_depth} exceeds the maximum extent tree depth ${EXT4_MAX_EXTENT_DEPTH}`);
    if (expectDepth !== undefined && eh_depth !== expectDepth) f.fail(6, `eh_depth ${eh_depth} where the parent index implies depth ${expectDepth}`);

    if (eh_depth === 0) {
      let prevEnd = 0;
      for (let i = 0; i < eh_entries; i++) {
        const off = ENTRY + i * ENTRY;
        const ee_block = f.u32(off);
        const ee_len = f.u16(off + 4);
        const uninit = ee_len > EXT_INIT_MAX_LEN;
        const len = uninit ? ee_len - EXT_INIT_MAX_LEN : ee_len;
        if (len === 0) f.fail(off + 4, 'extent of length 0');
        if (ee_block < prevEnd) f.fail(off, `extent at logical block ${ee_block} overlaps or precedes the previous one (ending at ${prevEnd})`);
        prevEnd = ee_block + len;
        if (prevEnd > 0x100000000) f.fail(off, `extent ${ee_block}+${len} runs past logical block 2^32`);
        // Clip to this subtree's key range and the request; what lies outside is someone else's.
        const a = Math.max(ee_block, lo, from);
        const b = Math.min(prevEnd, hi, end);
        if (a >= b) continue;
        const pblk = f.u16(off + 6) * 0x100000000 + f.u32(off + 8);
        const problem = io.blockRangeProblem(pblk, len);
        if (problem) f.fail(off, `extent ${ee_block}+${len} → physical block ${pblk}: ${problem}`);
        pushRun(runs, { lblk: a, pblk: pblk + (a - ee_block), len: b - a, uninit });
      }
      return;
    }

    let prevBlock = -1;
    for (let i = 0; i < eh_entries; i++) {
      const off = ENTRY + i * ENTRY;
      const ei_block = f.u32(off);
      if (ei_block <= prevBlock) f.fail(off, `index entry for logical block ${ei_block} is not after the previous one (${prevBlock})`);
      prevBlock = ei_block;
      const nextKey = i + 1 < eh_entries ? f.u32(off + ENTRY) : hi;
      const childLo = Math.max(ei_block, lo);
      const childHi = Math.min(nextKey, hi);
      if (childHi <= from || childLo >= end || childLo >= childHi) continue;
      const ei_leaf = f.u16(off + 8) * 0x100000000 + f.u32(off + 4);
      if (++nodes > MAX_NODES) f.fail(off, `extent tree has more than ${MAX_NODES} nodes in the requested range`);
      const problem = io.blockRangeProblem(ei_leaf, 1);
      if (problem) f.fail(off + 4, `index entry for logical block ${ei_block} → ${problem}`);
      visit(io.block(ei_leaf, what), ei_leaf * io.blockSize, eh_depth - 1, childLo, childHi);
    }
  };

  // The root lives in i_block: 60 bytes, so at most 4 entries (eh_max 4).
  visit(root.i_block, root.offset + 0x28, undefined, 0, 0x100000000);
  return runs;
}

/** Depth of an extent tree as its root header states it (for reports and tests). */
export function extentDepth(root: ExtentRoot): number {
  const f = new LeReader(root.i_block, `ext4 extent tree of inode ${root.ino}`, { span: 'structure', base: root.offset + 0x28 });
  if (f.u16(0) !== EXT4_EXT_MAGIC) f.fail(0, 'bad extent header magic');
  return f.u16(6);
}
