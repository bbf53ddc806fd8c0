import { crc32c } from '../../bytes/crc32.js';

/*
 * jbd2, the ext3/ext4 journal, read and replayed in memory. Structures and
 * fields are named as the kernel's include/linux/jbd2.h names them; the
 * recovery follows fs/jbd2/recovery.c (kernel docs: filesystems/ext4/journal.rst).
 * Nothing is written: the result is a map of filesystem block → bytes that a
 * reader lays over the image.
 */

/** journal_header_t.h_magic. */
export const JBD2_MAGIC_NUMBER = 0xc03b3998;
/** journal_header_t.h_blocktype values. */
export const JBD2_DESCRIPTOR_BLOCK = 1;
export const JBD2_COMMIT_BLOCK = 2;
export const JBD2_SUPERBLOCK_V1 = 3;
export const JBD2_SUPERBLOCK_V2 = 4;
export const JBD2_REVOKE_BLOCK = 5;

/** journal_superblock_t.s_feature_compat. */
export const JBD2_FEATURE_COMPAT_CHECKSUM = 0x1;
/** journal_superblock_t.s_feature_incompat. */
export const JBD2_FEATURE_INCOMPAT_REVOKE = 0x1;
export const JBD2_FEATURE_INCOMPAT_64BIT = 0x2;
export const JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT = 0x4;
export const JBD2_FEATURE_INCOMPAT_CSUM_V2 = 0x8;
export const JBD2_FEATURE_INCOMPAT_CSUM_V3 = 0x10;
export const JBD2_FEATURE_INCOMPAT_FAST_COMMIT = 0x20;
const KNOWN_INCOMPAT = 0x3f;

/** journal_block_tag_t.t_flags. */
export const JBD2_FLAG_ESCAPE = 1;
export const JBD2_FLAG_SAME_UUID = 2;
export const JBD2_FLAG_DELETED = 4;
export const JBD2_FLAG_LAST_TAG = 8;

/** commit_header.h_chksum_type for checksum v1 (COMPAT_CHECKSUM), and s_checksum_type for v2/v3. */
export const JBD2_CRC32_CHKSUM = 1;
export const JBD2_CRC32_CHKSUM_SIZE = 4;
export const JBD2_CRC32C_CHKSUM = 4;

/** sizeof(journal_header_t), sizeof(jbd2_journal_revoke_header_t), sizeof(struct jbd2_journal_block_tail). */
const JOURNAL_HEADER_SIZE = 12;
const REVOKE_HEADER_SIZE = 16;
const BLOCK_TAIL_SIZE = 4;
/** journal_superblock_t is 1024 bytes; s_checksum sits at 0xfc. */
const JOURNAL_SUPERBLOCK_SIZE = 1024;

/** Journals larger than this (in blocks) are not replayed: 4 Mi blocks is 16 GiB at 4 KiB, far above mke2fs's 1 GiB default cap. */
export const MAX_JOURNAL_BLOCKS = 4 * 1024 * 1024;
/** Replayed blocks kept in memory at most (distinct filesystem blocks × block size). */
export const MAX_REPLAY_BYTES = 512 * 1024 * 1024;

/** The journal's own blocks, numbered from 0 (the journal superblock) as jbd2's bmap sees them. */
export interface JournalBlocks {
  readonly blockSize: number;
  /** Journal length in blocks (the journal inode's i_size / block size). */
  readonly count: number;
  /** Journal block `jblk` (0 ≤ jblk < count); throws when it cannot be read. */
  read(jblk: number): Uint8Array;
}

/** `journal_superblock_t` fields recovery uses (jbd2.h). */
export interface JournalSuperblock {
  h_blocktype: number;
  s_blocksize: number;
  s_maxlen: number;
  s_first: number;
  s_sequence: number;
  s_start: number;
  s_errno: number;
  s_feature_compat: number;
  s_feature_incompat: number;
  s_feature_ro_compat: number;
  s_uuid: Uint8Array;
  s_checksum_type: number;
  s_num_fc_blks: number;
  s_checksum: number;
}

