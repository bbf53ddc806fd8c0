import { crc32c } from '../../bytes/crc32.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { fsbToLinear } from './xfs-extents.js';
import {
  BBSIZE, be64n, findTail, forEachRecord, LogRefused, type LogGeometry, type LogRecord, lsnString, recordCrc, unpackData,
  XLOG_COMMIT_TRANS, XLOG_CONTINUE_TRANS, XLOG_END_TRANS, XLOG_FMT_LINUX_BE, XLOG_FMT_LINUX_LE, XLOG_START_TRANS,
  XLOG_UNMOUNT_TRANS, XLOG_WAS_CONT_TRANS, XlogReader,
} from './xfs-log-records.js';
import type { XfsSuperblock } from './xfs-superblock.js';

/*
 * xfs log recovery in memory, as the kernel runs it at mount
 * (fs/xfs/xfs_log_recover.c, xfs_buf_item_recover.c,
 * xfs_inode_item_recover.c, xfs_icreate_item.c): transactions are
 * reassembled from the log operations between tail and head, then every
 * committed buffer, inode and icreate item is applied, in two passes so
 * cancelled buffers (XFS_BLF_CANCEL) are never replayed, and on v5 only
 * over metadata older than the transaction (LSN ordering). The result is
 * a map of 512-byte basic blocks (daddr → bytes) laid over the image; the
 * image is never written. Log item structures are in the byte order of
 * the machine that wrote them (h_fmt), everything else big-endian.
 */

/** xfs_log_format.h client ids and item types. */
const XFS_TRANSACTION = 0x69;
const XFS_LOG = 0xaa;
const XFS_TRANS_HEADER_MAGIC = 0x5452414e;
const XFS_LI_INODE = 0x123b;
const XFS_LI_BUF = 0x123c;
const XFS_LI_DQUOT = 0x123d;
const XFS_LI_QUOTAOFF = 0x123e;
const XFS_LI_ICREATE = 0x123f;
const LI_NAMES: Record<number, string> = {
  0x1236: 'EFI', 0x1237: 'EFD', 0x123b: 'INODE', 0x123c: 'BUF', 0x123d: 'DQUOT', 0x123e: 'QUOTAOFF', 0x123f: 'ICREATE',
  0x1240: 'RUI', 0x1241: 'RUD', 0x1242: 'CUI', 0x1243: 'CUD', 0x1244: 'BUI', 0x1245: 'BUD', 0x1246: 'ATTRI', 0x1247: 'ATTRD',
  0x1248: 'XMI', 0x1249: 'XMD', 0x124a: 'EFI_RT', 0x124b: 'EFD_RT', 0x124c: 'RUI_RT', 0x124d: 'RUD_RT', 0x124e: 'CUI_RT', 0x124f: 'CUD_RT',
};
/** Intent items and the done items that finish them (xfs_log_format.h): recovery finishes unmatched intents after replay. */
const INTENT_DONE: Record<number, number> = { 0x1236: 0x1237, 0x1240: 0x1241, 0x1242: 0x1243, 0x1244: 0x1245, 0x1246: 0x1247, 0x1248: 0x1249, 0x124a: 0x124b, 0x124c: 0x124d, 0x124e: 0x124f };
const DONE_INTENT: Record<number, number> = Object.fromEntries(Object.entries(INTENT_DONE).map(([i, d]) => [d, Number(i)]));
/** Intents whose unfinished work changes what files read (mappings), not only free space or reverse maps. */
const MAPPING_INTENTS = new Set([0x1244, 0x1248]);
/** xfs_log_recover.h XLOG_MAX_REGIONS_IN_ITEM. */
const XLOG_MAX_REGIONS_IN_ITEM = 65536 / 128 / 2 + 1;

/** Buffer log format (xfs_log_format.h). */
const XFS_BLF_INODE_BUF = 1 << 0;
const XFS_BLF_CANCEL = 1 << 1;
const XFS_BLF_DQUOT_BUFS = (1 << 2) | (1 << 3) | (1 << 4);
const XFS_BLF_SHIFT = 7;
const XFS_BLF_DATAMAP_SIZE = 65536 / 128 / 32 + 1;
const BLF_DATA_MAP_OFF = 20;
const XFS_BLFT_SHIFT = 11;
const enum Blft { BTREE = 4, AGF, AGFL, AGI, DINO, SYMLINK, DIR_BLOCK, DIR_DATA, DIR_FREE, DIR_LEAF1, DIR_LEAFN, DA_NODE, ATTR_LEAF, ATTR_RMT, SB }

/** xfs_inode_log_format.ilf_fields (XFS_ILOG_*). */
const XFS_ILOG_DDATA = 0x002;
const XFS_ILOG_DEXT = 0x004;
const XFS_ILOG_DBROOT = 0x008;
const XFS_ILOG_DEV = 0x010;
const XFS_ILOG_ADATA = 0x040;
const XFS_ILOG_AEXT = 0x080;
const XFS_ILOG_ABROOT = 0x100;
const XFS_ILOG_DOWNER = 0x200;
const XFS_ILOG_AOWNER = 0x400;
const XFS_ILOG_DFORK = XFS_ILOG_DDATA | XFS_ILOG_DEXT | XFS_ILOG_DBROOT;
const XFS_ILOG_AFORK = XFS_ILOG_ADATA | XFS_ILOG_AEXT | XFS_ILOG_ABROOT;

/** On-disk magics recovery looks at (xfs_format.h, xfs_da_format.h). */
const M = {
  ABTB3: 0x41423342, ABTC3: 0x41423343, ABTB: 0x41425442, ABTC: 0x41425443, IBT3: 0x49414233, IBT: 0x49414254, FIBT3: 0x46494233, FIBT: 0x46494254,
  RMAP3: 0x524d4233, REFC3: 0x52334643, BMAP3: 0x424d4133, BMAP: 0x424d4150, AGF: 0x58414746, AGFL: 0x5841464c, AGI: 0x58414749,
  SYMLINK: 0x58534c4d, DIR3_BLOCK: 0x58444233, DIR3_DATA: 0x58444433, DIR3_FREE: 0x58444633, ATTR3_RMT: 0x5841524d, SB: 0x58465342,
  DIR3_LEAF1: 0x3df1, DIR3_LEAFN: 0x3dff, DA3_NODE: 0x3ebe, ATTR3_LEAF: 0x3bee, DINODE: 0x494e, DQUOT: 0x4451,
} as const;
const XFS_SB_FEAT_INCOMPAT_SPINODES = 1 << 1;
const XFS_SB_FEAT_INCOMPAT_META_UUID = 1 << 2;
const XFS_SB_FEAT_INCOMPAT_NREXT64 = 1 << 5;
/** sb_features_log_incompat bits this recovery knows (XFS_SB_FEAT_INCOMPAT_LOG_XATTRS, _LOG_EXCHMAPS). */
const KNOWN_LOG_INCOMPAT = 0x3;
const XFS_DIFLAG2_BIGTIME = 1n << 3n;
const XFS_DIFLAG2_NREXT64 = 1n << 4n;
const NULLAGINO = 0xffffffff;

