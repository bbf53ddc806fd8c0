import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { crc32 } from '../../bytes/crc32.js';
import { MAX_CONFIG_TEXT } from './lvm-config.js';

/**
 * An LVM2 physical volume's on-disk header (LVM2 lib/label/label.h and
 * lib/format_text/layout.h): the label in one of the first four sectors, the
 * pv_header after it listing data and metadata areas, and in each metadata
 * area an mda_header whose raw_locn points at the committed metadata text in
 * a circular buffer. Everything is little-endian ("_xl").
 */

export const SECTOR_SIZE = 512;
/** label.h LABEL_SCAN_SECTORS: the label is in sector 0, 1, 2 or 3. */
const LABEL_SCAN_SECTORS = 4;
/** layout.h MDA_HEADER_SIZE: the mda_header sector; the text buffer follows it. */
const MDA_HEADER_SIZE = 512;
/** layout.h FMTT_MAGIC. */
const FMTT_MAGIC = ' LVM2 x[5A%r0N*>';
/** layout.h FMTT_VERSION. */
const FMTT_VERSION = 1;
/** layout.h RAW_LOCN_IGNORED: a metadata area the admin marked as ignored (pvchange --metadataignore). */
const RAW_LOCN_IGNORED = 0x1;
/** At most this many areas of each kind are read (LVM writes at most two metadata areas). */
const MAX_AREAS = 16;

/** lib/misc/crc.h INITIAL_CRC: LVM's calc_crc is reflected CRC-32 (0xEDB88320) seeded with this, without the final XOR. */
const INITIAL_CRC = 0xf597a6cf;
export function calcCrc(data: Uint8Array, initial = INITIAL_CRC): number {
  // crc32() applies ~ on entry and exit; undo both to get the raw register LVM keeps.
  return (crc32(data, (initial ^ 0xffffffff) >>> 0) ^ 0xffffffff) >>> 0;
}

/** layout.h struct disk_locn: a byte range of the PV. */
export interface DiskLocn {
  offset: number;
  size: number;
}

/** One copy of the metadata text, from one metadata area. */
export interface MetadataCopy {
  /** Byte offset of the metadata area (mda_header.start). */
  mdaStart: number;
  /** raw_locn[0]: where the text is, from the area's start, and its size with the trailing NUL. */
  offset: number;
  size: number;
  text: string;
}

export interface PvLabel {
  /** label_header: the sector holding the label. */
  labelSector: number;
  /** pv_header.pv_uuid: 32 characters, without the dashes LVM prints. */
  pvUuid: string;
  /** pv_header.device_size_xl, bytes. */
  deviceSize: number;
  dataAreas: DiskLocn[];
  metadataAreas: DiskLocn[];
  /** The committed text of every metadata area that has one (ignored areas skipped). */
  metadata: MetadataCopy[];
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}
function u64(b: Uint8Array, o: number, what: string, at: number): number {
  const v = u32(b, o) + u32(b, o + 4) * 0x100000000;
  if (!Number.isSafeInteger(v)) throw new ParseError(what, at + o, 'value beyond 2^53');
  return v;
}
function ascii(b: Uint8Array, o: number, n: number): string {
  return String.fromCharCode(...b.subarray(o, o + n));
}

/** The label, pv_header and committed metadata of the PV on `src`. Throws ParseError when it is not an intact PV. */
export function readPvLabel(src: ByteSource): PvLabel {
  for (let sector = 0; sector < LABEL_SCAN_SECTORS; sector++) {
    const at = sector * SECTOR_SIZE;
    if (at + SECTOR_SIZE > src.size) break;
    const b = src.read(at, SECTOR_SIZE);
    // label.h struct label_header: id[8] "LABELONE", sector_xl, crc_xl, offset_xl, type[8].
    if (ascii(b, 0, 8) !== 'LABELONE') continue;
    if (ascii(b, 24, 8) !== 'LVM2 001') throw new ParseError('LVM label_header', at, `type ${JSON.stringify(ascii(b, 24, 8))} is not "LVM2 001"`);
    const sectorXl = u64(b, 8, 'LVM label_header', at);
    if (sectorXl !== sector) throw new ParseError('LVM label_header', at, `sector_xl ${sectorXl} does not match the sector it is in (${sector})`);
    // crc_xl covers offset_xl to the end of the sector.
    const crc = calcCrc(b.subarray(20));
    if (crc !== u32(b, 16)) throw new ParseError('LVM label_header', at, `crc_xl 0x${u32(b, 16).toString(16)} does not match the label (0x${crc.toString(16)})`);
    const offsetXl = u32(b, 20);
    if (offsetXl < 32 || offsetXl + 32 + 16 > SECTOR_SIZE) throw new ParseError('LVM label_header', at, `offset_xl ${offsetXl} is outside the sector`);
    return readPvHeader(src, b, at, sector, offsetXl);
  }
  throw new ParseError('LVM label_header', 0, 'no LABELONE label in the first four sectors');
}