/** What replay did, as plain facts; `blocks` is the overlay (filesystem block → bytes as after recovery). */
export interface JournalReplay {
  /** The committed transactions were applied to the overlay (false: the reader must use the unreplayed image). */
  replayed: boolean;
  /** Committed transactions found (and, when replayed, applied). */
  transactions: number;
  /** Journal block copies written into the overlay (a block logged twice counts twice, as the kernel's nr_replays). */
  blocksReplayed: number;
  /** Logged blocks skipped because a revoke record of the same or a later transaction covers them (nr_revoke_hits). */
  revoked: number;
  /** Replayed blocks whose logged copy was escaped (JBD2_FLAG_ESCAPE: the leading magic restored). */
  escaped: number;
  /** Revoke records read (nr_revokes). */
  revokeRecords: number;
  /** Logged blocks whose tag checksum (csum v2/v3) did not match: not replayed, as the kernel does. */
  checksumFailures: number;
  /** Journal features, by their e2fsprogs names. */
  features: string[];
  /** Why replay did not happen, or what was irregular about it; undefined when it was clean. */
  reason?: string;
  blocks: Map<number, Uint8Array>;
}

/** A malformed or unsupported journal: recovery stops and the reader falls back to the unreplayed view. */
class JournalRefused extends Error {}

const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
/** tid_gt / tid_geq: transaction IDs compare modulo 2^32 (jbd2.h). */
const tidGt = (x: number, y: number): boolean => ((x - y) | 0) > 0;
const tidGeq = (x: number, y: number): boolean => ((x - y) | 0) >= 0;

/** The kernel's jbd2_chksum: raw CRC-32C from `seed`, without the final inversion bytes/crc32.ts applies. */
function jbd2Chksum(seed: number, data: Uint8Array): number {
  return ~crc32c(data, ~seed >>> 0) >>> 0;
}

