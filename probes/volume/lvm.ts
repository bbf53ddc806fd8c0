import { ParseError } from '../../bytes/errors.js';
import { checkRange, type ByteSource } from '../../bytes/byte-source.js';
import { isSection, parseLvmConfig, type ConfigSection, type ConfigValue } from './lvm-config.js';
import { readPvLabel, SECTOR_SIZE, type PvLabel } from './lvm-label.js';

/**
 * LVM2 volume groups assembled from their physical volumes, without
 * device-mapper: the newest metadata (highest seqno) of each VG is read
 * (LVM2 lib/format_text/import_vsn1.c names the keys), and every logical
 * volume whose segments are all linear or striped becomes a ByteSource that
 * reads through the segment map. Other segment types (thin, mirror, raid,
 * snapshot, cache, vdo...) and VGs with missing PVs are refused by name.
 */

export interface PhysicalVolume {
  /** Where the PV is (a partition's source). */
  src: ByteSource;
  /** How the PV is named in messages ("partition 3"). */
  name: string;
  label: PvLabel;
}

export interface LogicalVolume {
  vg: string;
  lv: string;
  /** `VG/LV`, as lvs names it. */
  fullName: string;
  /** /dev/mapper/VG-LV, with dashes in either name doubled as device-mapper does. */
  mapperName: string;
  /** The LV's bytes, or null when vmspec cannot assemble it (`refused` says why). */
  source: ByteSource | null;
  refused: string | null;
  /** The PVs it reads from (for "which partition"). */
  pvNames: string[];
  /** status has "VISIBLE": false for the hidden sub-volumes of pools, mirrors and raid (pool_tdata, pool_tmeta...). */
  visible: boolean;
}

export interface VolumeGroup {
  name: string;
  id: string;
  seqno: number;
  /** extent_size in sectors. */
  extentSize: number;
  pvs: { id: string; name: string | null }[];
  lvs: LogicalVolume[];
  /** Why no LV of this VG can be read (PVs missing), or null. */
  refused: string | null;
}

/** Segment types that map straight onto PV extents. "linear" is the alias lvcreate accepts; metadata writes "striped". */
const READABLE_SEGMENTS = new Set(['striped', 'linear']);
const MAX_SEGMENTS = 4096;
const MAX_LVS = 4096;

const dmName = (s: string): string => s.replace(/-/g, '--');
const bareUuid = (id: string): string => id.replace(/-/g, '');

