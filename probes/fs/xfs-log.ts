import type { ByteSource } from '../../bytes/byte-source.js';
import { BeFields } from './xfs-bytes.js';
import { fsbToLinear } from './xfs-extents.js';
import type { XfsSuperblock } from './xfs-superblock.js';

/** xlog_rec_header.h_magicno (xfs_log_format.h XLOG_HEADER_MAGIC_NUM). */
export const XLOG_HEADER_MAGIC_NUM = 0xfeedbabe;
/** xlog_op_header.oh_flags: this transaction is the unmount record (XLOG_UNMOUNT_TRANS). */
export const XLOG_UNMOUNT_TRANS = 0x20;
/** h_version bit for v2 logs, whose headers may span several basic blocks (XLOG_VERSION_2). */
const XLOG_VERSION_2 = 2;
/** Each header basic block covers this many data bytes' cycle stamps (XLOG_HEADER_CYCLE_SIZE). */
const XLOG_HEADER_CYCLE_SIZE = 32 * 1024;
/** The log is addressed in 512-byte basic blocks (BBSIZE). */
const BBSIZE = 512;
/** How far back from the head to look for the last record header: more than the largest record (XLOG_MAX_RECORD_BSIZE 256 KiB plus headers). */
const MAX_RECORD_BBS = (256 * 1024) / BBSIZE + 16;

/** What the log says about how the filesystem was left. */
export interface XfsLogState {
  location: 'internal' | 'external';
  /**
   * clean: the last record is an unmount record; dirty: it is not, so the
   * kernel would replay the log on mount (and so does this reader, in memory:
   * xfs-log-recover.ts); unknown: an external log, or no record header found.
   */
  state: 'clean' | 'dirty' | 'unknown';
  /** Basic block of the log's head (where the next record goes), when found. */
  headBlock: number | null;
  /** The last record's h_cycle, when found. */
  cycle: number | null;
}

/**
 * Finds the log head the way xlog_find_head does for an intact log
 * ("XFS Algorithms & Data Structures", "Journaling Log"): every basic block
 * starts with the cycle number of the pass that wrote it, so the head is
 * where the cycle drops (binary search), or the end when the whole log is of
 * one cycle. The last record header before the head then tells clean from
 * dirty, as xlog_check_unmount_rec does: one op, flagged XLOG_UNMOUNT_TRANS.
 * Reads a few dozen basic blocks, never the whole log.
 */
export function logState(src: ByteSource, sb: XfsSuperblock): XfsLogState {
  if (sb.sb_logstart === 0) return { location: 'external', state: 'unknown', headBlock: null, cycle: null };
  const unknown: XfsLogState = { location: 'internal', state: 'unknown', headBlock: null, cycle: null };
  const start = fsbToLinear(sb, sb.sb_logstart);
  const bbs = sb.sb_logblocks * (sb.sb_blocksize / BBSIZE);
  if (start === undefined || bbs === 0) return unknown;
  const base = start * sb.sb_blocksize;
  if (base + bbs * BBSIZE > src.size) return unknown;
  const bb = (i: number): BeFields => new BeFields(src.read(base + i * BBSIZE, BBSIZE), 'xfs log block', base + i * BBSIZE);
  // The first word of a basic block: a header's magic, or a data block's cycle stamp.
  const cycleOf = (i: number): number => {
    const f = bb(i);
    return f.u32(0) === XLOG_HEADER_MAGIC_NUM ? f.u32(4) : f.u32(0);
  };
  const first = cycleOf(0);
  if (first === 0) return unknown;
  let head = bbs;
  if (cycleOf(bbs - 1) !== first) {
    let lo = 0;
    let hi = bbs - 1; // cycleOf(lo) === first, cycleOf(hi) !== first
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (cycleOf(mid) === first) lo = mid;
      else hi = mid;
    }
    head = hi;
  }
  for (let i = head - 1, n = 0; n < MAX_RECORD_BBS && n < bbs; i--, n++) {
    const idx = (i + bbs) % bbs;
    const f = bb(idx);
    if (f.u32(0) !== XLOG_HEADER_MAGIC_NUM) continue;
    const h_version = f.u32(8);
    const h_num_logops = f.u32(40);
    const h_size = f.u32(320);
    const hblks = (h_version & XLOG_VERSION_2) !== 0 && h_size > XLOG_HEADER_CYCLE_SIZE ? Math.ceil(h_size / XLOG_HEADER_CYCLE_SIZE) : 1;
    const op = bb((idx + hblks) % bbs);
    const clean = h_num_logops === 1 && (op.u8(9) & XLOG_UNMOUNT_TRANS) !== 0;
    return { location: 'internal', state: clean ? 'clean' : 'dirty', headBlock: head % bbs, cycle: f.u32(4) };
  }
  return unknown;
}
