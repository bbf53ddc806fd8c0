import { hex } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';

/**
 * FAT directory entries (fatgen103 §6) and long file names (fatgen103 §7):
 * decoding one directory's raw bytes into named entries. Pure: the caller
 * supplies the bytes and where they came from.
 */

/** fatgen103 §6: DIR_Attr bits. */
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
/** fatgen103 §7: a long-name entry has exactly these four attributes within the 0x3F mask. */
export const ATTR_LONG_NAME = 0x0f;
const ATTR_LONG_NAME_MASK = 0x3f;
/** fatgen103 §7: LDIR_Ord bit marking the last (first stored) long-name entry. */
const LAST_LONG_ENTRY = 0x40;
/** Windows NT's DIR_NTRes case flags (not in fatgen103, honoured by Linux, mtools, Windows). */
const NTRES_LOWER_BASE = 0x08;
const NTRES_LOWER_EXT = 0x10;
/** fatgen103 §7: a long name is at most 255 UCS-2 characters, so at most 20 entries. */
const MAX_LFN_ENTRIES = 20;

export interface FatDirEntry {
  /** The name a user sees: the long name when a valid one precedes the entry, else the short name with NT case flags applied. */
  name: string;
  /** The 8.3 name as stored (upper case, "BOOTAA64.EFI"). */
  shortName: string;
  longName: string | null;
  /** DIR_Attr */
  attr: number;
  /** DIR_NTRes */
  ntRes: number;
  isDirectory: boolean;
  /** "." or ".." */
  isDotEntry: boolean;
  /** DIR_FstClusHI:DIR_FstClusLO (HI only on FAT32). 0 = no cluster (empty file, or ".." of a top-level directory). */
  firstCluster: number;
  /** DIR_FileSize */
  size: number;
  /** Byte offset of the short entry in the volume. */
  offset: number;
}

export interface DirListing {
  entries: FatDirEntry[];
  /** Root directory only: the ATTR_VOLUME_ID entry's name, if any. */
  volumeLabel: string | null;
  /** Orphaned or mismatched long-name entries etc.; the listing is still usable. */
  problems: string[];
}

/**
 * IBM code page 437 for bytes 0x80..0xFF: the OEM set short names are
 * stored in unless the volume was written under another code page (Linux
 * and mtools default to it too).
 */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function oemChar(b: number): string {
  if (b >= 0x80) return CP437_HIGH[b - 0x80] ?? '\uFFFD';
  if (b < 0x20 || b === 0x7f) return '\uFFFD';
  return String.fromCharCode(b);
}

/** fatgen103 §7: the checksum of the 11 DIR_Name bytes every LDIR_Chksum must equal. */
export function shortNameChecksum(name11: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + (name11[i] ?? 0)) & 0xff;
  return sum;
}

/** DIR_Name → "BASE.EXT" (and the NT-lowercased variant). fatgen103 §6: 0x05 in byte 0 stands for 0xE5. */
function shortNames(raw: Uint8Array, ntRes: number): { stored: string; shown: string } {
  const chars = Array.from(raw.subarray(0, 11), (b, i) => oemChar(i === 0 && b === 0x05 ? 0xe5 : b));
  const base = chars.slice(0, 8).join('').trimEnd();
  const ext = chars.slice(8, 11).join('').trimEnd();
  const lower = (s: string, flag: number) => ((ntRes & flag) !== 0 ? s.replace(/[A-Z]/g, (c) => c.toLowerCase()) : s);
  const join = (b: string, e: string) => (e === '' ? b : `${b}.${e}`);
  return { stored: join(base, ext), shown: join(lower(base, NTRES_LOWER_BASE), lower(ext, NTRES_LOWER_EXT)) };
}

/** The 13 UCS-2 characters of one long-name entry: LDIR_Name1 (1..10), LDIR_Name2 (14..25), LDIR_Name3 (28..31). */
function lfnUnits(e: Uint8Array): number[] {
  const out: number[] = [];
  for (const [from, to] of [[1, 11], [14, 26], [28, 32]] as const) {
    for (let o = from; o < to; o += 2) out.push((e[o] ?? 0) | ((e[o + 1] ?? 0) << 8));
  }
  return out;
}

interface PendingLfn {
  checksum: number;
  /** parts[k] holds the units of LDIR_Ord k+1. */
  parts: number[][];
  /** Next ordinal expected (counting down to 1); 0 when complete. */
  next: number;
  offset: number;
}