/** The kernel's crc32_be (MSB-first IEEE polynomial, no inversion), used by checksum v1 (COMPAT_CHECKSUM). */
const CRC32_BE_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32Be(crc: number, data: Uint8Array): number {
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i++) c = ((c << 8) ^ CRC32_BE_TABLE[((c >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  return c;
}

export function featureNames(sb: JournalSuperblock): string[] {
  const names: string[] = [];
  if (sb.s_feature_compat & JBD2_FEATURE_COMPAT_CHECKSUM) names.push('journal_checksum');
  const inc: [number, string][] = [
    [JBD2_FEATURE_INCOMPAT_REVOKE, 'journal_incompat_revoke'],
    [JBD2_FEATURE_INCOMPAT_64BIT, 'journal_64bit'],
    [JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT, 'journal_async_commit'],
    [JBD2_FEATURE_INCOMPAT_CSUM_V2, 'journal_checksum_v2'],
    [JBD2_FEATURE_INCOMPAT_CSUM_V3, 'journal_checksum_v3'],
    [JBD2_FEATURE_INCOMPAT_FAST_COMMIT, 'journal_fast_commit'],
  ];
  for (const [bit, name] of inc) if (sb.s_feature_incompat & bit) names.push(name);
  if (sb.s_feature_incompat & ~KNOWN_INCOMPAT) names.push(`unknown(0x${(sb.s_feature_incompat & ~KNOWN_INCOMPAT).toString(16)})`);
  return names;
}

/** Parses journal_superblock_t (jbd2.h); v1 superblocks have no feature fields (they read as zero). */
export function parseJournalSuperblock(b: Uint8Array): JournalSuperblock {
  if (b.length < JOURNAL_SUPERBLOCK_SIZE) throw new JournalRefused(`journal superblock: ${b.length} bytes, need ${JOURNAL_SUPERBLOCK_SIZE}`);
  if (be32(b, 0) !== JBD2_MAGIC_NUMBER) throw new JournalRefused(`journal superblock: bad magic 0x${be32(b, 0).toString(16)} (expected 0xc03b3998)`);
  const h_blocktype = be32(b, 4);
  if (h_blocktype !== JBD2_SUPERBLOCK_V1 && h_blocktype !== JBD2_SUPERBLOCK_V2) {
    throw new JournalRefused(`journal superblock: h_blocktype ${h_blocktype} is neither v1 (3) nor v2 (4)`);
  }
  const v2 = h_blocktype === JBD2_SUPERBLOCK_V2;
  return {
    h_blocktype,
    s_blocksize: be32(b, 0x0c),
    s_maxlen: be32(b, 0x10),
    s_first: be32(b, 0x14),
    s_sequence: be32(b, 0x18),
    s_start: be32(b, 0x1c),
    s_errno: be32(b, 0x20) | 0,
    s_feature_compat: v2 ? be32(b, 0x24) : 0,
    s_feature_incompat: v2 ? be32(b, 0x28) : 0,
    s_feature_ro_compat: v2 ? be32(b, 0x2c) : 0,
    s_uuid: b.slice(0x30, 0x40),
    s_checksum_type: b[0x50]!,
    s_num_fc_blks: be32(b, 0x54),
    s_checksum: be32(b, 0xfc),
  };
}

/** One logged block named by a descriptor's journal_block_tag_t / journal_block_tag3_t. */
interface Tag {
  blocknr: number;
  flags: number;
  /** t_checksum: 32 bits with csum v3, the low 16 with v2. */
  checksum: number;
  /** Journal block holding the logged copy. */
  logBlock: number;
}

interface Transaction {
  sequence: number;
  tags: Tag[];
  revokeBlocks: number[];
}

interface Geometry {
  sb: JournalSuperblock;
  blockSize: number;
  /** j_first, j_last: the log area is [first, last), wrapping from last back to first. */
  first: number;
  last: number;
  csumV2or3: boolean;
  csumV2: boolean;
  csumV3: boolean;
  is64: boolean;
  tagBytes: number;
  /** j_csum_seed: jbd2_chksum(~0, s_uuid). */
  csumSeed: number;
}

/** journal_tag_bytes(): the size of one tag for the journal's feature set (recovery.c). */
function tagBytes(csumV3: boolean, csumV2: boolean, is64: boolean): number {
  if (csumV3) return 16; // sizeof(journal_block_tag3_t)
  let sz = 12; // sizeof(journal_block_tag_t)
  if (csumV2) sz += 2;
  return is64 ? sz : sz - 4;
}

/** journal_get_superblock / journal_load checks: what the kernel refuses to load, refused here with its reason. */
function geometry(journal: JournalBlocks, sb: JournalSuperblock, raw: Uint8Array): Geometry {
  if (sb.s_blocksize !== journal.blockSize) {
    throw new JournalRefused(`journal superblock: s_blocksize ${sb.s_blocksize} differs from the filesystem block size ${journal.blockSize}`);
  }
  if (sb.s_maxlen === 0 || sb.s_maxlen > journal.count) {
    throw new JournalRefused(`journal superblock: s_maxlen ${sb.s_maxlen} is 0 or larger than the journal inode (${journal.count} blocks)`);
  }
  if (sb.s_first === 0 || sb.s_first >= sb.s_maxlen) {
    throw new JournalRefused(`journal superblock: s_first ${sb.s_first} is outside 1..${sb.s_maxlen - 1}`);
  }
  const unknown = sb.s_feature_incompat & ~KNOWN_INCOMPAT;
  if (unknown !== 0) throw new JournalRefused(`journal has incompatible feature bits 0x${unknown.toString(16)} this reader (and the kernel it follows) does not know`);
  const csumV2 = (sb.s_feature_incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2) !== 0;
  const csumV3 = (sb.s_feature_incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3) !== 0;
  if (csumV2 && csumV3) throw new JournalRefused('journal sets both checksum v2 and v3 (the kernel refuses this)');
  const csumV2or3 = csumV2 || csumV3;
  if (csumV2or3 && (sb.s_feature_compat & JBD2_FEATURE_COMPAT_CHECKSUM) !== 0) {
    throw new JournalRefused('journal sets checksum v1 together with v2/v3 (the kernel refuses this)');
  }
  if ((sb.s_feature_incompat & JBD2_FEATURE_INCOMPAT_FAST_COMMIT) !== 0) {
    throw new JournalRefused('journal uses fast commits (journal_fast_commit): their replay is not implemented, so the image is read unreplayed');
  }
  let csumSeed = 0;
  if (csumV2or3) {
    if (sb.s_checksum_type !== JBD2_CRC32C_CHKSUM) throw new JournalRefused(`journal superblock: s_checksum_type ${sb.s_checksum_type} is not crc32c (4)`);
    const copy = raw.slice(0, JOURNAL_SUPERBLOCK_SIZE);
    copy.fill(0, 0xfc, 0x100);
    const calc = jbd2Chksum(0xffffffff, copy);
    if (calc !== sb.s_checksum) {
      throw new JournalRefused(`journal superblock checksum 0x${sb.s_checksum.toString(16)} does not match 0x${calc.toString(16)} (the kernel refuses to load this journal)`);
    }
    csumSeed = jbd2Chksum(0xffffffff, sb.s_uuid);
  }
  const is64 = (sb.s_feature_incompat & JBD2_FEATURE_INCOMPAT_64BIT) !== 0;
  return {
    sb,
    blockSize: journal.blockSize,
    first: sb.s_first,
    last: sb.s_maxlen,
    csumV2or3,
    csumV2,
    csumV3,
    is64,
    tagBytes: tagBytes(csumV3, csumV2, is64),
    csumSeed,
  };
}

/** jbd2_descriptor_block_csum_verify (descriptor and revoke blocks): the tail's t_checksum covers the block with it zeroed. */
function descriptorCsumOk(g: Geometry, b: Uint8Array): boolean {
  if (!g.csumV2or3) return true;
  const tail = g.blockSize - BLOCK_TAIL_SIZE;
  const provided = be32(b, tail);
  const copy = b.slice();
  copy.fill(0, tail, tail + 4);
  return jbd2Chksum(g.csumSeed, copy) === provided;
}

/** jbd2_commit_block_csum_verify: commit_header.h_chksum[0] covers the block with it zeroed. */
function commitCsumOk(g: Geometry, b: Uint8Array): boolean {
  if (!g.csumV2or3) return true;
  const provided = be32(b, 0x10);
  const copy = b.slice();
  copy.fill(0, 0x10, 0x14);
  return jbd2Chksum(g.csumSeed, copy) === provided;
}

/** jbd2_block_tag_csum_verify: CRC-32C of the big-endian sequence then the logged block (as logged, still escaped). */
function tagCsumOk(g: Geometry, tag: Tag, data: Uint8Array, sequence: number): boolean {
  if (!g.csumV2or3) return true;
  const seq = new Uint8Array([sequence >>> 24, (sequence >>> 16) & 0xff, (sequence >>> 8) & 0xff, sequence & 0xff]);
  const csum = jbd2Chksum(jbd2Chksum(g.csumSeed, seq), data);
  return g.csumV3 ? csum === tag.checksum : (csum & 0xffff) === tag.checksum;
}

/** The tags of a descriptor block: tag, then a 16-byte UUID unless SAME_UUID, until LAST_TAG or the block (less its tail) ends. */
function parseTags(g: Geometry, b: Uint8Array, firstLogBlock: number): Tag[] {
  const tags: Tag[] = [];
  const end = g.blockSize - (g.csumV2or3 ? BLOCK_TAIL_SIZE : 0);
  let p = JOURNAL_HEADER_SIZE;
  let logBlock = firstLogBlock;
  while (p + g.tagBytes <= end) {
    // t_flags is read as the be16 at offset 6 for both tag layouts, as recovery.c does (tag3's be32 t_flags ends there).
    const flags = be16(b, p + 6);
    let blocknr = be32(b, p);
    if (g.is64) blocknr += be32(b, p + 8) * 0x100000000;
    const checksum = g.csumV3 ? be32(b, p + 12) : g.csumV2 ? be16(b, p + 4) : 0;
    tags.push({ blocknr, flags, checksum, logBlock });
    logBlock = wrap(g, logBlock + 1);
    p += g.tagBytes;
    if ((flags & JBD2_FLAG_SAME_UUID) === 0) p += 16;
    if ((flags & JBD2_FLAG_LAST_TAG) !== 0) break;
  }
  return tags;
}

function wrap(g: Geometry, blk: number): number {
  return blk >= g.last ? blk - (g.last - g.first) : blk;
}

interface Scan {
  transactions: Transaction[];
  /** Set when the scan ended on something irregular but recovery still succeeds (the kernel's "likely stale data"). */
  note?: string;
}

/**
 * PASS_SCAN: from s_start and s_sequence, walk descriptor, revoke and commit
 * blocks whose sequence is the expected one, to the last committed
 * transaction (do_one_pass). Throws JournalRefused where the kernel's
 * recovery fails (and so its mount).
 */
function scan(journal: JournalBlocks, g: Geometry): Scan {
  const transactions: Transaction[] = [];
  let next = g.sb.s_sequence;
  let blk = g.sb.s_start;
  let current: Transaction = { sequence: next, tags: [], revokeBlocks: [] };
  let crc32Sum = 0xffffffff;
  let needCheckCommitTime = false;
  let badBlock = '';
  let lastCommitTime = 0n;
  const v1Checksum = (g.sb.s_feature_compat & JBD2_FEATURE_COMPAT_CHECKSUM) !== 0;
  const async = (g.sb.s_feature_incompat & JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT) !== 0;
  // A log never spans more than the journal: visiting more blocks means it loops.
  let visited = 0;
  const budget = g.last - g.first;
  const visit = (n: number): void => {
    visited += n;
    if (visited > budget + 1) throw new JournalRefused(`the log from block ${g.sb.s_start} runs longer than the journal (${budget} blocks): it loops`);
  };
  for (;;) {
    visit(1);
    const at = blk;
    const b = journal.read(blk);
    blk = wrap(g, blk + 1);
    if (be32(b, 0) !== JBD2_MAGIC_NUMBER) return { transactions };
    const blocktype = be32(b, 4);
    const sequence = be32(b, 8);
    if (sequence !== next) return { transactions };
    if (blocktype === JBD2_DESCRIPTOR_BLOCK) {
      if (!descriptorCsumOk(g, b)) {
        needCheckCommitTime = true;
        badBlock ||= `descriptor block ${at}`;
      }
      const tags = parseTags(g, b, blk);
      visit(tags.length);
      if (v1Checksum && !needCheckCommitTime) {
        crc32Sum = crc32Be(crc32Sum, b);
        for (const t of tags) crc32Sum = crc32Be(crc32Sum, journal.read(t.logBlock));
      }
      current.tags.push(...tags);
      blk = wrap(g, blk + tags.length);
    } else if (blocktype === JBD2_REVOKE_BLOCK) {
      if (!descriptorCsumOk(g, b)) {
        needCheckCommitTime = true;
        badBlock ||= `revoke block ${at}`;
      }
      current.revokeBlocks.push(at);
    } else if (blocktype === JBD2_COMMIT_BLOCK) {
      // commit_header: h_chksum_type 0x0c, h_chksum_size 0x0d, h_chksum[0] 0x10, h_commit_sec 0x30 (be64).
      const commitTime = (BigInt(be32(b, 0x30)) << 32n) | BigInt(be32(b, 0x34));
      if (needCheckCommitTime) {
        if (commitTime >= lastCommitTime) {
          throw new JournalRefused(`transaction ${next}: ${badBlock} fails its checksum (the kernel fails recovery, and the mount, with EFSBADCRC)`);
        }
        return { transactions, note: `transaction ${next}: ${badBlock} fails its checksum and its commit is older than the previous one: stale, the log ends there (as the kernel decides)` };
      }
      let bad = '';
      if (v1Checksum) {
        const found = be32(b, 0x10);
        const type = b[0x0c]!;
        const size = b[0x0d]!;
        const ok = (crc32Sum === found && type === JBD2_CRC32_CHKSUM && size === JBD2_CRC32_CHKSUM_SIZE) || (type === 0 && size === 0 && found === 0);
        if (!ok) bad = `its crc32 checksum (v1) 0x${found.toString(16)} does not match 0x${crc32Sum.toString(16)}`;
        crc32Sum = 0xffffffff;
      }
      if (!bad && !commitCsumOk(g, b)) bad = 'its commit block fails its checksum';
      if (bad) {
        if (commitTime < lastCommitTime) return { transactions, note: `transaction ${next}: ${bad}, and it is older than the previous commit: stale, the log ends there` };
        // Synchronous commits: the transaction did not fully reach the disk; it and all after it are dropped.
        // (With async commits the kernel scans on but still replays nothing from here.)
        return { transactions, note: `transaction ${next}: ${bad}; it and any later ones are not replayed${async ? ' (async commit)' : ''}` };
      }
      lastCommitTime = commitTime;
      transactions.push(current);
      next = (next + 1) >>> 0;
      current = { sequence: next, tags: [], revokeBlocks: [] };
    } else {
      return { transactions }; // unknown block type: end of the log
    }
  }
}

/**
 * Recovers a jbd2 journal in memory, as jbd2_journal_recover does at mount:
 * PASS_SCAN finds the committed transactions, PASS_REVOKE collects revoke
 * records (newest transaction per block), PASS_REPLAY copies every logged
 * block not revoked by the same or a later transaction, in log order, later
 * copies replacing earlier ones. Never throws for a malformed journal: the
 * result says why it was not replayed.
 */
export function replayJournal(journal: JournalBlocks, fsBlocksCount: number): JournalReplay {
  const out: JournalReplay = { replayed: false, transactions: 0, blocksReplayed: 0, revoked: 0, escaped: 0, revokeRecords: 0, checksumFailures: 0, features: [], blocks: new Map() };
  try {
    if (journal.count < 2 || journal.count > MAX_JOURNAL_BLOCKS) {
      throw new JournalRefused(`the journal inode holds ${journal.count} blocks (readable: 2..${MAX_JOURNAL_BLOCKS})`);
    }
    const raw = journal.read(0);
    const sb = parseJournalSuperblock(raw);
    out.features = featureNames(sb);
    const g = geometry(journal, sb, raw);
    if (sb.s_start === 0) {
      // jbd2_journal_recover: s_start 0 means the log is empty, whatever the filesystem's flag says.
      out.replayed = true;
      out.reason = 'the journal is empty (s_start 0): nothing to replay';
      return out;
    }
    if (sb.s_start < g.first || sb.s_start >= g.last) throw new JournalRefused(`journal superblock: s_start ${sb.s_start} is outside the log area ${g.first}..${g.last - 1}`);
    const { transactions, note } = scan(journal, g);
    out.transactions = transactions.length;

    // PASS_REVOKE: jbd2_journal_set_revoke keeps the newest transaction revoking each block.
    const revokes = new Map<number, number>();
    const recordLen = g.is64 ? 8 : 4;
    for (const t of transactions) {
      for (const rb of t.revokeBlocks) {
        const b = journal.read(rb);
        const rCount = be32(b, 12); // jbd2_journal_revoke_header_t.r_count: bytes used, header included
        if (rCount > g.blockSize - (g.csumV2or3 ? BLOCK_TAIL_SIZE : 0)) {
          throw new JournalRefused(`transaction ${t.sequence}: revoke block ${rb} has r_count ${rCount}, more than the block holds (the kernel fails recovery with EINVAL)`);
        }
        for (let o = REVOKE_HEADER_SIZE; o + recordLen <= rCount; o += recordLen) {
          const blocknr = g.is64 ? be32(b, o) * 0x100000000 + be32(b, o + 4) : be32(b, o);
          const prev = revokes.get(blocknr);
          if (prev === undefined || tidGt(t.sequence, prev)) revokes.set(blocknr, t.sequence);
          out.revokeRecords++;
        }
      }
    }

    // PASS_REPLAY.
    const failed: string[] = [];
    for (const t of transactions) {
      for (const tag of t.tags) {
        const rev = revokes.get(tag.blocknr);
        if (rev !== undefined && tidGeq(rev, t.sequence)) {
          out.revoked++;
          continue;
        }
        const data = journal.read(tag.logBlock);
        if (!tagCsumOk(g, tag, data, t.sequence)) {
          out.checksumFailures++;
          if (failed.length < 8) failed.push(`block ${tag.blocknr} (journal block ${tag.logBlock}, transaction ${t.sequence})`);
          continue;
        }
        if (tag.blocknr >= fsBlocksCount) {
          throw new JournalRefused(`transaction ${t.sequence}: a tag names block ${tag.blocknr}, outside the filesystem's ${fsBlocksCount} blocks`);
        }
        const copy = data.slice();
        if ((tag.flags & JBD2_FLAG_ESCAPE) !== 0) {
          // The logged copy had its leading magic zeroed so it would not look like a journal block; restore it.
          copy[0] = 0xc0; copy[1] = 0x3b; copy[2] = 0x39; copy[3] = 0x98;
          out.escaped++;
        }
        if (!out.blocks.has(tag.blocknr) && (out.blocks.size + 1) * g.blockSize > MAX_REPLAY_BYTES) {
          throw new JournalRefused(`replay would hold more than ${MAX_REPLAY_BYTES} bytes of blocks in memory`);
        }
        out.blocks.set(tag.blocknr, copy);
        out.blocksReplayed++;
      }
    }
    out.replayed = true;
    const notes: string[] = [];
    if (note) notes.push(note);
    if (out.checksumFailures > 0) {
      notes.push(`${out.checksumFailures} logged block(s) fail their tag checksum and were not replayed: ${failed.join(', ')}${out.checksumFailures > failed.length ? ', …' : ''} (the kernel replays the rest, then fails the mount with EFSBADCRC)`);
    }
    if (notes.length > 0) out.reason = notes.join('; ');
    return out;
  } catch (e) {
    out.replayed = false;
    out.blocks = new Map();
    out.blocksReplayed = 0;
    out.revoked = 0;
    out.escaped = 0;
    out.revokeRecords = 0;
    out.checksumFailures = 0;
    out.reason = e instanceof JournalRefused ? e.message : `the journal could not be read: ${(e as Error).message}`;
    return out;
  }
}
