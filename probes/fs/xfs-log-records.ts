import { crc32c } from '../../bytes/crc32.js';
import type { ByteSource } from '../../bytes/byte-source.js';

/*
 * The xfs log as recovery reads it: a circular run of 512-byte basic blocks
 * holding log records (struct xlog_rec_header, xfs_log_format.h). Finding
 * the head and tail and walking the records between them follows the
 * kernel's fs/xfs/xfs_log_recover.c, function for function; names are the
 * kernel's. Nothing is written: where the kernel would rewrite stale blocks
 * (xlog_clear_stale_blocks) this reader only reads.
 */

/** xfs_log_format.h: record header magic, the one "cycle" no data block carries. */
export const XLOG_HEADER_MAGIC_NUM = 0xfeedbabe;
const XLOG_VERSION_1 = 1;
const XLOG_VERSION_2 = 2;
const XLOG_VERSION_OKBITS = XLOG_VERSION_1 | XLOG_VERSION_2;
/** xfs_log_format.h XLOG_HEADER_CYCLE_SIZE: one header block stamps this many data bytes. */
export const XLOG_HEADER_CYCLE_SIZE = 32 * 1024;
const XLOG_CYCLE_DATA_SIZE = XLOG_HEADER_CYCLE_SIZE / 512;
const XLOG_BIG_RECORD_BSIZE = 32 * 1024;
const XLOG_MAX_ICLOGS = 8;
/** xfs_log_format.h XLOG_REC_SIZE / XLOG_REC_SIZE_OTHER: header bytes the record CRC covers (non-i386 / i386). */
const XLOG_REC_SIZE = 328;
const XLOG_REC_SIZE_OTHER = 324;
/** offsetofend(struct xlog_rec_ext_header, xh_cycle_data): the extended header bytes the CRC covers. */
const XLOG_REC_EXT_SIZE = 4 + 4 * XLOG_CYCLE_DATA_SIZE;
/** offsetof(struct xlog_rec_header, h_crc). */
const H_CRC_OFF = 32;
export const BBSIZE = 512;

/** xlog_op_header.oh_flags (xfs_log_format.h). */
export const XLOG_START_TRANS = 0x01;
export const XLOG_COMMIT_TRANS = 0x02;
export const XLOG_CONTINUE_TRANS = 0x04;
export const XLOG_WAS_CONT_TRANS = 0x08;
export const XLOG_END_TRANS = 0x10;
export const XLOG_UNMOUNT_TRANS = 0x20;
/** h_fmt values: the byte order of the machine that wrote the log's host-order structures. */
export const XLOG_FMT_LINUX_LE = 1;
export const XLOG_FMT_LINUX_BE = 2;

/** Recovery cannot go on: the kernel would fail the mount (EFSCORRUPTED/EFSBADCRC/EIO); the reader reads unreplayed. */
export class LogRefused extends Error {
  constructor(
    message: string,
    readonly errno: 'EFSCORRUPTED' | 'EFSBADCRC' | 'EIO' | 'EINVAL' | 'UNSUPPORTED' = 'EFSCORRUPTED',
  ) {
    super(message);
  }
}

const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
/** An LSN as cycle × 2^32 + block; both halves are 32-bit, so a bigint keeps it exact. */
export const be64n = (b: Uint8Array, o: number): bigint => (BigInt(be32(b, o)) << 32n) | BigInt(be32(b, o + 4));
export const lsnString = (lsn: bigint): string => `${lsn >> 32n}/${lsn & 0xffffffffn}`;

/** xlog_get_cycle: a header's h_cycle, else the block's first word (the cycle stamp). */
function xlogGetCycle(b: Uint8Array, o = 0): number {
  return be32(b, o) === XLOG_HEADER_MAGIC_NUM ? be32(b, o + 4) : be32(b, o);
}

/** The fields of struct xlog_rec_header recovery uses. */
export interface XlogRecHeader {
  h_cycle: number;
  h_version: number;
  h_len: number;
  h_lsn: bigint;
  h_tail_lsn: bigint;
  h_crc: number;
  h_num_logops: number;
  h_fmt: number;
  h_fs_uuid: Uint8Array;
  h_size: number;
}