/**
 * Decode one directory's bytes. Stops at the first entry whose DIR_Name[0]
 * is 0x00 (fatgen103 §6: no further entries are in use). Deleted entries
 * (0xE5) and volume labels are skipped; "." and ".." are kept, flagged.
 * `fat32` decides whether DIR_FstClusHI counts; `isRoot` whether a volume label is expected.
 */
export function parseDirectory(
  bytes: Uint8Array,
  /** Volume byte offset of position `pos` in `bytes` (a chained directory's clusters need not be contiguous). */
  offsetOf: (pos: number) => number,
  fat32: boolean,
  isRoot: boolean,
): DirListing & { ended: boolean } {
  const entries: FatDirEntry[] = [];
  const problems: string[] = [];
  let volumeLabel: string | null = null;
  let lfn: PendingLfn | null = null;
  const dropLfn = (why: string) => {
    if (lfn) problems.push(`long-name entries at offset ${lfn.offset} ignored: ${why}`);
    lfn = null;
  };

  for (let pos = 0; pos + 32 <= bytes.length; pos += 32) {
    const e = bytes.subarray(pos, pos + 32);
    const offset = offsetOf(pos);
    const first = e[0] ?? 0;
    if (first === 0x00) {
      dropLfn('directory ends before their short entry');
      return { entries, volumeLabel, problems, ended: true };
    }
    if (first === 0xe5) {
      // A deleted entry also orphans any long name that was being assembled.
      dropLfn('followed by a deleted entry');
      continue;
    }
    const attr = e[11] ?? 0;
    if ((attr & ATTR_LONG_NAME_MASK) === ATTR_LONG_NAME) {
      // fatgen103 §7: LDIR_Ord, LDIR_Chksum at 13.
      const ord = first;
      const checksum = e[13] ?? 0;
      const n = ord & 0x1f;
      if ((ord & LAST_LONG_ENTRY) !== 0) {
        dropLfn('a new long name starts before their short entry');
        if (n === 0 || n > MAX_LFN_ENTRIES) {
          problems.push(`long-name entry at offset ${offset} has ordinal ${n} (must be 1..${MAX_LFN_ENTRIES}); ignored`);
          continue;
        }
        lfn = { checksum, parts: [], next: n, offset };
      } else if (!lfn || n !== lfn.next || checksum !== lfn.checksum) {
        dropLfn(`out-of-sequence entry at offset ${offset}`);
        problems.push(`long-name entry at offset ${offset} (ordinal ${n}) is out of sequence; ignored`);
        continue;
      }
      lfn.parts[n - 1] = lfnUnits(e);
      lfn.next = n - 1;
      continue;
    }

    const raw = e.subarray(0, 11);
    const ntRes = e[12] ?? 0;
    if ((attr & ATTR_VOLUME_ID) !== 0) {
      dropLfn('followed by a volume label');
      if (isRoot && volumeLabel === null) volumeLabel = Array.from(raw, oemChar).join('').trimEnd();
      continue;
    }
    let longName: string | null = null;
    const pending = lfn as PendingLfn | null;
    if (pending) {
      if (pending.next !== 0) dropLfn(`long name incomplete (ordinal ${pending.next} missing) before short entry at offset ${offset}`);
      else if (pending.checksum !== shortNameChecksum(raw)) {
        dropLfn(`LDIR_Chksum ${hex(pending.checksum)} does not match the short name at offset ${offset} (${hex(shortNameChecksum(raw))})`);
      } else {
        const units = pending.parts.flat();
        const end = units.indexOf(0x0000);
        longName = String.fromCharCode(...(end >= 0 ? units.slice(0, end) : units));
        lfn = null;
      }
    }
    const names = shortNames(raw, ntRes);
    const isDot = raw[0] === 0x2e && (names.stored === '.' || names.stored === '..');
    const v = new LeReader(e, 'FAT directory entry');
    // fatgen103 §6: DIR_FstClusHI at 20 (FAT32 only), DIR_FstClusLO at 26, DIR_FileSize at 28.
    const hi = fat32 ? v.u16(20) : 0;
    entries.push({
      name: isDot ? names.stored : longName ?? names.shown,
      shortName: names.stored,
      longName: isDot ? null : longName,
      attr,
      ntRes,
      isDirectory: (attr & ATTR_DIRECTORY) !== 0,
      isDotEntry: isDot,
      firstCluster: hi * 0x10000 + v.u16(26),
      size: v.u32(28),
      offset,
    });
  }
  return { entries, volumeLabel, problems, ended: false };
}
