import type { ByteSource } from '../../bytes/byte-source.js';
import { crc32 } from '../../bytes/crc32.js';
import { formatGuid, ZERO_GUID } from '../../bytes/guid.js';
import { hex, hex32 } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';

/**
 * GUID Partition Table reader (UEFI 2.6 §5.3). A malformed GPT is a
 * compliance finding, not a tool error: every deviation becomes a line in
 * `problems` (naming the LBA and byte offset) and reading carries on as far
 * as the bytes allow. Only a failing read of the disk itself throws.
 */

/** Logical block sizes we look for a GPT at (the header lives in LBA 1). */
export const GPT_SECTOR_SIZES = [512, 4096] as const;
export type GptSectorSize = (typeof GPT_SECTOR_SIZES)[number];

/** Our caps, so an absurd header never makes us allocate or loop unboundedly. */
export const MAX_ENTRY_SIZE = 4096;
export const MAX_ENTRY_ARRAY_BYTES = 1024 * 1024;
/** UEFI 2.6 §5.3.1: "a minimum of 16,384 bytes of space must be reserved for the GPT Partition Entry Array". */
export const MIN_ENTRY_ARRAY_BYTES = 16384;
/** Overlapping pairs listed at most (n entries could overlap in n²/2 pairs). */
export const MAX_OVERLAPS = 64;

const SIGNATURE = 'EFI PART';
/** Revision 1.0 (UEFI 2.6 §5.3.2 Table 17). */
const REVISION_1_0 = 0x00010000;
const MIN_HEADER_SIZE = 92;

export interface CrcCheck {
  /** As stored in the header, "0x1a2b3c4d". */
  stored: string;
  /** As we computed it, or null when the covered bytes could not be determined (bad size, outside the disk, over our cap). */
  computed: string | null;
  valid: boolean;
}

/** One GPT header as read (UEFI 2.6 §5.3.2 Table 17), with our checks. */
export interface GptHeaderReading {
  /** LBA the header was read from. */
  lba: number;
  /** Revision as "0x00010000" (1.0). */
  revision: string;
  headerSize: number;
  headerCrc: CrcCheck;
  /** LBA fields: null when the stored 64-bit value is beyond 2^53 (and so certainly beyond the disk). */
  myLba: number | null;
  alternateLba: number | null;
  firstUsableLba: number | null;
  lastUsableLba: number | null;
  partitionEntryLba: number | null;
  entryCount: number;
  entrySize: number;
  entriesCrc: CrcCheck;
  diskGuid: string;
  /** UEFI 2.6 §5.3.2 validity: Signature, HeaderCRC32, MyLBA, PartitionEntryArrayCRC32 all good. */
  valid: boolean;
}

/** One used GPT partition entry (UEFI 2.6 §5.3.3 Table 20). */
export interface GptEntry {
  /** 1-based index in the partition entry array. */
  number: number;
  typeGuid: string;
  uniqueGuid: string;
  firstLba: number;
  lastLba: number;
  /** Attributes as "0x" + 16 hex digits. */
  attributes: string;
  /** PartitionName, UTF-16LE up to the first NUL. */
  name: string;
}

export interface Overlap {
  /** Partition numbers, a < b. */
  a: number;
  b: number;
}

export interface GptReading {
  /** A GPT header signature was found (at LBA 1 or at the last LBA). */
  present: boolean;
  sectorSize: number;
  /** No problems at all. */
  valid: boolean;
  problems: string[];
  primary: GptHeaderReading | null;
  backup: GptHeaderReading | null;
  /** A backup header with a good signature, HeaderCRC32 and MyLBA sits at the disk's last LBA. */
  backupAtLastLba: boolean;
  /** Both headers present and mirror each other (UEFI 2.6 §5.3.2), entry arrays identical. */
  headersConsistent: boolean;
  /** Whose entry array `entries` was read from: the primary if valid, else the backup if valid, else whichever was readable. */
  entriesFrom: 'primary' | 'backup' | null;
  entries: GptEntry[];
  overlaps: Overlap[];
  /** The subset of `problems` about partition entries (bounds, overlaps, GUIDs), so layout is judged apart from headers. */
  entryProblems: string[];
}

function hasSignature(disk: ByteSource, offset: number): boolean {
  if (offset < 0 || offset + 8 > disk.size) return false;
  const b = disk.read(offset, 8);
  return String.fromCharCode(...b) === SIGNATURE;
}