/** Basic blocks of replayed metadata kept at most (256 MiB). */
export const MAX_REPLAY_SECTORS = (256 * 1024 * 1024) / BBSIZE;
/** Bytes of logged regions held for open transactions at most. */
const MAX_TRANS_BYTES = 256 * 1024 * 1024;

/** What recovery did, as facts (the ext4 journal's shape, extended). */
export interface XfsLogRecovery {
  /** The committed transactions were applied to the overlay; false: the reader reads the log unreplayed (mount -o norecovery). */
  replayed: boolean;
  /** Committed transactions found between tail and head (and, when replayed, applied). */
  transactions: number;
  /** Buffer, inode and icreate items applied. */
  blocksReplayed: number;
  /** Logged buffers and inodes not replayed because a later XFS_BLF_CANCEL freed their blocks. */
  revoked: number;
  /** Items skipped because the metadata on disk is already newer (its LSN is at or past the transaction's). */
  skippedNewer: number;
  /** Log records failing their CRC: torn writes at the head, dropped as the kernel drops them. */
  checksumFailures: number;
  /** Log features: log v2, record CRCs (v5), the writer's byte order. */
  features: string[];
  /** Tail and head basic blocks of the active log; null when the log could not be read. */
  tail: number | null;
  head: number | null;
  /** Why replay did not happen, or what is irregular about it (intents left to the kernel, torn writes); undefined when clean. */
  reason?: string;
  /** daddr (512-byte basic block of the data device) → its bytes after recovery. */
  sectors: Map<number, Uint8Array>;
}

type Endian = 'le' | 'be';

/** Host-order field access for log item structures. */
class Host {
  constructor(readonly endian: Endian) {}
  u16(b: Uint8Array, o: number): number {
    return this.endian === 'le' ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
  }
  u32(b: Uint8Array, o: number): number {
    return this.endian === 'le'
      ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
      : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }
  u64(b: Uint8Array, o: number): bigint {
    const a = BigInt(this.u32(b, o));
    const c = BigInt(this.u32(b, o + 4));
    return this.endian === 'le' ? (c << 32n) | a : (a << 32n) | c;
  }
}

const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function put64(b: Uint8Array, o: number, v: bigint): void {
  put32(b, o, Number((v >> 32n) & 0xffffffffn));
  put32(b, o + 4, Number(v & 0xffffffffn));
}

/** xfs_update_cksum: CRC-32C of the buffer with its CRC field zeroed, stored little-endian. */
function updateCksum(b: Uint8Array, off: number): void {
  b.fill(0, off, off + 4);
  const crc = crc32c(b);
  b[off] = crc & 0xff;
  b[off + 1] = (crc >>> 8) & 0xff;
  b[off + 2] = (crc >>> 16) & 0xff;
  b[off + 3] = (crc >>> 24) & 0xff;
}

/** One log item being reassembled: its regions (ri_buf), ri_total expected. */
interface Item {
  total: number;
  regions: Uint8Array[];
}

/** struct xlog_recover: one transaction being reassembled. */
interface Trans {
  tid: number;
  /** r_lsn: the LSN of the record holding its start. */
  lsn: bigint;
  headerBytes: number;
  items: Item[];
  bytes: number;
}

/** The overlay: 512-byte basic blocks of the data device as recovery left them. */
class SectorCache {
  readonly sectors = new Map<number, Uint8Array>();
  readonly dataBBs: number;

  constructor(
    readonly src: ByteSource,
    sb: XfsSuperblock,
  ) {
    this.dataBBs = Math.min(sb.sb_dblocks * (sb.sb_blocksize / BBSIZE), Math.floor(src.size / BBSIZE));
  }

  check(daddr: number, len: number, what: string): void {
    if (!Number.isSafeInteger(daddr) || daddr < 0 || len <= 0 || len > 128 || daddr + len > this.dataBBs) {
      throw new LogRefused(`${what}: buffer of ${len} basic blocks at daddr ${daddr} is outside the data device (${this.dataBBs} blocks)`);
    }
  }

  read(daddr: number, len: number): Uint8Array {
    const out = this.src.read(daddr * BBSIZE, len * BBSIZE).slice();
    for (let i = 0; i < len; i++) {
      const s = this.sectors.get(daddr + i);
      if (s) out.set(s, i * BBSIZE);
    }
    return out;
  }

  write(daddr: number, bytes: Uint8Array): void {
    for (let i = 0; i * BBSIZE < bytes.length; i++) this.sectors.set(daddr + i, bytes.slice(i * BBSIZE, (i + 1) * BBSIZE));
    if (this.sectors.size > MAX_REPLAY_SECTORS) throw new LogRefused(`recovery touches more than ${MAX_REPLAY_SECTORS * BBSIZE} bytes of metadata, more than this reader keeps in memory`, 'UNSUPPORTED');
  }
}

/** How the write verifier of a recovered buffer stamps it (xlog_recover_validate_buf_type, then the buffer's ops). */
type Stamp = { lsnOff: number; crcOff: number } | 'attr-rmt' | null;

const BTREE_S: Stamp = { lsnOff: 24, crcOff: 52 };
const BTREE_L: Stamp = { lsnOff: 32, crcOff: 64 };
const DIR3_HDR: Stamp = { lsnOff: 16, crcOff: 4 };
const DA3_HDR: Stamp = { lsnOff: 24, crcOff: 12 };

/** xlog_recover_validate_buf_type for v5: which verifier the buffer gets, by its type and (recovered) magic. */
function stampFor(blft: number, b: Uint8Array): Stamp {
  const m32 = be32(b, 0);
  const mda = be16(b, 8);
  switch (blft) {
    case Blft.BTREE:
      if ([M.ABTB3, M.ABTC3, M.IBT3, M.FIBT3, M.RMAP3, M.REFC3].includes(m32 as never)) return BTREE_S;
      return m32 === M.BMAP3 ? BTREE_L : null;
    case Blft.AGF: return m32 === M.AGF ? { lsnOff: 208, crcOff: 216 } : null;
    case Blft.AGFL: return m32 === M.AGFL ? { lsnOff: 24, crcOff: 32 } : null;
    case Blft.AGI: return m32 === M.AGI ? { lsnOff: 320, crcOff: 312 } : null;
    case Blft.SYMLINK: return m32 === M.SYMLINK ? { lsnOff: 48, crcOff: 12 } : null;
    case Blft.DIR_BLOCK: return m32 === M.DIR3_BLOCK ? DIR3_HDR : null;
    case Blft.DIR_DATA: return m32 === M.DIR3_DATA ? DIR3_HDR : null;
    case Blft.DIR_FREE: return m32 === M.DIR3_FREE ? DIR3_HDR : null;
    case Blft.DIR_LEAF1: return mda === M.DIR3_LEAF1 ? DA3_HDR : null;
    case Blft.DIR_LEAFN: return mda === M.DIR3_LEAFN ? DA3_HDR : null;
    case Blft.DA_NODE: return mda === M.DA3_NODE ? DA3_HDR : null;
    case Blft.ATTR_LEAF: return mda === M.ATTR3_LEAF ? DA3_HDR : null;
    case Blft.ATTR_RMT: return m32 === M.ATTR3_RMT ? 'attr-rmt' : null;
    case Blft.SB: return m32 === M.SB ? { lsnOff: 240, crcOff: 224 } : null;
    default: return null; // inode buffers: the inode verifier writes no LSN or CRC; dquots are not replayed
  }
}