export function parseRecHeader(b: Uint8Array): XlogRecHeader {
  return {
    h_cycle: be32(b, 4),
    h_version: be32(b, 8),
    h_len: be32(b, 12),
    h_lsn: be64n(b, 16),
    h_tail_lsn: be64n(b, 24),
    h_crc: (b[32]! | (b[33]! << 8) | (b[34]! << 16) | (b[35]! << 24)) >>> 0,
    h_num_logops: be32(b, 40),
    h_fmt: be32(b, 300),
    h_fs_uuid: b.subarray(304, 320),
    h_size: be32(b, 320),
  };
}

/** What the log needs from the superblock. */
export interface LogGeometry {
  /** Byte offset of the log's first basic block in the data device. */
  base: number;
  /** l_logBBsize. */
  bbs: number;
  /** xfs_has_logv2 (always on v5). */
  logv2: boolean;
  /** xfs_has_crc: a v5 filesystem. */
  crc: boolean;
  /** sb_uuid, to check h_fs_uuid. */
  uuid: Uint8Array;
  /** m_logbsize as mount computes it without options (the iclog size). */
  logbsize: number;
}

/** A log record read whole: its header blocks and its packed data (cycle stamps still in place). */
export interface LogRecord {
  blk: number;
  head: XlogRecHeader;
  hdr: Uint8Array;
  data: Uint8Array;
}

/** Basic blocks one record's header takes (xlog_logrec_hblks). */
function logrecHblks(g: LogGeometry, h: XlogRecHeader): number {
  if (g.logv2 && (h.h_version & XLOG_VERSION_2) !== 0 && h.h_size > XLOG_HEADER_CYCLE_SIZE) return Math.ceil(h.h_size / XLOG_HEADER_CYCLE_SIZE);
  return 1;
}

const btobb = (bytes: number): number => Math.ceil(bytes / BBSIZE);

/** The physical log of one filesystem image, read by basic block, with the kernel's bounds (xlog_verify_bno). */
export class XlogReader {
  /** Basic blocks read so far: recovery reads each at most a few times, this bounds the work on a hostile log. */
  reads = 0;
  readonly #limit: number;

  constructor(
    readonly src: ByteSource,
    readonly g: LogGeometry,
  ) {
    // The head/tail search reads a few thousand blocks; each pass reads the active log once; allow a few of each.
    this.#limit = 16 * g.bbs + 1_000_000;
  }