/**
 * The logical block size a GPT was written for: the one whose LBA 1 holds
 * "EFI PART" (512 preferred), else the one whose last LBA does (a GPT whose
 * primary header was lost). Null when there is no GPT signature at all.
 */
export function detectGptSectorSize(disk: ByteSource): GptSectorSize | null {
  for (const ss of GPT_SECTOR_SIZES) if (hasSignature(disk, ss)) return ss;
  for (const ss of GPT_SECTOR_SIZES) {
    const lastLba = Math.floor(disk.size / ss) - 1;
    if (lastLba > 1 && hasSignature(disk, lastLba * ss)) return ss;
  }
  return null;
}

interface ParsedHeader {
  reading: GptHeaderReading;
  /** The entry array bytes, when they could be read. */
  array: Uint8Array | null;
}

type Role = 'primary' | 'backup';

/** Reads the GPT of `disk` for logical blocks of `sectorSize` bytes. */
export function readGpt(disk: ByteSource, sectorSize: number): GptReading {
  const ss = sectorSize;
  const problems: string[] = [];
  const totalLbas = Math.floor(disk.size / ss);
  const lastLba = totalLbas - 1;
  const reading: GptReading = {
    present: false, sectorSize: ss, valid: false, problems, primary: null, backup: null,
    backupAtLastLba: false, headersConsistent: false, entriesFrom: null, entries: [], overlaps: [], entryProblems: [],
  };
  if (lastLba < 1) {
    problems.push(`disk of ${disk.size} bytes is too small to hold a GPT with ${ss}-byte sectors`);
    return reading;
  }
  if (disk.size % ss !== 0) problems.push(`disk size ${disk.size} is not a multiple of the ${ss}-byte logical block size`);

  const primary = parseHeader(disk, ss, 1, 'primary', lastLba, problems);
  if (!primary) problems.push(`primary GPT header (LBA 1, offset ${ss}): no "${SIGNATURE}" signature`);

  let backup = lastLba > 1 ? parseHeader(disk, ss, lastLba, 'backup', lastLba, problems, primary) : null;
  if (backup && backup.reading.headerCrc.valid && backup.reading.myLba === lastLba) reading.backupAtLastLba = true;
  if (!backup) {
    // A disk grown after partitioning keeps its backup where the primary says it is.
    const alt = primary?.reading.alternateLba;
    const elsewhere = alt !== null && alt !== undefined && alt > 1 && alt < lastLba ? parseHeader(disk, ss, alt, 'backup', lastLba, problems, primary) : null;
    if (elsewhere) {
      backup = elsewhere;
      problems.push(`backup GPT header is at LBA ${alt} (offset ${alt! * ss}, the primary's AlternateLBA), not at the last LBA ${lastLba} (offset ${lastLba * ss})`);
    } else {
      problems.push(`backup GPT header (last LBA ${lastLba}, offset ${lastLba * ss}): no "${SIGNATURE}" signature`);
    }
  }

  reading.primary = primary?.reading ?? null;
  reading.backup = backup?.reading ?? null;
  reading.present = primary !== null || backup !== null;
  if (!reading.present) return reading;

  if (primary && backup) reading.headersConsistent = compareHeaders(primary, backup, problems);
  if (primary && backup?.reading.partitionEntryLba != null && primary.reading.lastUsableLba != null
      && primary.reading.lastUsableLba >= backup.reading.partitionEntryLba) {
    problems.push(`primary GPT header (LBA 1, offset ${ss}): LastUsableLBA ${primary.reading.lastUsableLba} reaches the backup partition entry array at LBA ${backup.reading.partitionEntryLba}`);
  }

  const source = [primary, backup].find((h) => h?.reading.valid) ?? [primary, backup].find((h) => h?.array);
  if (source?.array) {
    reading.entriesFrom = source === primary ? 'primary' : 'backup';
    const entryProblems = reading.entryProblems;
    reading.entries = parseEntries(source, ss, totalLbas, entryProblems);
    reading.overlaps = findOverlaps(reading.entries);
    for (const o of reading.overlaps) entryProblems.push(`partition entries ${o.a} and ${o.b} overlap`);
    if (reading.overlaps.length === MAX_OVERLAPS) entryProblems.push(`more overlapping partitions may exist; only ${MAX_OVERLAPS} pairs are listed`);
    problems.push(...entryProblems);
  }
  reading.valid = problems.length === 0;
  return reading;
}