function num(sec: ConfigSection, key: string, where: string): number {
  const v = sec.entries.get(key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ParseError('LVM metadata', -1, `${where}: ${key} is not a non-negative integer`);
  return v;
}
function str(sec: ConfigSection, key: string, where: string): string {
  const v = sec.entries.get(key);
  if (typeof v !== 'string') throw new ParseError('LVM metadata', -1, `${where}: ${key} is not a string`);
  return v;
}
function sub(sec: ConfigSection, key: string, where: string): ConfigSection {
  const v = sec.entries.get(key);
  if (!isSection(v)) throw new ParseError('LVM metadata', -1, `${where}: ${key} is not a section`);
  return v;
}
function sections(sec: ConfigSection): [string, ConfigSection][] {
  return [...sec.entries].filter((e): e is [string, ConfigSection] => isSection(e[1]));
}

interface ParsedVg {
  name: string;
  id: string;
  seqno: number;
  section: ConfigSection;
}

/** The VG described by one metadata text: its one top-level section. */
export function parseVgMetadata(text: string): ParsedVg {
  const top = parseLvmConfig(text);
  const vgs = sections(top);
  if (vgs.length !== 1) throw new ParseError('LVM metadata', -1, `expected one volume group section, found ${vgs.length}`);
  const [name, section] = vgs[0]!;
  return { name, id: str(section, 'id', name), seqno: num(section, 'seqno', name), section };
}

/**
 * Every VG on these PVs, from the newest metadata copy of each (highest seqno
 * across all areas of all its PVs; a damaged copy is passed over when
 * another is intact). Throws ParseError when a PV has no readable metadata at all.
 */
export function assembleVolumeGroups(pvs: PhysicalVolume[]): VolumeGroup[] {
  const newest = new Map<string, ParsedVg>();
  const byUuid = new Map<string, PhysicalVolume>();
  for (const pv of pvs) {
    byUuid.set(pv.label.pvUuid, pv);
    const errors: string[] = [];
    let any = false;
    for (const copy of pv.label.metadata) {
      let vg: ParsedVg;
      try {
        vg = parseVgMetadata(copy.text);
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        errors.push(e.message);
        continue;
      }
      any = true;
      const seen = newest.get(vg.id);
      if (!seen || vg.seqno > seen.seqno) newest.set(vg.id, vg);
    }
    if (!any && errors.length) throw new ParseError('LVM metadata', -1, `${pv.name}: ${errors[0]}`);
  }
  return [...newest.values()].map((vg) => buildVg(vg, byUuid));
}

function buildVg(vg: ParsedVg, byUuid: Map<string, PhysicalVolume>): VolumeGroup {
  const where = vg.name;
  const extentSize = num(vg.section, 'extent_size', where);
  if (extentSize === 0) throw new ParseError('LVM metadata', -1, `${where}: extent_size is 0`);
  const pvSections = sections(sub(vg.section, 'physical_volumes', where));
  const pvMap = new Map<string, { pv: PhysicalVolume | null; peStart: number; peCount: number; id: string }>();
  const missing: string[] = [];
  for (const [key, s] of pvSections) {
    const id = str(s, 'id', `${where}/${key}`);
    const pv = byUuid.get(bareUuid(id)) ?? null;
    pvMap.set(key, { pv, peStart: num(s, 'pe_start', `${where}/${key}`), peCount: num(s, 'pe_count', `${where}/${key}`), id });
    const device = s.entries.get('device');
    if (!pv) missing.push(`${key} (${id}${typeof device === 'string' ? `, last seen as ${device}` : ''})`);
  }
  const lvsSection = vg.section.entries.get('logical_volumes');
  const lvEntries = isSection(lvsSection) ? sections(lvsSection) : [];
  if (lvEntries.length > MAX_LVS) throw new ParseError('LVM metadata', -1, `${where}: more than ${MAX_LVS} logical volumes`);
  const lvs: LogicalVolume[] = [];
  for (const [lvName, s] of lvEntries) {
    const lv: LogicalVolume = {
      vg: vg.name, lv: lvName, fullName: `${vg.name}/${lvName}`, mapperName: `/dev/mapper/${dmName(vg.name)}-${dmName(lvName)}`,
      source: null, refused: null, pvNames: [],
      visible: (() => {
        const status = s.entries.get('status');
        return Array.isArray(status) && status.includes('VISIBLE');
      })(),
    };
    lvs.push(lv);
    try {
      const map = segmentMap(s, lv.fullName, extentSize, pvMap);
      lv.pvNames = [...new Set(map.flatMap((seg) => seg.stripes.map((st) => st.pv.name)))];
      lv.source = new SegmentMapSource(map, lv.fullName);
    } catch (e) {
      if (e instanceof RefusedLv) lv.refused = e.message;
      else throw e;
    }
  }
  return {
    name: vg.name, id: vg.id, seqno: vg.seqno, extentSize,
    pvs: [...pvMap.values()].map((p) => ({ id: p.id, name: p.pv?.name ?? null })),
    lvs,
    refused: missing.length ? `volume group ${vg.name} is missing physical volume${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` : null,
  };
}

/** An LV that is intact but not assembled by vmspec (its message says why). */
class RefusedLv extends Error {}

interface Stripe {
  pv: PhysicalVolume;
  /** Byte offset on the PV where this stripe's area begins. */
  start: number;
}
interface Segment {
  /** Byte range of the LV. */
  start: number;
  length: number;
  /** Bytes per stripe chunk (the whole segment for one stripe). */
  chunk: number;
  stripes: Stripe[];
}

function segmentMap(s: ConfigSection, name: string, extentSize: number, pvMap: Map<string, { pv: PhysicalVolume | null; peStart: number; peCount: number }>): Segment[] {
  const extentBytes = extentSize * SECTOR_SIZE;
  const count = num(s, 'segment_count', name);
  if (count === 0 || count > MAX_SEGMENTS) throw new ParseError('LVM metadata', -1, `${name}: segment_count ${count} is outside 1..${MAX_SEGMENTS}`);
  const segs: Segment[] = [];
  for (let i = 1; i <= count; i++) {
    const where = `${name} segment${i}`;
    const seg = sub(s, `segment${i}`, name);
    const type = str(seg, 'type', where);
    if (!READABLE_SEGMENTS.has(type)) throw new RefusedLv(`logical volume ${name} has a "${type}" segment (vmspec assembles only linear and striped LVs)`);
    const startExtent = num(seg, 'start_extent', where);
    const extentCount = num(seg, 'extent_count', where);
    const stripeCount = num(seg, 'stripe_count', where);
    if (stripeCount === 0 || stripeCount > 128) throw new ParseError('LVM metadata', -1, `${where}: stripe_count ${stripeCount} is outside 1..128`);
    if (extentCount === 0 || extentCount % stripeCount !== 0) throw new ParseError('LVM metadata', -1, `${where}: extent_count ${extentCount} is not a multiple of stripe_count ${stripeCount}`);
    const stripeSize = stripeCount > 1 ? num(seg, 'stripe_size', where) : 0;
    // LVM keeps stripe_size at most the extent size and a power of two, so chunks never straddle extents.
    if (stripeCount > 1 && (stripeSize === 0 || extentSize % stripeSize !== 0)) {
      throw new ParseError('LVM metadata', -1, `${where}: stripe_size ${stripeSize} does not divide the extent size`);
    }
    const list: ConfigValue | ConfigSection | undefined = seg.entries.get('stripes');
    if (!Array.isArray(list) || list.length !== stripeCount * 2) throw new ParseError('LVM metadata', -1, `${where}: stripes does not list ${stripeCount} "pvN", extent pairs`);
    const perStripe = extentCount / stripeCount;
    const stripes: Stripe[] = [];
    for (let k = 0; k < stripeCount; k++) {
      const key = list[2 * k];
      const pe = list[2 * k + 1];
      if (typeof key !== 'string' || typeof pe !== 'number' || !Number.isSafeInteger(pe) || pe < 0) throw new ParseError('LVM metadata', -1, `${where}: stripe ${k} is not a "pvN", extent pair`);
      const p = pvMap.get(key);
      if (!p) throw new ParseError('LVM metadata', -1, `${where}: stripe ${k} names ${key}, which is not in physical_volumes`);
      if (!p.pv) throw new RefusedLv(`logical volume ${name} uses ${key}, a physical volume that is not on this disk`);
      if (pe + perStripe > p.peCount) throw new ParseError('LVM metadata', -1, `${where}: extents ${pe}+${perStripe} run past ${key}'s pe_count ${p.peCount}`);
      const start = p.peStart * SECTOR_SIZE + pe * extentBytes;
      if (start + perStripe * extentBytes > p.pv.src.size) throw new ParseError('LVM metadata', -1, `${where}: extents ${pe}+${perStripe} run past the end of ${p.pv.name}`);
      stripes.push({ pv: p.pv, start });
    }
    const startByte = startExtent * extentBytes;
    const expected = segs.length ? segs[segs.length - 1]!.start + segs[segs.length - 1]!.length : 0;
    if (startByte !== expected) throw new ParseError('LVM metadata', -1, `${where}: start_extent ${startExtent} leaves a gap or overlap in the LV`);
    segs.push({ start: startByte, length: extentCount * extentBytes, chunk: stripeCount > 1 ? stripeSize * SECTOR_SIZE : extentCount * extentBytes, stripes });
  }
  return segs;
}

/** An LV's bytes, read through its segments: linear ones map straight to a PV, striped ones rotate chunk by chunk across theirs. */
export class SegmentMapSource implements ByteSource {
  readonly size: number;
  constructor(readonly segments: Segment[], readonly name: string) {
    const last = segments[segments.length - 1];
    this.size = last ? last.start + last.length : 0;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const seg = this.#segmentAt(pos);
      const rel = pos - seg.start;
      const chunkNo = Math.floor(rel / seg.chunk);
      const within = rel % seg.chunk;
      const stripe = seg.stripes[chunkNo % seg.stripes.length]!;
      const onStripe = Math.floor(chunkNo / seg.stripes.length) * seg.chunk + within;
      const n = Math.min(length - done, seg.chunk - within, seg.start + seg.length - pos);
      out.set(stripe.pv.src.read(stripe.start + onStripe, n), done);
      done += n;
    }
    return out;
  }

  #segmentAt(pos: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.start <= pos) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo]!;
  }
}

/** The PV on `src`, or a ParseError when its label or metadata areas are damaged. */
export function readPhysicalVolume(src: ByteSource, name: string): PhysicalVolume {
  return { src, name, label: readPvLabel(src) };
}