  bread(blk: number, n: number): Uint8Array {
    if (!Number.isInteger(blk) || blk < 0 || blk >= this.g.bbs || n <= 0 || blk + n > this.g.bbs) {
      throw new LogRefused(`log read of ${n} blocks at block ${blk} is outside the ${this.g.bbs}-block log`);
    }
    this.reads += n;
    if (this.reads > this.#limit) throw new LogRefused(`recovery read more than ${this.#limit} log blocks: the log is not sane`, 'EIO');
    return this.src.read(this.g.base + blk * BBSIZE, n * BBSIZE);
  }

  /** `n` blocks from `blk`, wrapping past the physical end of the log (the split reads of xlog_do_recovery_pass). */
  breadWrapped(blk: number, n: number): Uint8Array {
    const bbs = this.g.bbs;
    blk %= bbs;
    if (n > bbs) throw new LogRefused(`a record of ${n} blocks does not fit the ${bbs}-block log`);
    if (blk + n <= bbs) return this.bread(blk, n);
    const out = new Uint8Array(n * BBSIZE);
    out.set(this.bread(blk, bbs - blk));
    out.set(this.bread(0, n - (bbs - blk)), (bbs - blk) * BBSIZE);
    return out;
  }

  cycleOf(blk: number): number {
    return xlogGetCycle(this.bread(blk, 1));
  }
}

/** xlog_find_cycle_start: binary search for the first block of `cycle` in [first, last]. */
function findCycleStart(r: XlogReader, first: number, last: number, cycle: number): number {
  let end = last;
  let mid = (first + end) >> 1;
  while (mid !== first && mid !== end) {
    if (r.cycleOf(mid) === cycle) end = mid;
    else first = mid;
    mid = (first + end) >> 1;
  }
  return end;
}

/** xlog_find_verify_cycle: the first block in [start, start+n) stamped `stop`, or -1. */
function findVerifyCycle(r: XlogReader, start: number, n: number, stop: number): number {
  for (let i = start; i < start + n; i += 64) {
    const count = Math.min(64, start + n - i);
    const buf = r.bread(i, count);
    for (let j = 0; j < count; j++) if (xlogGetCycle(buf, j * BBSIZE) === stop) return i + j;
  }
  return -1;
}

/** xlog_header_check_mount: a record header of another filesystem stops recovery. */
function headerCheckMount(g: LogGeometry, h: XlogRecHeader): void {
  if (h.h_fs_uuid.every((x) => x === 0)) return; // IRIX-style log: the kernel warns and goes on
  if (!h.h_fs_uuid.every((x, i) => x === g.uuid[i])) throw new LogRefused('a log record header carries another filesystem\'s UUID (h_fs_uuid): the kernel refuses to recover ("log has mismatched uuid")');
}

/**
 * xlog_find_verify_log_record: walk back from *last to the record header before
 * it; if *last is inside that record, the head is the header. Returns the
 * new last, or -1 when block 0 was passed without a header (the caller retries at the end).
 */
function findVerifyLogRecord(r: XlogReader, start: number, last: number, extra: number): number {
  let i = last - 1;
  for (; i >= 0; i--) {
    if (i < start) throw new LogRefused('log inconsistent: no record header before the head (xlog_find_verify_log_record)');
    const b = r.bread(i, 1);
    if (be32(b, 0) === XLOG_HEADER_MAGIC_NUM) {
      const h = parseRecHeader(b);
      headerCheckMount(r.g, h);
      const xhdrs = r.g.logv2 ? logrecHblks(r.g, h) : 1;
      return last - i + extra !== btobb(h.h_len) + xhdrs ? i : last;
    }
  }
  return -1;
}

/** xlog_find_zeroed: [1, first zeroed block] for a log never written to the end, [0, 0] when fully written. */
function findZeroed(r: XlogReader): [0 | 1, number] {
  const bbs = r.g.bbs;
  if (r.cycleOf(0) === 0) return [1, 0];
  if (r.cycleOf(bbs - 1) !== 0) return [0, 0];
  let last = findCycleStart(r, 0, bbs - 1, 0);
  let scan = totalRecShift(r.g);
  if (last < scan) scan = last;
  const start = last - scan;
  const nb = findVerifyCycle(r, start, scan, 0);
  if (nb !== -1) last = nb;
  const v = findVerifyLogRecord(r, start, last, 0);
  if (v === -1) throw new LogRefused('no record header before the zeroed part of the log', 'EIO');
  return [1, v];
}

/** XLOG_TOTAL_REC_SHIFT: basic blocks of all in-core logs at their largest. */
const totalRecShift = (g: LogGeometry): number => btobb(XLOG_MAX_ICLOGS << (g.logv2 ? 18 : 15));
/** XLOG_REC_SHIFT: basic blocks of one in-core log at its largest. */
const recShift = (g: LogGeometry): number => btobb(1 << (g.logv2 ? 18 : 15));

/** xlog_find_head: where the next record would go, incomplete writes at the end excluded. */
export function findHead(r: XlogReader): number {
  const bbs = r.g.bbs;
  const [zeroed, zblk] = findZeroed(r);
  if (zeroed === 1) return zblk;
  const firstHalf = r.cycleOf(0);
  const lastHalf = r.cycleOf(bbs - 1);
  let head: number;
  let stop: number;
  if (firstHalf === lastHalf) {
    head = bbs;
    stop = lastHalf - 1;
  } else {
    stop = lastHalf;
    head = findCycleStart(r, 0, bbs - 1, lastHalf);
  }
  let scan = Math.min(bbs, totalRecShift(r.g));
  if (head >= scan) {
    const nb = findVerifyCycle(r, head - scan, scan, stop);
    if (nb !== -1) head = nb;
  } else {
    let done = false;
    const nb = findVerifyCycle(r, bbs - (scan - head), scan - head, stop - 1);
    if (nb !== -1) {
      head = nb;
      done = true;
    }
    if (!done) {
      const nb2 = findVerifyCycle(r, 0, head, stop);
      if (nb2 !== -1) head = nb2;
    }
  }
  // validate_head: head must not point into the middle of a record.
  scan = recShift(r.g);
  if (head >= scan) {
    const v = findVerifyLogRecord(r, head - scan, head, 0);
    if (v === -1) throw new LogRefused('no record header before the log head', 'EIO');
    head = v;
  } else {
    const v = findVerifyLogRecord(r, 0, head, 0);
    if (v === -1) {
      const nb = findVerifyLogRecord(r, bbs - (scan - head), bbs, head);
      if (nb === -1) throw new LogRefused('no record header before the log head', 'EIO');
      if (nb !== bbs) head = nb;
    } else head = v;
  }
  return head === bbs ? 0 : head;
}

/** xlog_rseek_logrec_hdr: walk back from head for `count` headers, stopping at tail. */
function rseekLogrecHdr(r: XlogReader, head: number, tail: number, count: number): { found: number; blk: number; wrapped: boolean } {
  let found = 0;
  let blk = -1;
  let wrapped = false;
  const end = head > tail ? tail : 0;
  for (let i = head - 1; i >= end; i--) {
    if (be32(r.bread(i, 1), 0) === XLOG_HEADER_MAGIC_NUM) {
      blk = i;
      if (++found === count) return { found, blk, wrapped };
    }
  }
  if (tail >= head) {
    for (let i = r.g.bbs - 1; i >= tail; i--) {
      if (be32(r.bread(i, 1), 0) === XLOG_HEADER_MAGIC_NUM) {
        wrapped = true;
        blk = i;
        if (++found === count) break;
      }
    }
  }
  return { found, blk, wrapped };
}

/** xlog_seek_logrec_hdr: walk forward from tail for `count` headers, stopping at head. */
function seekLogrecHdr(r: XlogReader, head: number, tail: number, count: number): { found: number; blk: number } {
  let found = 0;
  let blk = -1;
  const end = head > tail ? head : r.g.bbs - 1;
  for (let i = tail; i <= end; i++) {
    if (be32(r.bread(i, 1), 0) === XLOG_HEADER_MAGIC_NUM) {
      blk = i;
      if (++found === count) return { found, blk };
    }
  }
  if (tail > head) {
    for (let i = 0; i < head; i++) {
      if (be32(r.bread(i, 1), 0) === XLOG_HEADER_MAGIC_NUM) {
        blk = i;
        if (++found === count) break;
      }
    }
  }
  return { found, blk };
}

/** Record headers in [from, to), wrapping: the records a torn write cost. */
function countHeaders(r: XlogReader, from: number, to: number): number {
  let n = 0;
  for (let i = from; i !== to; i = (i + 1) % r.g.bbs) if (be32(r.bread(i, 1), 0) === XLOG_HEADER_MAGIC_NUM) n++;
  return Math.max(n, 1);
}

/** xlog_valid_rec_header. */
function validRecHeader(r: XlogReader, b: Uint8Array, blkno: number, bufsize: number): XlogRecHeader {
  if (be32(b, 0) !== XLOG_HEADER_MAGIC_NUM) throw new LogRefused(`no record header (magic 0x${be32(b, 0).toString(16)}) at log block ${blkno}`);
  const h = parseRecHeader(b);
  if (h.h_version === 0 || (h.h_version & ~XLOG_VERSION_OKBITS) !== 0) throw new LogRefused(`log record at block ${blkno}: unrecognised h_version ${h.h_version}`);
  if (h.h_len <= 0 || h.h_len > bufsize || h.h_len > 0x7fffffff) throw new LogRefused(`log record at block ${blkno}: h_len ${h.h_len} is not within 1..${bufsize}`);
  if (blkno > r.g.bbs) throw new LogRefused(`log record block ${blkno} is past the log`);
  return h;
}

/** xlog_cksum: CRC-32C over the header (h_crc as zero), the extended headers' cycle data and the packed payload. */
function xlogCksum(g: LogGeometry, hdr: Uint8Array, data: Uint8Array, hdrsize: number, size: number): number {
  const h = hdr.slice(0, hdrsize);
  h.fill(0, H_CRC_OFF, H_CRC_OFF + 4);
  let crc = crc32c(h);
  if (g.logv2) {
    const xheads = Math.ceil(size / XLOG_HEADER_CYCLE_SIZE);
    for (let i = 1; i < xheads; i++) {
      const off = i * BBSIZE;
      crc = crc32c(off + XLOG_REC_EXT_SIZE <= hdr.length ? hdr.subarray(off, off + XLOG_REC_EXT_SIZE) : new Uint8Array(XLOG_REC_EXT_SIZE), crc);
    }
  }
  return crc32c(data.subarray(0, size), crc);
}

/** The record's CRC result: 'ok', 'none' (h_crc 0, as mkfs writes), or 'bad'. */
export function recordCrc(g: LogGeometry, rec: LogRecord): 'ok' | 'none' | 'bad' {
  const expected = rec.head.h_crc;
  if (expected === 0) return 'none';
  if (xlogCksum(g, rec.hdr, rec.data, XLOG_REC_SIZE, rec.head.h_len) === expected) return 'ok';
  // struct padding differs on i386 (xfs_log_format.h, end of struct xlog_rec_header)
  if (xlogCksum(g, rec.hdr, rec.data, XLOG_REC_SIZE_OTHER, rec.head.h_len) === expected) return 'ok';
  return 'bad';
}

/**
 * xlog_unpack_data: put back the first word of every data block, which the
 * writer replaced by the cycle stamp and kept in h_cycle_data / xh_cycle_data.
 */
export function unpackData(g: LogGeometry, rec: LogRecord): Uint8Array {
  const dp = rec.data.slice();
  const n = btobb(rec.head.h_len);
  let i = 0;
  for (; i < n && i < XLOG_CYCLE_DATA_SIZE; i++) dp.set(rec.hdr.subarray(44 + 4 * i, 48 + 4 * i), i * BBSIZE);
  if (g.logv2) {
    for (; i < n; i++) {
      const j = Math.floor(i / XLOG_CYCLE_DATA_SIZE);
      const k = i % XLOG_CYCLE_DATA_SIZE;
      const off = j * BBSIZE + 4 + 4 * k;
      if (off + 4 > rec.hdr.length) throw new LogRefused(`log record at block ${rec.blk}: ${n} data blocks need more extended headers than the ${rec.hdr.length / BBSIZE} it has`);
      dp.set(rec.hdr.subarray(off, off + 4), i * BBSIZE);
    }
  }
  return dp;
}

export type RecordVisitor = (rec: LogRecord) => void;

/**
 * xlog_do_recovery_pass's walk: every record from tail to head, wrapping
 * around the physical end. On an error the block of the failing record is
 * in `firstBad` of the thrown LogRefused's holder.
 */
export function forEachRecord(r: XlogReader, head: number, tail: number, visit: RecordVisitor, onBad?: (blk: number) => void): void {
  const g = r.g;
  const bbs = g.bbs;
  let blk = tail;
  let rheadBlk = tail;
  let hblks = 1;
  let hSize: number;
  try {
    if (g.logv2) {
      const b = r.bread(tail, 1);
      const h0 = parseRecHeader(b);
      hSize = h0.h_size;
      // xfsprogs wrote h_size 32k for records sized by lsunit: trust lsunit in that (mkfs) case.
      if (h0.h_len > hSize && h0.h_len <= g.logbsize && h0.h_num_logops === 1) hSize = g.logbsize;
      validRecHeader(r, b, tail, hSize);
      if (hSize > XLOG_HEADER_CYCLE_SIZE && (h0.h_version & XLOG_VERSION_2) !== 0) hblks = Math.ceil(hSize / XLOG_HEADER_CYCLE_SIZE);
    } else hSize = XLOG_BIG_RECORD_BSIZE;
    const one = (): void => {
      const hdr = r.breadWrapped(blk, hblks);
      const h = validRecHeader(r, hdr, blk >= bbs ? blk - bbs : blk, hSize);
      const bblks = btobb(h.h_len);
      const data = r.breadWrapped(blk + hblks, bblks);
      visit({ blk: blk % bbs, head: h, hdr, data });
      blk += hblks + bblks;
      rheadBlk = blk;
    };
    if (tail > head) {
      while (blk < bbs) one();
      blk -= bbs;
      rheadBlk = blk;
    }
    while (blk < head) one();
  } catch (e) {
    if (onBad) onBad(rheadBlk % bbs);
    throw e;
  }
}

/** The log's head and tail as xlog_find_tail leaves them, and whether it ended with an unmount record. */
export interface LogBounds {
  head: number;
  tail: number;
  clean: boolean;
  /** The last record before the head. */
  lastRecord: number;
  headCycle: number;
  /** Records dropped from the head because their CRC failed (torn writes). */
  tornRecords: number;
  /** True when the tail was moved forward past records that failed their CRC (an overwritten tail). */
  tailMoved: boolean;
}

/** The CRC pass (XLOG_RECOVER_CRCPASS): records whose CRC fails are EFSBADCRC; returns the first bad block or null. */
function crcPass(r: XlogReader, head: number, tail: number): { error: LogRefused | null; firstBad: number | null } {
  let firstBad: number | null = null;
  try {
    forEachRecord(r, head, tail, (rec) => {
      if (recordCrc(r.g, rec) === 'bad') throw new LogRefused(`log record at block ${rec.blk} (LSN ${lsnString(rec.head.h_lsn)}) fails its CRC`, 'EFSBADCRC');
    }, (blk) => { firstBad = blk; });
    return { error: null, firstBad: null };
  } catch (e) {
    if (e instanceof LogRefused) return { error: e, firstBad };
    throw e;
  }
}

const isCorruption = (e: LogRefused): boolean => e.errno === 'EFSBADCRC' || e.errno === 'EFSCORRUPTED';
const tailDistance = (bbs: number, head: number, tail: number): number => (head < tail ? tail - head : tail + (bbs - head));
const blockLsn = (lsn: bigint): number => Number(lsn & 0xffffffffn);

/** xlog_check_unmount_rec: the head record is a lone unmount record. */
function checkUnmountRec(r: XlogReader, head: number, rheadBlk: number, h: XlogRecHeader): boolean {
  const hblks = logrecHblks(r.g, h);
  const after = (rheadBlk + hblks + btobb(h.h_len)) % r.g.bbs;
  if (head !== after || h.h_num_logops !== 1) return false;
  const op = r.bread((rheadBlk + hblks) % r.g.bbs, 1);
  return (op[9]! & XLOG_UNMOUNT_TRANS) !== 0;
}

/** xlog_find_tail (with xlog_verify_head / xlog_verify_tail): the log's active region. */
export function findTail(r: XlogReader): LogBounds {
  const bbs = r.g.bbs;
  let head = findHead(r);
  if (head === 0 && r.cycleOf(0) === 0) return { head: 0, tail: 0, clean: true, lastRecord: -1, headCycle: 0, tornRecords: 0, tailMoved: false };
  let seek = rseekLogrecHdr(r, head, head, 1);
  if (seek.found === 0) throw new LogRefused('no log record header found before the head ("couldn\'t find sync record")');
  let rhead = parseRecHeader(r.bread(seek.blk, 1));
  let tail = blockLsn(rhead.h_tail_lsn);
  if (tail >= bbs) throw new LogRefused(`the head record's h_tail_lsn points to block ${tail}, outside the ${bbs}-block log`);
  let clean = checkUnmountRec(r, head, seek.blk, rhead);
  if (clean) return { head, tail: head, clean, lastRecord: seek.blk, headCycle: rhead.h_cycle, tornRecords: 0, tailMoved: false };
  // xlog_verify_head: CRC-check the last XLOG_MAX_ICLOGS records; a failure there is a torn write, the head moves back.
  let torn = 0;
  const back = rseekLogrecHdr(r, head, tail, XLOG_MAX_ICLOGS);
  if (back.found > 0) {
    const { error, firstBad } = crcPass(r, head, back.blk);
    if (error && isCorruption(error) && firstBad !== null) {
      const prev = rseekLogrecHdr(r, firstBad, tail, 1);
      if (prev.found === 0) throw new LogRefused(`torn write at log block ${firstBad} and no good record before it`, 'EIO');
      // Count the dropped records for the facts.
      torn = countHeaders(r, firstBad, head);
      head = firstBad;
      seek = prev;
      rhead = parseRecHeader(r.bread(prev.blk, 1));
      tail = blockLsn(rhead.h_tail_lsn);
      if (tail >= bbs) throw new LogRefused(`h_tail_lsn block ${tail} is outside the log`);
      if (head === tail) return { head, tail, clean: false, lastRecord: seek.blk, headCycle: rhead.h_cycle, tornRecords: torn, tailMoved: false };
    } else if (error) throw error;
  }
  // xlog_verify_tail: the tail must be a record; CRC-check tail to head, moving the tail past an overwritten record near the head.
  const origTail = tail;
  const first = seekLogrecHdr(r, head, tail, 1);
  if (first.found > 0) tail = first.blk;
  let res = crcPass(r, head, tail);
  // The kernel's loop condition is `first_bad` non-zero: a bad record at block 0 is not skipped.
  while (res.error && isCorruption(res.error) && res.firstBad) {
    if (tailDistance(bbs, head, res.firstBad) > btobb(XLOG_MAX_ICLOGS * rhead.h_size)) break;
    const next = seekLogrecHdr(r, head, res.firstBad, 2);
    tail = next.blk;
    res = crcPass(r, head, tail);
  }
  if (res.error) throw res.error;
  // The head moved back over torn records: it may now end in an unmount record.
  if (torn > 0 && checkUnmountRec(r, head, seek.blk, rhead)) {
    clean = true;
    tail = head;
  }
  return { head, tail, clean, lastRecord: seek.blk, headCycle: rhead.h_cycle, tornRecords: torn, tailMoved: tail !== origTail };
}