/** The GPT header at `lba` (UEFI 2.6 §5.3.2 Table 17), or null when it has no signature. */
function parseHeader(disk: ByteSource, ss: number, lba: number, role: Role, lastLba: number, problems: string[], twin: ParsedHeader | null = null): ParsedHeader | null {
  const at = lba * ss;
  if (at + ss > disk.size) return null;
  const block = disk.read(at, ss);
  if (String.fromCharCode(...block.subarray(0, 8)) !== SIGNATURE) return null;
  const dv = new LeReader(block, 'GPT header');
  const where = `${role} GPT header (LBA ${lba}, offset ${at})`;
  const problem = (msg: string): void => void problems.push(`${where}: ${msg}`);
  const lbaField = (off: number, field: string): number | null => {
    const v = dv.u64(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      problem(`${field} ${hex(v)} is beyond any disk`);
      return null;
    }
    return Number(v);
  };

  const revision = dv.u32(8);
  const headerSize = dv.u32(12);
  const storedCrc = dv.u32(16);
  const r: GptHeaderReading = {
    lba,
    revision: hex32(revision),
    headerSize,
    headerCrc: { stored: hex32(storedCrc), computed: null, valid: false },
    myLba: lbaField(24, 'MyLBA'),
    alternateLba: lbaField(32, 'AlternateLBA'),
    firstUsableLba: lbaField(40, 'FirstUsableLBA'),
    lastUsableLba: lbaField(48, 'LastUsableLBA'),
    diskGuid: formatGuid(block, 56),
    partitionEntryLba: lbaField(72, 'PartitionEntryLBA'),
    entryCount: dv.u32(80),
    entrySize: dv.u32(84),
    entriesCrc: { stored: hex32(dv.u32(88)), computed: null, valid: false },
    valid: false,
  };

  if (revision !== REVISION_1_0) problem(`Revision is ${hex32(revision)}, expected 0x00010000 (1.0)`);
  // HeaderCRC32 covers HeaderSize bytes with the CRC field itself zeroed (§5.3.2).
  if (headerSize < MIN_HEADER_SIZE || headerSize > ss) {
    problem(`HeaderSize ${headerSize} is outside ${MIN_HEADER_SIZE}..${ss}; HeaderCRC32 cannot be checked`);
  } else {
    const copy = block.slice(0, headerSize);
    copy.fill(0, 16, 20);
    const computed = crc32(copy);
    r.headerCrc = { stored: hex32(storedCrc), computed: hex32(computed), valid: computed === storedCrc };
    if (!r.headerCrc.valid) problem(`HeaderCRC32 stored ${r.headerCrc.stored}, computed ${r.headerCrc.computed}`);
  }
  if (dv.u32(20) !== 0) problem(`Reserved field at byte 20 is ${hex32(dv.u32(20))}, must be zero`);
  const tail = block.subarray(MIN_HEADER_SIZE).findIndex((x) => x !== 0);
  if (tail >= 0) problem(`reserved bytes after the header (byte ${MIN_HEADER_SIZE + tail} of the block) are not zero`);

  if (r.myLba !== null && r.myLba !== lba) problem(`MyLBA is ${r.myLba}, expected ${lba}`);
  const expectedAlternate = role === 'primary' ? lastLba : 1;
  if (r.alternateLba !== null && r.alternateLba !== expectedAlternate) {
    problem(`AlternateLBA is ${r.alternateLba}, expected ${expectedAlternate}${role === 'primary' ? ' (the last LBA)' : ''}`);
  }
  checkUsableRange(r, role, lastLba, problem);
  const array = readEntryArray(disk, ss, r, role, lastLba, problem, twin);
  r.valid = r.headerCrc.valid && r.myLba === lba && r.entriesCrc.valid;
  return { reading: r, array };
}

function checkUsableRange(r: GptHeaderReading, role: Role, lastLba: number, problem: (m: string) => void): void {
  const { firstUsableLba: first, lastUsableLba: last } = r;
  if (first === null || last === null) return;
  if (first > last) problem(`FirstUsableLBA ${first} is after LastUsableLBA ${last}`);
  if (first < 2) problem(`FirstUsableLBA ${first} overlaps the protective MBR or the primary header`);
  if (last >= lastLba) problem(`LastUsableLBA ${last} reaches the last LBA ${lastLba}, where the backup header belongs`);
  if (role === 'backup' && r.partitionEntryLba !== null && last >= r.partitionEntryLba) {
    problem(`LastUsableLBA ${last} reaches this header's partition entry array at LBA ${r.partitionEntryLba}`);
  }
}