function readPvHeader(src: ByteSource, b: Uint8Array, at: number, sector: number, o: number): PvLabel {
  const what = 'LVM pv_header';
  // layout.h struct pv_header: pv_uuid[32], device_size_xl, disk_areas_xl[] (data areas, a null disk_locn, metadata areas, a null).
  const pvUuid = ascii(b, o, 32);
  if (!/^[A-Za-z0-9!#]{32}$/.test(pvUuid)) throw new ParseError(what, at + o, 'pv_uuid is not 32 id characters');
  const deviceSize = u64(b, o + 32, what, at);
  let p = o + 40;
  const list = (): DiskLocn[] => {
    const out: DiskLocn[] = [];
    for (;;) {
      if (p + 16 > SECTOR_SIZE) throw new ParseError(what, at + p, 'disk_areas_xl runs past the label sector');
      const offset = u64(b, p, what, at);
      const size = u64(b, p + 8, what, at);
      p += 16;
      if (offset === 0) return out;
      if (out.length >= MAX_AREAS) throw new ParseError(what, at + p, `more than ${MAX_AREAS} areas`);
      out.push({ offset, size });
    }
  };
  const dataAreas = list();
  const metadataAreas = list();
  const metadata: MetadataCopy[] = [];
  for (const mda of metadataAreas) {
    const copy = readMetadataArea(src, mda);
    if (copy !== null) metadata.push(copy);
  }
  return { labelSector: sector, pvUuid, deviceSize, dataAreas, metadataAreas, metadata };
}

/** The committed metadata text of one metadata area, or null when the area holds none (or is ignored). */
export function readMetadataArea(src: ByteSource, mda: DiskLocn): MetadataCopy | null {
  const what = 'LVM mda_header';
  if (mda.size < MDA_HEADER_SIZE * 2 || mda.offset + mda.size > src.size) {
    throw new ParseError(what, mda.offset, `metadata area ${mda.offset}+${mda.size} does not fit the PV (size ${src.size})`);
  }
  const h = src.read(mda.offset, MDA_HEADER_SIZE);
  // layout.h struct mda_header: checksum_xl, magic[16], version, start, size, raw_locns[].
  const crc = calcCrc(h.subarray(4));
  if (crc !== u32(h, 0)) throw new ParseError(what, mda.offset, `checksum_xl 0x${u32(h, 0).toString(16)} does not match (0x${crc.toString(16)})`);
  if (ascii(h, 4, 16) !== FMTT_MAGIC) throw new ParseError(what, mda.offset + 4, 'bad magic');
  if (u32(h, 20) !== FMTT_VERSION) throw new ParseError(what, mda.offset + 20, `version ${u32(h, 20)} is not ${FMTT_VERSION}`);
  const start = u64(h, 24, what, mda.offset);
  const size = u64(h, 32, what, mda.offset);
  if (start !== mda.offset || size !== mda.size) {
    throw new ParseError(what, mda.offset + 24, `start/size ${start}+${size} disagree with the pv_header's ${mda.offset}+${mda.size}`);
  }
  // raw_locns[0] is the committed metadata (a second slot, "precommitted", is only used mid-update).
  // layout.h struct raw_locn: offset (from the area's start), size, checksum, flags.
  const offset = u64(h, 40, what, mda.offset);
  const length = u64(h, 48, what, mda.offset);
  const checksum = u32(h, 56);
  const flags = u32(h, 60);
  if (offset === 0 || (flags & RAW_LOCN_IGNORED) !== 0) return null;
  const ring = size - MDA_HEADER_SIZE;
  if (offset < MDA_HEADER_SIZE || offset >= size || length === 0 || length > ring || length > MAX_CONFIG_TEXT) {
    throw new ParseError('LVM raw_locn', mda.offset + 40, `metadata at ${offset}+${length} is outside the ${size}-byte area`);
  }
  // The text area is a circular buffer after the header: text running past the end continues right after the header.
  const first = Math.min(length, size - offset);
  const bytes = new Uint8Array(length);
  bytes.set(src.read(mda.offset + offset, first), 0);
  if (first < length) bytes.set(src.read(mda.offset + MDA_HEADER_SIZE, length - first), first);
  const sum = calcCrc(bytes);
  if (sum !== checksum) throw new ParseError('LVM raw_locn', mda.offset + 56, `metadata checksum 0x${checksum.toString(16)} does not match the text (0x${sum.toString(16)})`);
  // The text ends with a NUL LVM counts in the size.
  const end = bytes.indexOf(0);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(end < 0 ? bytes : bytes.subarray(0, end));
  return { mdaStart: mda.offset, offset, size: length, text };
}