/** struct xfs_buf_log_format, checked. */
interface Blf {
  flags: number;
  len: number;
  blkno: number;
  mapSize: number;
  map: Uint8Array;
}

/** Inode geometry recovery needs (xfs_ialloc_setup_geometry). */
interface InodeGeometry {
  blocksPerCluster: number;
  iallocBlks: number;
  iallocMinBlks: number;
  v3: boolean;
}

function inodeGeometry(sb: XfsSuperblock, raw: Uint8Array): InodeGeometry {
  const v3 = sb.hasCrc;
  let clusterRaw = 8192; // XFS_INODE_BIG_CLUSTER_SIZE
  const inoalignmt = be32(raw, 180);
  if (v3) {
    const n = clusterRaw * (sb.sb_inodesize / 256);
    if (inoalignmt >= Math.floor(n / sb.sb_blocksize)) clusterRaw = n;
  }
  const blocksPerCluster = clusterRaw > sb.sb_blocksize ? Math.floor(clusterRaw / sb.sb_blocksize) : 1;
  const iallocInos = Math.max(64, sb.sb_inopblock);
  const iallocBlks = iallocInos >> sb.sb_inopblog;
  const sparse = (sb.sb_features_incompat & XFS_SB_FEAT_INCOMPAT_SPINODES) !== 0;
  return { blocksPerCluster, iallocBlks, iallocMinBlks: sparse ? be32(raw, 228) : iallocBlks, v3 };
}

/** Runs recovery over the dirty log of `src`'s filesystem; never throws for what the log holds. */
export function recoverXfsLog(src: ByteSource, sb: XfsSuperblock): XfsLogRecovery {
  const facts: XfsLogRecovery = { replayed: false, transactions: 0, blocksReplayed: 0, revoked: 0, skippedNewer: 0, checksumFailures: 0, features: [], tail: null, head: null, sectors: new Map() };
  const refuse = (reason: string): XfsLogRecovery => ({ ...facts, replayed: false, blocksReplayed: 0, revoked: 0, skippedNewer: 0, reason, sectors: new Map() });
  if (sb.sb_logstart === 0) return refuse('the log is on an external device, not in this image: it cannot be replayed');
  const rawSb = src.read(0, Math.min(src.size, Math.max(512, sb.sb_sectsize)));
  const logv2 = sb.hasCrc || (sb.sb_versionnum & 0x400) !== 0;
  facts.features.push(...(logv2 ? ['logv2'] : []), ...(sb.hasCrc ? ['crc'] : []));
  const unknownLogIncompat = sb.sb_features_log_incompat & ~KNOWN_LOG_INCOMPAT;
  if (sb.hasCrc && unknownLogIncompat !== 0) {
    return refuse(`the log uses unknown log-incompatible feature bits 0x${unknownLogIncompat.toString(16)}: the kernel refuses to recover it`);
  }
  const start = fsbToLinear(sb, sb.sb_logstart);
  const bbs = sb.sb_logblocks * (sb.sb_blocksize / BBSIZE);
  if (start === undefined || bbs === 0 || (start * sb.sb_blocksize) + bbs * BBSIZE > src.size) {
    return refuse(`the log (sb_logstart ${sb.sb_logstart}, ${sb.sb_logblocks} blocks) is not inside the image`);
  }
  const logsunit = be32(rawSb, 196);
  const g: LogGeometry = {
    base: start * sb.sb_blocksize, bbs, logv2, crc: sb.hasCrc,
    uuid: Uint8Array.from(Buffer.from(sb.sb_uuid, 'hex')),
    logbsize: logv2 && logsunit > 1 ? Math.max(32768, logsunit) : 32768,
  };
  const r = new XlogReader(src, g);
  try {
    const bounds = findTail(r);
    facts.tail = bounds.tail;
    facts.head = bounds.head;
    facts.checksumFailures = bounds.tornRecords;
    if (bounds.head === bounds.tail) {
      return { ...facts, replayed: true, reason: bounds.clean ? 'the log ends in an unmount record: nothing to replay' : 'the log is empty between tail and head: nothing to replay' };
    }
    const run = new Recovery(src, sb, rawSb, r, facts);
    run.pass(bounds.head, bounds.tail, 1);
    run.pass(bounds.head, bounds.tail, 2);
    run.flushStamps();
    const notes: string[] = [];
    if (bounds.tornRecords > 0) notes.push(`${bounds.tornRecords} log record(s) at the head fail their CRC (a torn write): the head was moved back before them, as the kernel does`);
    if (bounds.tailMoved) notes.push('the tail record failed its CRC near the head (overwritten): the tail was moved forward, as the kernel does');
    notes.push(...run.notes());
    return { ...facts, replayed: true, sectors: run.cache.sectors, ...(notes.length > 0 ? { reason: notes.join('; ') } : {}) };
  } catch (e) {
    if (e instanceof LogRefused) return refuse(`log recovery failed (${e.errno}): ${e.message}; read unreplayed, as mount -o norecovery shows it`);
    throw e;
  }
}

class Recovery {
  readonly cache: SectorCache;
  readonly #geo: InodeGeometry;
  readonly #metaUuid: Uint8Array;
  host: Host | null = null;
  /** l_buf_cancel_table: (blkno, len) → refcount. */
  readonly #cancelled = new Map<string, number>();
  /** Buffers replayed and not yet "written": their verifier stamps the LSN and CRC when the recovery LSN moves on. */
  readonly #pending = new Map<string, { daddr: number; len: number; lsn: bigint; stamp: Stamp }>();
  #recoveryLsn = -1n;
  readonly #intents = new Map<string, number>();
  readonly #skippedItems = new Map<string, number>();

  constructor(
    readonly src: ByteSource,
    readonly sb: XfsSuperblock,
    raw: Uint8Array,
    readonly reader: XlogReader,
    readonly facts: XfsLogRecovery,
  ) {
    this.cache = new SectorCache(src, sb);
    this.#geo = inodeGeometry(sb, raw);
    this.#metaUuid = (sb.sb_features_incompat & XFS_SB_FEAT_INCOMPAT_META_UUID) !== 0 ? raw.slice(248, 264) : raw.slice(32, 48);
  }