/**
 * The partition entry array (UEFI 2.6 §5.3.3) a header describes, with its CRC checked; null when it cannot be read.
 * `twin`: the other header, whose array is normally a byte-for-byte copy: equal bytes have its CRC, and comparing them costs far less than a second CRC.
 */
function readEntryArray(disk: ByteSource, ss: number, r: GptHeaderReading, role: Role, lastLba: number, problem: (m: string) => void, twin: ParsedHeader | null): Uint8Array | null {
  const { entryCount, entrySize, partitionEntryLba: pe } = r;
  // SizeOfPartitionEntry must be 128 × 2^n (§5.3.2); we cap it so one entry stays small.
  const sizeOk = entrySize >= 128 && entrySize <= MAX_ENTRY_SIZE && (entrySize & (entrySize - 1)) === 0;
  if (!sizeOk) {
    problem(`SizeOfPartitionEntry ${entrySize} is not 128 × 2^n (at most ${MAX_ENTRY_SIZE}); entry array not read`);
    return null;
  }
  const bytes = entryCount * entrySize;
  if (bytes > MAX_ENTRY_ARRAY_BYTES) {
    problem(`NumberOfPartitionEntries ${entryCount} × SizeOfPartitionEntry ${entrySize} = ${bytes} bytes exceeds our ${MAX_ENTRY_ARRAY_BYTES}-byte cap; entry array not read`);
    return null;
  }
  if (bytes < MIN_ENTRY_ARRAY_BYTES) problem(`partition entry array is ${bytes} bytes (${entryCount} × ${entrySize}), UEFI requires at least ${MIN_ENTRY_ARRAY_BYTES}`);
  if (pe === null) return null;
  const lbas = Math.ceil(bytes / ss);
  const end = pe + lbas - 1;
  if (pe < 2 || end > lastLba || (lbas > 0 && pe <= r.lba && end >= r.lba)) {
    problem(`partition entry array LBA ${pe}..${end} is outside the disk or overlaps a header; not read`);
    return null;
  }
  if (role === 'primary' && r.firstUsableLba !== null && end >= r.firstUsableLba) {
    problem(`partition entry array (LBA ${pe}..${end}) reaches FirstUsableLBA ${r.firstUsableLba}`);
  }
  if (role === 'backup' && end >= r.lba) problem(`partition entry array (LBA ${pe}..${end}) does not end before the backup header`);
  const array = disk.read(pe * ss, bytes);
  const twinCrc = twin?.array && twin.reading.entriesCrc.computed !== null && sameBytes(twin.array, array) ? parseInt(twin.reading.entriesCrc.computed, 16) : null;
  const computed = twinCrc ?? crc32(array);
  const stored = parseInt(r.entriesCrc.stored, 16);
  r.entriesCrc = { stored: r.entriesCrc.stored, computed: hex32(computed), valid: computed === stored };
  if (!r.entriesCrc.valid) problem(`PartitionEntryArrayCRC32 stored ${r.entriesCrc.stored}, computed ${r.entriesCrc.computed} (array at LBA ${pe}, offset ${pe * ss})`);
  return array;
}

/** The backup mirrors the primary (UEFI 2.6 §5.3.2): same fields but MyLBA/AlternateLBA swapped and its own entry array location. */
function compareHeaders(p: ParsedHeader, b: ParsedHeader, problems: string[]): boolean {
  const before = problems.length;
  const P = p.reading;
  const B = b.reading;
  const same = (field: string, x: unknown, y: unknown): void => {
    if (x !== y) problems.push(`primary and backup GPT headers differ: ${field} ${String(x)} (LBA ${P.lba}) vs ${String(y)} (LBA ${B.lba})`);
  };
  same('Revision', P.revision, B.revision);
  same('DiskGUID', P.diskGuid, B.diskGuid);
  same('FirstUsableLBA', P.firstUsableLba, B.firstUsableLba);
  same('LastUsableLBA', P.lastUsableLba, B.lastUsableLba);
  same('NumberOfPartitionEntries', P.entryCount, B.entryCount);
  same('SizeOfPartitionEntry', P.entrySize, B.entrySize);
  same('PartitionEntryArrayCRC32', P.entriesCrc.stored, B.entriesCrc.stored);
  if (P.alternateLba !== B.lba) problems.push(`primary AlternateLBA ${P.alternateLba} does not point at the backup header (LBA ${B.lba})`);
  if (B.alternateLba !== P.lba) problems.push(`backup AlternateLBA ${B.alternateLba} does not point at the primary header (LBA ${P.lba})`);
  if (p.array && b.array && p.array.length === b.array.length) {
    const i = p.array.findIndex((x, k) => x !== b.array![k]);
    if (i >= 0) problems.push(`primary and backup partition entry arrays differ, first at entry ${Math.floor(i / P.entrySize) + 1}`);
  }
  return problems.length === before;
}

