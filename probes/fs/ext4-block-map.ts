import { type BlockReader, pushRun, type Run } from './ext4-block-io.js';
import { LeReader } from '../../bytes/le-reader.js';
import type { ExtentRoot } from './ext4-extents.js';

/** i_block[0..11] map blocks directly; [12], [13], [14] are the single, double and triple indirect blocks (ext4 docs: ifork.rst "Direct/Indirect Block Addressing"). */
export const EXT4_NDIR_BLOCKS = 12;
export const EXT4_IND_BLOCK = 12;
export const EXT4_DIND_BLOCK = 13;
export const EXT4_TIND_BLOCK = 14;

/** Logical blocks a legacy block map can address: 12 + p + p² + p³, p = block size / 4. */
export function blockMapCapacity(blockSize: number): number {
  const p = blockSize / 4;
  return EXT4_NDIR_BLOCKS + p + p * p + p * p * p;
}

/**
 * Maps logical blocks [from, from+count) of a block-mapped (ext2/ext3 style)
 * inode to runs. A zero pointer at any level is a hole covering that whole
 * subtree, so sparse files cost nothing; only indirect blocks overlapping the
 * request are read, and every pointer is checked against the filesystem.
 */
export function blockMapRuns(io: BlockReader, root: ExtentRoot, from: number, count: number): Run[] {
  const runs: Run[] = [];
  const p = io.blockSize / 4;
  const end = Math.min(from + count, blockMapCapacity(io.blockSize));
  const what = `ext4 block map of inode ${root.ino}`;
  const top = new LeReader(root.i_block, what, { span: 'structure', base: root.offset + 0x28 });

  // `ptrs` holds the pointers of one level; entry i covers logical blocks [base + i·span, base + (i+1)·span).
  const visit = (ptrs: LeReader, first: number, n: number, base: number, level: number): void => {
    const span = p ** level;
    const iStart = Math.max(0, Math.floor((from - base) / span));
    const iEnd = Math.min(n, Math.ceil((end - base) / span));
    for (let i = iStart; i < iEnd; i++) {
      const ptr = ptrs.u32((first + i) * 4);
      if (ptr === 0) continue; // hole
      const lblk = base + i * span;
      const problem = io.blockRangeProblem(ptr, 1);
      if (problem) ptrs.fail((first + i) * 4, `${level === 0 ? 'data' : 'indirect'} block pointer for logical block ${lblk} → ${problem}`);
      if (level === 0) {
        pushRun(runs, { lblk, pblk: ptr, len: 1, uninit: false });
      } else {
        visit(new LeReader(io.block(ptr, what), what, { span: 'structure', base: ptr * io.blockSize }), 0, p, lblk, level - 1);
      }
    }
  };

  visit(top, 0, EXT4_NDIR_BLOCKS, 0, 0);
  visit(top, EXT4_IND_BLOCK, 1, EXT4_NDIR_BLOCKS, 1);
  visit(top, EXT4_DIND_BLOCK, 1, EXT4_NDIR_BLOCKS + p, 2);
  visit(top, EXT4_TIND_BLOCK, 1, EXT4_NDIR_BLOCKS + p + p * p, 3);
  return runs;
}