  notes(): string[] {
    const out: string[] = [];
    const left = [...this.#intents.values()].reduce<Record<string, number>>((acc, t) => ({ ...acc, [LI_NAMES[t]!]: (acc[LI_NAMES[t]!] ?? 0) + 1 }), {});
    const mapping = [...this.#intents.values()].filter((t) => MAPPING_INTENTS.has(t)).length;
    if (Object.keys(left).length > 0) {
      out.push(`unfinished intents ${Object.entries(left).map(([k, v]) => `${k}×${v}`).join(', ')} are left to the kernel, which finishes them after replay${mapping > 0 ? ' (BUI/XMI change file mappings: those files read as before the operation)' : ' (free space and reverse-mapping bookkeeping only: the tree reads the same)'}`);
    }
    if (this.#skippedItems.size > 0) out.push(`items not needed to read files were not replayed: ${[...this.#skippedItems].map(([k, v]) => `${k}×${v}`).join(', ')}`);
    return out;
  }

  #skip(what: string): void {
    this.#skippedItems.set(what, (this.#skippedItems.get(what) ?? 0) + 1);
  }

  /** One pass of xlog_do_recovery_pass: 1 builds the cancel table, 2 replays. */
  pass(head: number, tail: number, pass: 1 | 2): void {
    const rhash = new Map<number, Trans>();
    let held = 0;
    forEachRecord(this.reader, head, tail, (rec) => {
      // xlog_recover_process: on v5 any mismatch is fatal, h_crc 0 included (the CRC pass let that through, the replay does not).
      if (recordCrc(this.reader.g, rec) !== 'ok' && this.reader.g.crc) {
        throw new LogRefused(`log record at block ${rec.blk} (LSN ${lsnString(rec.head.h_lsn)}) fails its CRC ("log record CRC mismatch")`);
      }
      this.#checkRecover(rec);
      const dp = unpackData(this.reader.g, rec);
      held = this.#processData(rec, dp, rhash, pass, held);
    });
    // Transactions without a commit record are never applied: what is left in rhash is dropped.
  }

  /** xlog_header_check_recover: the log's byte order and UUID. */
  #checkRecover(rec: LogRecord): void {
    const fmt = rec.head.h_fmt;
    if (fmt !== XLOG_FMT_LINUX_LE && fmt !== XLOG_FMT_LINUX_BE) {
      throw new LogRefused(`dirty log written in incompatible format (h_fmt ${fmt}, e.g. IRIX): the kernel cannot recover it`);
    }
    const endian: Endian = fmt === XLOG_FMT_LINUX_LE ? 'le' : 'be';
    if (!this.host) {
      this.host = new Host(endian);
      this.facts.features.push(endian === 'le' ? 'little-endian writer' : 'big-endian writer');
    } else if (this.host.endian !== endian) throw new LogRefused(`log records disagree on the writer's byte order (h_fmt ${fmt} at block ${rec.blk})`);
    if (!rec.head.h_fs_uuid.every((x, i) => x === this.reader.g.uuid[i])) throw new LogRefused(`log record at block ${rec.blk} has a mismatched UUID ("dirty log entry has mismatched uuid")`);
  }

  /** xlog_recover_process_data: the ops of one record. */
  #processData(rec: LogRecord, dp: Uint8Array, rhash: Map<number, Trans>, pass: 1 | 2, held: number): number {
    const end = rec.head.h_len;
    let off = 0;
    let logops = rec.head.h_num_logops;
    while (off < end && logops > 0) {
      if (off + 12 > end) throw new LogRefused(`log record at block ${rec.blk}: op header at +${off} runs past h_len ${end}`);
      const oh_tid = be32(dp, off);
      const oh_len = be32(dp, off + 4);
      const oh_clientid = dp[off + 8]!;
      const oh_flags = dp[off + 9]!;
      off += 12;
      if (oh_clientid !== XFS_TRANSACTION && oh_clientid !== XFS_LOG) throw new LogRefused(`log record at block ${rec.blk}: bad clientid 0x${oh_clientid.toString(16)}`);
      if (off + oh_len > end) throw new LogRefused(`log record at block ${rec.blk}: op of ${oh_len} bytes runs past h_len ${end}`);
      // xlog_recover_ophdr_to_trans
      let trans = rhash.get(oh_tid);
      if (!trans) {
        if ((oh_flags & XLOG_START_TRANS) !== 0) rhash.set(oh_tid, { tid: oh_tid, lsn: rec.head.h_lsn, headerBytes: 0, items: [], bytes: 0 });
      } else {
        if (pass === 2 && this.#recoveryLsn !== trans.lsn && (oh_flags & XLOG_COMMIT_TRANS) !== 0) {
          this.flushStamps();
          this.#recoveryLsn = trans.lsn;
        }
        held += oh_len;
        trans.bytes += oh_len;
        if (held > MAX_TRANS_BYTES) throw new LogRefused(`open transactions hold more than ${MAX_TRANS_BYTES} bytes of log data`, 'UNSUPPORTED');
        const freed = this.#processTrans(trans, dp.subarray(off, off + oh_len), oh_flags, pass);
        if (freed) {
          held -= trans.bytes;
          rhash.delete(oh_tid);
        }
      }
      off += oh_len;
      logops--;
    }
    return held;
  }

