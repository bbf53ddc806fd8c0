import { type ByteSource, checkRange } from '../../bytes/byte-source.js';
import type { Run } from './ext4-block-io.js';
import type { Ext4Inode } from './ext4-inode.js';
import { type JournalBlocks, type JournalReplay, MAX_JOURNAL_BLOCKS, replayJournal } from './jbd2.js';
import { COMPAT, type Ext4Superblock, hasCompat } from './ext4-superblock.js';

/** What recovery of an ext4's journal did, as facts: jbd2.ts's JournalReplay without its block overlay. */
export type Ext4JournalFacts = Omit<JournalReplay, 'blocks'>;

/** The inode-level reads the journal mapping needs (kept narrow so this module does not import the reader). */
export interface JournalInodeAccess {
  inode(ino: number): Ext4Inode;
  runs(inode: Ext4Inode, from: number, count: number): Run[];
}

/**
 * The internal journal's blocks through the journal inode's extent tree or
 * block map, as jbd2's bmap reads them (ext4 docs: journal.rst). Holes are
 * errors: a journal is fully allocated.
 */
export function internalJournalBlocks(src: ByteSource, sb: Ext4Superblock, fs: JournalInodeAccess): JournalBlocks {
  const bs = sb.blockSize;
  const inode = fs.inode(sb.s_journal_inum);
  // ext4_get_journal_inode: a journal is a linked regular file.
  if ((inode.i_mode & 0xf000) !== 0x8000 || inode.i_links_count === 0) {
    throw new Error(`journal inode ${sb.s_journal_inum} is not a regular file in use (i_mode 0o${inode.i_mode.toString(8)}, links ${inode.i_links_count})`);
  }
  const count = Math.floor(inode.i_size / bs);
  if (count > MAX_JOURNAL_BLOCKS) throw new Error(`journal inode ${sb.s_journal_inum} is ${count} blocks, more than this reader replays (${MAX_JOURNAL_BLOCKS})`);
  const runs = fs.runs(inode, 0, count);
  return {
    blockSize: bs,
    count,
    read(jblk: number): Uint8Array {
      if (!Number.isInteger(jblk) || jblk < 0 || jblk >= count) throw new Error(`journal block ${jblk} is outside the journal (${count} blocks)`);
      let lo = 0;
      let hi = runs.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const r = runs[mid]!;
        if (jblk < r.lblk) hi = mid - 1;
        else if (jblk >= r.lblk + r.len) lo = mid + 1;
        else {
          if (r.uninit) return new Uint8Array(bs);
          return src.read((r.pblk + (jblk - r.lblk)) * bs, bs);
        }
      }
      throw new Error(`journal block ${jblk} is a hole in journal inode ${sb.s_journal_inum}`);
    },
  };
}

/**
 * Recovers the journal of a filesystem whose superblock says needs_recovery.
 * Never throws: an external, missing or malformed journal is a fact with the reason.
 */
export function recoverJournal(src: ByteSource, sb: Ext4Superblock, fs: JournalInodeAccess): JournalReplay {
  const none = (reason: string): JournalReplay => ({ replayed: false, transactions: 0, blocksReplayed: 0, revoked: 0, escaped: 0, revokeRecords: 0, checksumFailures: 0, features: [], reason, blocks: new Map() });
  if (!hasCompat(sb, COMPAT.has_journal)) return none('needs_recovery is set but the filesystem has no journal (has_journal is off)');
  if (sb.s_journal_inum === 0) {
    return none(`the journal is external (device 0x${sb.s_journal_dev.toString(16)}), not in this image: it cannot be replayed`);
  }
  let journal: JournalBlocks;
  try {
    journal = internalJournalBlocks(src, sb, fs);
  } catch (e) {
    return none(`the journal inode cannot be read: ${(e as Error).message}`);
  }
  return replayJournal(journal, sb.s_blocks_count);
}

export function journalFacts(r: JournalReplay): Ext4JournalFacts {
  const { blocks: _blocks, ...facts } = r;
  return facts;
}

/**
 * A ByteSource that reads `base` with whole blocks replaced by replayed
 * copies: the image as the kernel sees it after recovery, the image itself untouched.
 */
export class JournalOverlayByteSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  /** Replayed block numbers, sorted, to find the ones a read touches by binary search. */
  readonly #sorted: number[];

  constructor(
    readonly base: ByteSource,
    readonly blockSize: number,
    readonly blocks: ReadonlyMap<number, Uint8Array>,
  ) {
    this.size = base.size;
    this.name = `${base.name} (journal replayed)`;
    this.#sorted = [...blocks.keys()].sort((a, b) => a - b);
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const bs = this.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    // First replayed block ≥ first.
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#sorted[mid]! < first) lo = mid + 1;
      else hi = mid;
    }
    if (length === 0 || lo >= this.#sorted.length || this.#sorted[lo]! > last) return this.base.read(offset, length);
    const out = new Uint8Array(length);
    out.set(this.base.read(offset, length));
    for (let i = lo; i < this.#sorted.length && this.#sorted[i]! <= last; i++) {
      const blk = this.#sorted[i]!;
      const data = this.blocks.get(blk)!;
      const a = Math.max(offset, blk * bs);
      const b = Math.min(offset + length, (blk + 1) * bs);
      out.set(data.subarray(a - blk * bs, b - blk * bs), a - offset);
    }
    return out;
  }
}