/** Used entries of a partition entry array (UEFI 2.6 §5.3.3 Table 20); an all-zero PartitionTypeGUID marks an unused entry. */
function parseEntries(h: ParsedHeader, ss: number, totalLbas: number, problems: string[]): GptEntry[] {
  const r = h.reading;
  const array = h.array!;
  const base = r.partitionEntryLba! * ss;
  const { firstUsableLba, lastUsableLba } = r;
  const entries: GptEntry[] = [];
  const seen = new Map<string, number>();
  const dv = new LeReader(array, 'GPT partition entry array');
  const utf16 = new TextDecoder('utf-16le');
  for (let i = 0; i < r.entryCount; i++) {
    const o = i * r.entrySize;
    const typeGuid = formatGuid(array, o);
    if (typeGuid === ZERO_GUID) continue;
    const n = i + 1;
    const off = base + o;
    const where = `partition entry ${n} (LBA ${Math.floor(off / ss)}, offset ${off})`;
    const startingLba = dv.u64(o + 32);
    const endingLba = dv.u64(o + 40);
    if (startingLba > endingLba) {
      problems.push(`${where}: StartingLBA ${startingLba} is after EndingLBA ${endingLba}; entry ignored`);
      continue;
    }
    if (endingLba >= BigInt(totalLbas)) {
      // Byte offsets (LBA × sector size) must stay exact numbers in the facts, so an end beyond 2^53 bytes drops the entry.
      const unrepresentable = (endingLba + 1n) * BigInt(ss) > BigInt(Number.MAX_SAFE_INTEGER);
      problems.push(`${where}: EndingLBA ${endingLba} is beyond the disk (last LBA ${totalLbas - 1})${unrepresentable ? '; entry ignored' : ''}`);
      if (unrepresentable) continue;
    }
    const e: GptEntry = {
      number: n,
      typeGuid,
      uniqueGuid: formatGuid(array, o + 16),
      firstLba: Number(startingLba),
      lastLba: Number(endingLba),
      attributes: hex(dv.u64(o + 48), 16),
      name: decodeName(utf16, array.subarray(o + 56, o + 128)),
    };
    if (firstUsableLba !== null && lastUsableLba !== null && (e.firstLba < firstUsableLba || e.lastLba > lastUsableLba)) {
      problems.push(`${where}: LBA ${e.firstLba}..${e.lastLba} is outside the usable range ${firstUsableLba}..${lastUsableLba}`);
    }
    if (e.uniqueGuid === ZERO_GUID) problems.push(`${where}: UniquePartitionGUID is zero`);
    else if (seen.has(e.uniqueGuid)) problems.push(`${where}: UniquePartitionGUID ${e.uniqueGuid} repeats entry ${seen.get(e.uniqueGuid)}`);
    else seen.set(e.uniqueGuid, n);
    entries.push(e);
  }
  return entries;
}

/** PartitionName: 36 UTF-16LE code units, ending at the first NUL. */
function decodeName(utf16: TextDecoder, bytes: Uint8Array): string {
  let end = 0;
  while (end + 1 < bytes.length && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2;
  return utf16.decode(bytes.subarray(0, end));
}

/** Pairs of ranges sharing at least one LBA, at most MAX_OVERLAPS of them (sort and sweep: no n² scan of disjoint tables). */
export function findOverlaps(ranges: readonly { number: number; firstLba: number; lastLba: number }[]): Overlap[] {
  const sorted = [...ranges].sort((x, y) => x.firstLba - y.firstLba || x.number - y.number);
  const out: Overlap[] = [];
  for (let i = 0; i < sorted.length && out.length < MAX_OVERLAPS; i++) {
    const x = sorted[i]!;
    for (let j = i + 1; j < sorted.length && sorted[j]!.firstLba <= x.lastLba && out.length < MAX_OVERLAPS; j++) {
      const y = sorted[j]!;
      out.push({ a: Math.min(x.number, y.number), b: Math.max(x.number, y.number) });
    }
  }
  return out.sort((p, q) => p.a - q.a || p.b - q.b);
}

/** Byte-for-byte equality (memcmp under Buffer#equals). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