  /** xlog_recovery_process_trans: returns true when the transaction is done (committed or unmount). */
  #processTrans(trans: Trans, data: Uint8Array, flags: number, pass: 1 | 2): boolean {
    flags &= ~XLOG_END_TRANS;
    if ((flags & XLOG_WAS_CONT_TRANS) !== 0) flags &= ~XLOG_CONTINUE_TRANS;
    switch (flags) {
      case 0:
      case XLOG_CONTINUE_TRANS:
        this.#addToTrans(trans, data);
        return false;
      case XLOG_WAS_CONT_TRANS:
        this.#addToContTrans(trans, data);
        return false;
      case XLOG_COMMIT_TRANS:
        this.#commitTrans(trans, pass);
        return true;
      case XLOG_UNMOUNT_TRANS:
        return true;
      default:
        throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: bad op flags 0x${flags.toString(16)}`);
    }
  }

  /** xlog_recover_add_to_trans. */
  #addToTrans(trans: Trans, data: Uint8Array): void {
    const host = this.host!;
    if (data.length === 0) return;
    if (trans.items.length === 0) {
      // The transaction header (struct xfs_trans_header), possibly split: the rest comes as a continuation.
      if (data.length < 4 || host.u32(data, 0) !== XFS_TRANS_HEADER_MAGIC) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: bad transaction header magic`);
      if (data.length > 16) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: transaction header of ${data.length} bytes`);
      trans.headerBytes = data.length;
      if (data.length === 16) trans.items.push({ total: 0, regions: [] });
      return;
    }
    let item = trans.items.at(-1)!;
    if (item.total !== 0 && item.total === item.regions.length) {
      item = { total: 0, regions: [] };
      trans.items.push(item);
    }
    if (item.total === 0) {
      if (data.length < 4) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: item header of ${data.length} bytes`);
      const size = host.u16(data, 2);
      if (size === 0 || size > XLOG_MAX_REGIONS_IN_ITEM) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: bad number of regions (${size}) in a log item`);
      item.total = size;
    }
    if (item.total <= item.regions.length) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: log item region count overflowed its size ${item.total}`);
    item.regions.push(data.slice());
  }

  /** xlog_recover_add_to_cont_trans: the rest of a region split across records. */
  #addToContTrans(trans: Trans, data: Uint8Array): void {
    if (trans.items.length === 0) {
      if (data.length > 16) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: bad continued header length`);
      trans.headerBytes += data.length;
      trans.items.push({ total: 0, regions: [] });
      return;
    }
    const item = trans.items.at(-1)!;
    const last = item.regions.length - 1;
    if (last < 0) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: continuation without a region to continue`);
    const joined = new Uint8Array(item.regions[last]!.length + data.length);
    joined.set(item.regions[last]!);
    joined.set(data, item.regions[last]!.length);
    item.regions[last] = joined;
  }

  /** xlog_recover_commit_trans with xlog_recover_reorder_trans. */
  #commitTrans(trans: Trans, pass: 1 | 2): void {
    const host = this.host!;
    const buffers: Item[] = [];
    const others: Item[] = [];
    const inodeBufs: Item[] = [];
    const cancels: Item[] = [];
    for (const item of trans.items) {
      if (item.regions.length === 0) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: committed log item has no regions`);
      const type = host.u16(item.regions[0]!, 0);
      if (!LI_NAMES[type]) throw new LogRefused(`transaction 0x${trans.tid.toString(16)}: unrecognized type of log operation (0x${type.toString(16)})`);
      if (type === XFS_LI_BUF) {
        const r0 = item.regions[0]!;
        const flags = r0.length >= 6 ? host.u16(r0, 4) : 0;
        if ((flags & XFS_BLF_CANCEL) !== 0) cancels.unshift(item);
        else if ((flags & XFS_BLF_INODE_BUF) !== 0) inodeBufs.unshift(item);
        else buffers.push(item);
      } else if (type === XFS_LI_ICREATE) buffers.push(item);
      else others.push(item);
    }
    if (pass === 2) this.facts.transactions++;
    for (const item of [...buffers, ...others, ...inodeBufs, ...cancels]) {
      const type = host.u16(item.regions[0]!, 0);
      if (pass === 1) {
        if (type === XFS_LI_BUF) this.#bufPass1(item);
        continue;
      }
      if (type === XFS_LI_BUF) this.#bufPass2(item, trans.lsn);
      else if (type === XFS_LI_INODE) this.#inodePass2(item, trans.lsn);
      else if (type === XFS_LI_ICREATE) this.#icreatePass2(item);
      else if (type === XFS_LI_DQUOT || type === XFS_LI_QUOTAOFF) this.#skip(LI_NAMES[type]!);
      else this.#intent(type, item);
    }
  }

  #intent(type: number, item: Item): void {
    const r0 = item.regions[0]!;
    if (r0.length < 16) throw new LogRefused(`${LI_NAMES[type]} log item of ${r0.length} bytes is too short`);
    const id = this.host!.u64(r0, 8);
    if (INTENT_DONE[type] !== undefined) this.#intents.set(`${type}:${id}`, type);
    else if (DONE_INTENT[type] !== undefined) this.#intents.delete(`${DONE_INTENT[type]}:${id}`);
  }

  /** The buf log format of a buffer item, checked as xfs_buf_log_check_iovec does. */
  #blf(item: Item): Blf {
    const host = this.host!;
    const r0 = item.regions[0]!;
    if (r0.length < BLF_DATA_MAP_OFF) throw new LogRefused(`bad buffer log item size (${r0.length})`);
    const mapSize = host.u32(r0, 16);
    if (mapSize > XFS_BLF_DATAMAP_SIZE || BLF_DATA_MAP_OFF + mapSize * 4 > r0.length) throw new LogRefused(`bad buffer log item: blf_map_size ${mapSize} in ${r0.length} bytes`);
    const blkno = host.u64(r0, 8);
    if (blkno > BigInt(Number.MAX_SAFE_INTEGER)) throw new LogRefused(`buffer log item blf_blkno ${blkno} is out of range`);
    return { flags: host.u16(r0, 4), len: host.u16(r0, 6), blkno: Number(blkno), mapSize, map: r0.subarray(BLF_DATA_MAP_OFF, BLF_DATA_MAP_OFF + mapSize * 4) };
  }

  #bit(map: Uint8Array, bit: number): boolean {
    return ((this.host!.u32(map, (bit >> 5) * 4) >>> (bit & 31)) & 1) === 1;
  }

  /** xfs_next_bit / xfs_contig_bits over the dirty bitmap: [start, count] runs of 128-byte chunks. */
  #runs(map: Uint8Array, mapSize: number): [number, number][] {
    const out: [number, number][] = [];
    const nbits = mapSize * 32;
    let bit = 0;
    while (bit < nbits) {
      if (!this.#bit(map, bit)) {
        bit++;
        continue;
      }
      let n = 0;
      while (bit + n < nbits && this.#bit(map, bit + n)) n++;
      out.push([bit, n]);
      bit += n;
    }
    return out;
  }

  /** xlog_recover_buf_commit_pass1: remember cancelled buffers. */
  #bufPass1(item: Item): void {
    const b = this.#blf(item);
    if ((b.flags & XFS_BLF_CANCEL) === 0) return;
    const key = `${b.blkno}:${b.len}`;
    this.#cancelled.set(key, (this.#cancelled.get(key) ?? 0) + 1);
  }

  #isCancelled(blkno: number, len: number): boolean {
    return this.#cancelled.has(`${blkno}:${len}`);
  }

  /** xlog_recover_buf_commit_pass2. */
  #bufPass2(item: Item, lsn: bigint): void {
    const b = this.#blf(item);
    const key = `${b.blkno}:${b.len}`;
    if ((b.flags & XFS_BLF_CANCEL) !== 0) {
      const n = this.#cancelled.get(key);
      if (n !== undefined) {
        if (n <= 1) this.#cancelled.delete(key);
        else this.#cancelled.set(key, n - 1);
        this.facts.revoked++;
        return;
      }
    } else if (this.#cancelled.has(key)) {
      this.facts.revoked++;
      return;
    }
    this.cache.check(b.blkno, b.len, 'buffer log item');
    const buf = this.cache.read(b.blkno, b.len);
    const blft = (b.flags >> XFS_BLFT_SHIFT) & 0x1f;
    const onDisk = this.#bufLsn(buf, blft);
    if (onDisk !== 0n && onDisk !== -1n && onDisk >= lsn) {
      this.facts.skippedNewer++;
      return;
    }
    if ((b.flags & XFS_BLF_INODE_BUF) !== 0) {
      this.#inodeBuffer(item, b, buf);
      this.cache.write(b.blkno, buf);
      this.facts.blocksReplayed++;
      return;
    }
    if ((b.flags & XFS_BLF_DQUOT_BUFS) !== 0) {
      // xlog_recover_do_dquot_buffer: without quota mount options (m_qflags 0) dquot buffers are not replayed.
      this.#skip('dquot buffer');
      return;
    }
    this.#regBuffer(item, b, buf);
    this.cache.write(b.blkno, buf);
    this.facts.blocksReplayed++;
    if (this.sb.hasCrc) {
      const stamp = stampFor(blft, buf);
      if (stamp) this.#pending.set(key, { daddr: b.blkno, len: b.len, lsn, stamp });
    }
  }

  /** xlog_recover_do_reg_buffer: copy each logged run of 128-byte chunks into the buffer. */
  #regBuffer(item: Item, b: Blf, buf: Uint8Array): void {
    let i = 1;
    for (const [start, count] of this.#runs(b.map, b.mapSize)) {
      let bit = start;
      let left = count;
      while (left > 0) {
        const region = item.regions[i];
        if (!region) throw new LogRefused(`buffer log item at daddr ${b.blkno}: its dirty bitmap names more regions than the ${item.regions.length - 1} logged`);
        let nbits = left;
        // A dirty run may be logged as several regions (page boundaries): trim to this region.
        if (region.length < nbits << XFS_BLF_SHIFT) nbits = region.length >> XFS_BLF_SHIFT;
        if (nbits === 0) throw new LogRefused(`buffer log item at daddr ${b.blkno}: region ${i} of ${region.length} bytes is shorter than a 128-byte chunk`);
        const at = bit << XFS_BLF_SHIFT;
        if (at + (nbits << XFS_BLF_SHIFT) > buf.length) throw new LogRefused(`buffer log item at daddr ${b.blkno}: logged chunk at +${at} lies outside its ${buf.length}-byte buffer`);
        buf.set(region.subarray(0, nbits << XFS_BLF_SHIFT), at);
        i++;
        bit += nbits;
        left -= nbits;
      }
    }
  }

  /** xlog_recover_do_inode_buffer: from an inode buffer only the di_next_unlinked fields are replayed. */
  #inodeBuffer(item: Item, b: Blf, buf: Uint8Array): void {
    const isize = this.sb.sb_inodesize;
    const runs = this.#runs(b.map, b.mapSize);
    for (let i = 0; i < Math.floor(buf.length / isize); i++) {
      const off = i * isize + 96; // offsetof(struct xfs_dinode, di_next_unlinked)
      const run = runs.findIndex(([s, n]) => off >= s << XFS_BLF_SHIFT && off < (s + n) << XFS_BLF_SHIFT);
      if (run < 0) continue;
      // As the kernel does, the n-th dirty run is the n-th logged region.
      const region = item.regions[run + 1];
      const rel = off - (runs[run]![0] << XFS_BLF_SHIFT);
      if (!region || rel + 4 > region.length) throw new LogRefused(`inode buffer log item at daddr ${b.blkno}: region for di_next_unlinked of inode ${i} is missing`);
      if (be32(region, rel) === 0) throw new LogRefused(`inode buffer log item at daddr ${b.blkno}: trying to replay a bad (0) di_next_unlinked`);
      buf.set(region.subarray(rel, rel + 4), off);
      this.#dinodeCalcCrc(buf, i * isize);
    }
  }

  /** xfs_dinode_calc_crc: v3 inodes only. */
  #dinodeCalcCrc(buf: Uint8Array, off: number): void {
    if (buf[off + 4]! < 3) return;
    updateCksum(buf.subarray(off, off + this.sb.sb_inodesize), 100);
  }

  /** xlog_recover_get_buf_lsn: the LSN of the metadata now in the buffer, or -1 when it has none this filesystem's (recover over it). */
  #bufLsn(b: Uint8Array, blft: number): bigint {
    if (!this.sb.hasCrc) return -1n;
    if (blft === 19 || blft === 20) return -1n; // realtime bitmap/summary
    if (b.length < 64) return -1n;
    const uuidOk = (off: number): boolean => this.#metaUuid.every((x, i) => b[off + i] === x);
    const m32 = be32(b, 0);
    let lsn = -1n;
    let uuidOff = -1;
    switch (m32) {
      case M.ABTB3: case M.ABTC3: case M.ABTB: case M.ABTC: case M.RMAP3: case M.REFC3: case M.FIBT3: case M.FIBT: case M.IBT3: case M.IBT:
        lsn = be64n(b, 24); uuidOff = 32; break;
      case M.BMAP3: case M.BMAP:
        lsn = be64n(b, 32); uuidOff = 40; break;
      case M.AGF:
        if (b.length < 224) return -1n;
        lsn = be64n(b, 208); uuidOff = 64; break;
      case M.AGFL:
        lsn = be64n(b, 24); uuidOff = 8; break;
      case M.AGI:
        if (b.length < 328) return -1n;
        lsn = be64n(b, 320); uuidOff = 296; break;
      case M.SYMLINK:
        lsn = be64n(b, 48); uuidOff = 24; break;
      case M.DIR3_BLOCK: case M.DIR3_DATA: case M.DIR3_FREE:
        lsn = be64n(b, 16); uuidOff = 24; break;
      case M.ATTR3_RMT:
        return -1n;
      case M.SB:
        if (b.length < 264) return -1n;
        lsn = be64n(b, 240);
        uuidOff = (this.sb.sb_features_incompat & XFS_SB_FEAT_INCOMPAT_META_UUID) !== 0 ? 248 : 32;
        break;
      default:
        break;
    }
    if (lsn === -1n) {
      const mda = be16(b, 8);
      if (mda === M.DIR3_LEAF1 || mda === M.DIR3_LEAFN || mda === M.ATTR3_LEAF || mda === M.DA3_NODE) {
        lsn = be64n(b, 24);
        uuidOff = 32;
      }
    }
    if (lsn === -1n) return -1n; // dquot and inode buffers, and unknown contents: recover immediately
    return uuidOk(uuidOff) ? lsn : -1n;
  }

  /** xfs_buf_delwri_submit of the recovered buffers: their write verifiers stamp the LSN and recompute the CRC. */
  flushStamps(): void {
    for (const p of this.#pending.values()) {
      const buf = this.cache.read(p.daddr, p.len);
      if (p.stamp === 'attr-rmt') {
        const bs = this.sb.sb_blocksize;
        for (let o = 0; o + bs <= buf.length; o += bs) if (be32(buf, o) === M.ATTR3_RMT) updateCksum(buf.subarray(o, o + bs), 12);
      } else if (p.stamp) {
        if (p.stamp.crcOff + 4 > buf.length || p.stamp.lsnOff + 8 > buf.length) continue;
        put64(buf, p.stamp.lsnOff, p.lsn);
        updateCksum(buf, p.stamp.crcOff);
      }
      this.cache.write(p.daddr, buf);
    }
    this.#pending.clear();
  }

  /** xlog_recover_inode_commit_pass2. */
  #inodePass2(item: Item, lsn: bigint): void {
    const host = this.host!;
    const r0 = item.regions[0]!;
    // struct xfs_inode_log_format (56 bytes) or the packed 32-bit layout (52): xfs_inode_item_format_convert.
    let ilf: { size: number; fields: number; asize: number; dsize: number; ino: bigint; rdev: number; blkno: bigint; len: number; boffset: number };
    if (r0.length === 56) {
      ilf = { size: host.u16(r0, 2), fields: host.u32(r0, 4), asize: host.u16(r0, 8), dsize: host.u16(r0, 10), ino: host.u64(r0, 16), rdev: host.u32(r0, 24), blkno: host.u64(r0, 40), len: host.u32(r0, 48) | 0, boffset: host.u32(r0, 52) | 0 };
    } else if (r0.length === 52) {
      ilf = { size: host.u16(r0, 2), fields: host.u32(r0, 4), asize: host.u16(r0, 8), dsize: host.u16(r0, 10), ino: host.u64(r0, 12), rdev: host.u32(r0, 20), blkno: host.u64(r0, 36), len: host.u32(r0, 44) | 0, boffset: host.u32(r0, 48) | 0 };
    } else throw new LogRefused(`inode log item format of ${r0.length} bytes`);
    const blkno = Number(ilf.blkno);
    const what = `inode ${ilf.ino} log item`;
    if (this.#isCancelled(blkno, ilf.len)) {
      this.facts.revoked++;
      return;
    }
    this.cache.check(blkno, ilf.len, what);
    const buf = this.cache.read(blkno, ilf.len);
    const isize = this.sb.sb_inodesize;
    if (ilf.boffset < 0 || ilf.boffset + isize > buf.length) throw new LogRefused(`${what}: ilf_boffset ${ilf.boffset} is outside its ${buf.length}-byte buffer`);
    const dip = buf.subarray(ilf.boffset, ilf.boffset + isize);
    if (be16(dip, 0) !== M.DINODE) throw new LogRefused(`${what}: bad inode magic number at daddr ${blkno}+${ilf.boffset}`);
    const ldip = item.regions[1];
    if (!ldip || ldip.length < 96 || host.u16(ldip, 0) !== M.DINODE) throw new LogRefused(`${what}: bad inode log record (logged dinode missing or without magic)`);
    const ldVersion = ldip[4]!;
    const v3log = ldVersion >= 3;
    if (v3log && ldip.length < 176) throw new LogRefused(`${what}: logged v3 dinode of ${ldip.length} bytes`);
    const isizeLog = this.#geo.v3 ? 176 : 96;
    if (ldip.length > isizeLog) throw new LogRefused(`${what}: bad log dinode size ${ldip.length}`);
    if (dip[4]! >= 3) {
      const diskLsn = be64n(dip, 112);
      if (diskLsn !== 0n && diskLsn !== 0xffffffffffffffffn && diskLsn > lsn) {
        this.facts.skippedNewer++;
        return;
      }
    }
    if (!this.#geo.v3) {
      const logFlush = host.u16(ldip, 30);
      const diskFlush = be16(dip, 30);
      if (logFlush < diskFlush && !(diskFlush === 0xffff && logFlush < 0x7fff)) {
        this.facts.skippedNewer++;
        return;
      }
    }
    const mode = host.u16(ldip, 2);
    const format = ldip[5]!;
    const ifmt = mode & 0xf000;
    if (ifmt === 0x8000 && format !== 2 && format !== 3) throw new LogRefused(`${what}: bad data fork format ${format} for a regular file`);
    if (ifmt === 0x4000 && format !== 1 && format !== 2 && format !== 3) throw new LogRefused(`${what}: bad data fork format ${format} for a directory`);
    const flags2 = v3log ? host.u64(ldip, 120) : 0n;
    const nrext64 = v3log && (flags2 & XFS_DIFLAG2_NREXT64) !== 0n;
    let nextents: bigint;
    let anextents: bigint;
    if (nrext64) {
      if ((this.sb.sb_features_incompat & XFS_SB_FEAT_INCOMPAT_NREXT64) === 0 || host.u16(ldip, 80) !== 0) throw new LogRefused(`${what}: bad log dinode large extent count format`);
      nextents = host.u64(ldip, 24);
      anextents = BigInt(host.u32(ldip, 76));
    } else {
      if (ldVersion === 3 && host.u64(ldip, 24) !== 0n) throw new LogRefused(`${what}: bad log dinode di_v3_pad`);
      nextents = BigInt(host.u32(ldip, 76));
      anextents = BigInt(host.u16(ldip, 80));
    }
    if (nextents + anextents > host.u64(ldip, 64)) throw new LogRefused(`${what}: bad log dinode extent counts`);
    const forkoff = ldip[82]!;
    if (forkoff > isize) throw new LogRefused(`${what}: bad log dinode fork offset ${forkoff}`);
    this.#logDinodeToDisk(ldip, dip, lsn, v3log, (flags2 & XFS_DIFLAG2_BIGTIME) !== 0n, nrext64);
    const fields = ilf.fields;
    const core = dip[4]! >= 3 ? 176 : 100;
    if ((fields & XFS_ILOG_DEV) !== 0) put32(dip, core, ilf.rdev);
    if ((fields & (XFS_ILOG_DOWNER | XFS_ILOG_AOWNER)) !== 0) {
      throw new LogRefused(`${what}: a fork owner change (swapext, XFS_ILOG_DOWNER/AOWNER) would rewrite the owner of every bmap btree block; not supported`, 'UNSUPPORTED');
    }
    if (ilf.size > 2) {
      const litino = isize - core;
      const dsize = forkoff !== 0 ? forkoff << 3 : litino;
      const region2 = item.regions[2];
      const dfork = fields & XFS_ILOG_DFORK;
      if ((dfork === XFS_ILOG_DDATA || dfork === XFS_ILOG_DEXT || dfork === XFS_ILOG_DBROOT) && !region2) throw new LogRefused(`${what}: data fork region missing`);
      if (dfork === XFS_ILOG_DDATA || dfork === XFS_ILOG_DEXT) {
        if (region2!.length > litino) throw new LogRefused(`${what}: ${region2!.length}-byte data fork is larger than the inode's literal area`);
        dip.set(region2!, core);
      } else if (dfork === XFS_ILOG_DBROOT) {
        this.#bmbtToBmdr(region2!, dip.subarray(core, core + dsize), what);
      }
      if ((fields & XFS_ILOG_AFORK) !== 0) {
        const region = item.regions[(fields & XFS_ILOG_DFORK) !== 0 ? 3 : 2];
        if (!region) throw new LogRefused(`${what}: attribute fork region missing`);
        const aoff = core + (forkoff << 3);
        const asize = isize - aoff;
        const afork = fields & XFS_ILOG_AFORK;
        if (afork === XFS_ILOG_ADATA || afork === XFS_ILOG_AEXT) {
          if (region.length > asize) throw new LogRefused(`${what}: ${region.length}-byte attribute fork is larger than its ${asize}-byte space`);
          dip.set(region, aoff);
        } else if (afork === XFS_ILOG_ABROOT) this.#bmbtToBmdr(region, dip.subarray(aoff, isize), what);
        else throw new LogRefused(`${what}: invalid attribute fork flags 0x${afork.toString(16)}`);
      }
    }
    this.#dinodeCalcCrc(buf, ilf.boffset);
    this.cache.write(blkno, buf);
    this.facts.blocksReplayed++;
  }

  /** xfs_log_dinode_to_disk: host-order logged core → big-endian on-disk core; di_lsn is the transaction's. */
  #logDinodeToDisk(l: Uint8Array, d: Uint8Array, lsn: bigint, v3: boolean, bigtime: boolean, nrext64: boolean): void {
    const h = this.host!;
    put16(d, 0, h.u16(l, 0));
    put16(d, 2, h.u16(l, 2));
    d[4] = l[4]!;
    d[5] = l[5]!;
    put16(d, 6, 0); // di_onlink
    put32(d, 8, h.u32(l, 8));
    put32(d, 12, h.u32(l, 12));
    put32(d, 16, h.u32(l, 16));
    put16(d, 20, h.u16(l, 20));
    put16(d, 22, h.u16(l, 22));
    const ts = (off: number): void => {
      if (bigtime) put64(d, off, h.u64(l, off));
      else {
        put32(d, off, h.u32(l, off));
        put32(d, off + 4, h.u32(l, off + 4));
      }
    };
    ts(32);
    ts(40);
    ts(48);
    put64(d, 56, h.u64(l, 56));
    put64(d, 64, h.u64(l, 64));
    put32(d, 72, h.u32(l, 72));
    d[82] = l[82]!;
    d[83] = l[83]!;
    put32(d, 84, h.u32(l, 84));
    put16(d, 88, h.u16(l, 88));
    put16(d, 90, h.u16(l, 90));
    put32(d, 92, h.u32(l, 92));
    if (l[4] === 3) {
      put64(d, 104, h.u64(l, 104));
      ts(144);
      put64(d, 120, h.u64(l, 120));
      put32(d, 128, h.u32(l, 128));
      put64(d, 152, h.u64(l, 152));
      put64(d, 112, lsn);
      d.fill(0, 132, 144);
      d.set(l.subarray(160, 176), 160);
      d.fill(0, 24, 32);
    } else {
      put16(d, 30, 0); // the kernel resets the logged di_flushiter to 0 before copying it
      d.fill(0, 24, 30);
    }
    if (v3 && nrext64) {
      put64(d, 24, h.u64(l, 24));
      put32(d, 76, h.u32(l, 76));
      put16(d, 80, h.u16(l, 80));
    } else {
      put32(d, 76, h.u32(l, 76));
      put16(d, 80, h.u16(l, 80));
    }
  }

  /** xfs_bmbt_to_bmdr: the in-core btree root (a full long-format block header) → the on-disk root in the fork. */
  #bmbtToBmdr(r: Uint8Array, d: Uint8Array, what: string): void {
    const hdr = this.sb.hasCrc ? 72 : 24;
    if (r.length < hdr || d.length < 4) throw new LogRefused(`${what}: btree root of ${r.length} bytes`);
    const numrecs = be16(r, 6);
    const rmax = Math.floor((r.length - hdr) / 16);
    const dmax = Math.floor((d.length - 4) / 16);
    if (numrecs > rmax || numrecs > dmax) throw new LogRefused(`${what}: btree root with ${numrecs} records does not fit`);
    d.set(r.subarray(4, 6), 0); // bb_level
    d.set(r.subarray(6, 8), 2); // bb_numrecs
    d.set(r.subarray(hdr, hdr + numrecs * 8), 4);
    d.set(r.subarray(hdr + rmax * 8, hdr + rmax * 8 + numrecs * 8), 4 + dmax * 8);
  }

  /** xlog_recover_icreate_commit_pass2 and xfs_ialloc_inode_init: initialise a new inode chunk. */
  #icreatePass2(item: Item): void {
    const host = this.host!;
    const icl = item.regions[0]!;
    if (icl.length < 28) throw new LogRefused(`icreate log item of ${icl.length} bytes`);
    if (host.u16(icl, 0) !== XFS_LI_ICREATE || host.u16(icl, 2) !== 1) throw new LogRefused('icreate log item: bad type or size');
    const sb = this.sb;
    const agno = be32(icl, 4);
    const agbno = be32(icl, 8);
    const count = be32(icl, 12);
    const isize = be32(icl, 16);
    const length = be32(icl, 20);
    const gen = be32(icl, 24);
    if (agno >= sb.sb_agcount) throw new LogRefused(`icreate: bad agno ${agno}`, 'EINVAL');
    if (agbno === 0 || agbno === 0xffffffff || agbno >= sb.sb_agblocks) throw new LogRefused(`icreate: bad agbno ${agbno}`, 'EINVAL');
    if (isize !== sb.sb_inodesize) throw new LogRefused(`icreate: bad isize ${isize}`, 'EINVAL');
    if (count === 0) throw new LogRefused('icreate: bad count 0', 'EINVAL');
    if (length === 0 || length >= sb.sb_agblocks) throw new LogRefused(`icreate: bad length ${length}`, 'EINVAL');
    const geo = this.#geo;
    if (length !== geo.iallocBlks && length !== geo.iallocMinBlks) throw new LogRefused(`icreate: unsupported chunk length ${length}`, 'EINVAL');
    if (count >> sb.sb_inopblog !== length) throw new LogRefused('icreate: inconsistent inode count and chunk length', 'EINVAL');
    const bpc = geo.blocksPerCluster;
    const bbPerCluster = bpc * (sb.sb_blocksize / BBSIZE);
    const nbufs = Math.floor(length / bpc);
    const daddrOf = (j: number): number => (agno * sb.sb_agblocks + agbno + j * bpc) * (sb.sb_blocksize / BBSIZE);
    let cancelled = 0;
    for (let j = 0; j < nbufs; j++) if (this.#isCancelled(daddrOf(j), bbPerCluster)) cancelled++;
    if (cancelled > 0) {
      this.facts.revoked++;
      return;
    }
    let ino = (BigInt(agno) << BigInt(sb.sb_agblklog + sb.sb_inopblog)) | (BigInt(agbno) << BigInt(sb.sb_inopblog));
    const perCluster = bpc * sb.sb_inopblock;
    for (let j = 0; j < nbufs; j++) {
      this.cache.check(daddrOf(j), bbPerCluster, 'icreate');
      const buf = new Uint8Array(bbPerCluster * BBSIZE);
      for (let i = 0; i < perCluster; i++) {
        const o = i * sb.sb_inodesize;
        put16(buf, o, M.DINODE);
        buf[o + 4] = geo.v3 ? 3 : 2;
        put32(buf, o + 92, gen);
        put32(buf, o + 96, NULLAGINO);
        if (geo.v3) {
          put64(buf, o + 152, ino);
          ino++;
          buf.set(this.#metaUuid, o + 160);
          this.#dinodeCalcCrc(buf, o);
        }
      }
      this.cache.write(daddrOf(j), buf);
    }
    this.facts.blocksReplayed++;
  }
}
