import { ParseError } from '../../bytes/errors.js';
import { hex } from '../../bytes/hex.js';

/** Flattened devicetree magic (Devicetree Specification v0.4 §5.2). */
export const FDT_MAGIC = 0xd00dfeed;

/** Structure block tokens (DT spec v0.4 §5.4.1). */
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** The newest format we read; a blob whose last_comp_version is newer needs a newer reader. */
const FDT_READER_VERSION = 17;
/** The oldest we read: before 16, node names were full paths and the header differed. */
const FDT_OLDEST_VERSION = 16;

/** fdt_header (DT spec v0.4 §5.2): big-endian u32 fields. size_dt_struct exists from version 17. */
export interface FdtHeader {
  magic: number;
  totalsize: number;
  offDtStruct: number;
  offDtStrings: number;
  offMemRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  sizeDtStrings: number;
  /** null for a version 16 blob (the field was added in 17). */
  sizeDtStruct: number | null;
}

/** fdt_reserve_entry (DT spec v0.4 §5.3.2): a reserved physical memory range. */
export interface FdtReservation {
  address: string;
  size: string;
}

export interface FdtProperty {
  name: string;
  /** The raw value bytes (a view into the blob: do not modify). */
  value: Uint8Array;
  /** Offset of the FDT_PROP token in the blob. */
  offset: number;
}

export interface FdtNode {
  /** Node name with unit address ("pl011@9000000"); "" for the root. */
  name: string;
  /** Full path ("/", "/cpus/cpu@0"). */
  path: string;
  /** Offset of the FDT_BEGIN_NODE token in the blob. */
  offset: number;
  properties: FdtProperty[];
  children: FdtNode[];
}

export interface Fdt {
  header: FdtHeader;
  reservations: FdtReservation[];
  root: FdtNode;
  nodeCount: number;
  propertyCount: number;
}

/** Caps on what an untrusted blob can make us allocate or recurse into. */
export interface FdtLimits {
  /** Nesting depth of nodes (Linux's unflattener stops at 64). */
  maxDepth: number;
  maxNodes: number;
  maxProperties: number;
  maxReservations: number;
}

export const DEFAULT_FDT_LIMITS: FdtLimits = { maxDepth: 64, maxNodes: 100_000, maxProperties: 1_000_000, maxReservations: 1024 };

const HEADER_V16_LENGTH = 36;
const HEADER_V17_LENGTH = 40;

function u32(dv: DataView, offset: number): number {
  return dv.getUint32(offset, false);
}

/** Bytes as text one char per byte (names are ASCII; never a spread of an untrusted-length array). */
export function latin1(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i += 4096) out += String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 4096)));
  return out;
}

/**
 * Read and check the header: magic, a version we understand, and every
 * block inside totalsize, and totalsize inside the buffer (libfdt's
 * fdt_check_header rules, plus alignment of the blocks).
 */
export function parseFdtHeader(bytes: Uint8Array): FdtHeader {
  const s = 'FDT header';
  if (bytes.length < 8) throw new ParseError(s, 0, `${bytes.length} bytes: too short for an FDT header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = u32(dv, 0);
  if (magic !== FDT_MAGIC) throw new ParseError(s, 0, `magic is ${hex(magic, 8)}, expected 0xd00dfeed`);
  if (bytes.length < HEADER_V16_LENGTH) throw new ParseError(s, 0, `${bytes.length} bytes: too short for the ${HEADER_V16_LENGTH}-byte header`);
  const version = u32(dv, 20);
  const lastCompVersion = u32(dv, 24);
  if (version < FDT_OLDEST_VERSION) throw new ParseError(s, 20, `version ${version} is older than ${FDT_OLDEST_VERSION}, which this reader needs`);
  if (lastCompVersion > FDT_READER_VERSION) {
    throw new ParseError(s, 24, `last_comp_version ${lastCompVersion}: the blob needs a reader for version ${lastCompVersion} or later (this one reads ${FDT_READER_VERSION})`);
  }
  const headerLength = version >= 17 ? HEADER_V17_LENGTH : HEADER_V16_LENGTH;
  if (bytes.length < headerLength) throw new ParseError(s, 0, `${bytes.length} bytes: too short for the ${headerLength}-byte version ${version} header`);
  const h: FdtHeader = {
    magic,
    totalsize: u32(dv, 4),
    offDtStruct: u32(dv, 8),
    offDtStrings: u32(dv, 12),
    offMemRsvmap: u32(dv, 16),
    version,
    lastCompVersion,
    bootCpuidPhys: u32(dv, 28),
    sizeDtStrings: u32(dv, 32),
    sizeDtStruct: version >= 17 ? u32(dv, 36) : null,
  };
  if (h.totalsize < headerLength) throw new ParseError(s, 4, `totalsize ${h.totalsize} is smaller than the ${headerLength}-byte header`);
  if (h.totalsize > bytes.length) throw new ParseError(s, 4, `totalsize ${h.totalsize} is larger than the ${bytes.length} bytes available`);
  const block = (field: number, name: string, off: number, size: number, align: number) => {
    if (off < headerLength) throw new ParseError(s, field, `${name} offset ${off} overlaps the header`);
    if (off % align !== 0) throw new ParseError(s, field, `${name} offset ${off} is not ${align}-byte aligned`);
    if (off + size > h.totalsize) throw new ParseError(s, field, `${name} (offset ${off}, ${size} bytes) runs past totalsize ${h.totalsize}`);
  };
  // The reservation map's length is only known by walking it; at least its terminator must fit.
  block(16, 'memory reservation block', h.offMemRsvmap, 16, 8);
  block(8, 'structure block', h.offDtStruct, h.sizeDtStruct ?? 4, 4);
  block(12, 'strings block', h.offDtStrings, h.sizeDtStrings, 1);
  return h;
}

/** Parse a flattened devicetree blob into a node tree. Throws ParseError on anything malformed. */
export function parseFdt(bytes: Uint8Array, limits: FdtLimits = DEFAULT_FDT_LIMITS): Fdt {
  const header = parseFdtHeader(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reservations = readReservations(dv, header, limits);
  const structEnd = header.offDtStruct + (header.sizeDtStruct ?? header.totalsize - header.offDtStruct);
  const stringsEnd = header.offDtStrings + header.sizeDtStrings;
  const s = 'FDT structure block';

  const need = (off: number, n: number, what: string) => {
    if (off + n > structEnd) throw new ParseError(s, off, `${what} runs past the end of the structure block (${structEnd})`);
  };
  const token = (off: number) => {
    need(off, 4, 'token');
    return u32(dv, off);
  };
  /** A NUL-terminated name at `off`, the NUL within [off, end). */
  const cstring = (off: number, end: number, structure: string, what: string): string => {
    const nul = bytes.subarray(off, end).indexOf(0);
    if (nul < 0) throw new ParseError(structure, off, `${what} is not NUL-terminated within its block`);
    return latin1(bytes.subarray(off, off + nul));
  };
  const align4 = (n: number) => (n + 3) & ~3;

  let off = header.offDtStruct;
  // NOPs may precede the root node.
  while (token(off) === FDT_NOP) off += 4;
  if (token(off) !== FDT_BEGIN_NODE) throw new ParseError(s, off, `expected FDT_BEGIN_NODE for the root node, found token ${hex(token(off))}`);

  let nodeCount = 0;
  let propertyCount = 0;
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  for (;;) {
    const at = off;
    const tok = token(off);
    off += 4;
    if (tok === FDT_BEGIN_NODE) {
      if (root && stack.length === 0) throw new ParseError(s, at, 'a second top-level node after the root node ended');
      if (stack.length >= limits.maxDepth) throw new ParseError(s, at, `nodes nested deeper than ${limits.maxDepth}`);
      if (++nodeCount > limits.maxNodes) throw new ParseError(s, at, `more than ${limits.maxNodes} nodes`);
      const name = cstring(off, structEnd, s, 'node name');
      off = align4(off + name.length + 1);
      const parent = stack[stack.length - 1];
      if (parent && (name === '' || name.includes('/'))) {
        throw new ParseError(s, at + 4, `node name ${JSON.stringify(name)} under ${parent.path} is empty or contains "/"`);
      }
      const node: FdtNode = {
        name,
        path: parent ? (parent.path === '/' ? `/${name}` : `${parent.path}/${name}`) : '/',
        offset: at,
        properties: [],
        children: [],
      };
      if (parent) parent.children.push(node);
      else root = node;
      stack.push(node);
    } else if (tok === FDT_END_NODE) {
      if (stack.length === 0) throw new ParseError(s, at, 'FDT_END_NODE with no open node');
      stack.pop();
    } else if (tok === FDT_PROP) {
      const node = stack[stack.length - 1];
      if (!node) throw new ParseError(s, at, 'FDT_PROP outside any node');
      if (++propertyCount > limits.maxProperties) throw new ParseError(s, at, `more than ${limits.maxProperties} properties`);
      need(off, 8, 'property header');
      const len = u32(dv, off);
      const nameoff = u32(dv, off + 4);
      off += 8;
      need(off, len, `property value (${len} bytes)`);
      if (nameoff >= header.sizeDtStrings) {
        throw new ParseError(s, at + 8, `property nameoff ${nameoff} is outside the ${header.sizeDtStrings}-byte strings block`);
      }
      const name = cstring(header.offDtStrings + nameoff, stringsEnd, 'FDT strings block', `property name at nameoff ${nameoff}`);
      node.properties.push({ name, value: bytes.subarray(off, off + len), offset: at });
      off = align4(off + len);
    } else if (tok === FDT_NOP) {
      continue;
    } else if (tok === FDT_END) {
      if (stack.length > 0) throw new ParseError(s, at, `FDT_END inside unterminated node ${stack[stack.length - 1]?.path}`);
      break;
    } else {
      throw new ParseError(s, at, `unknown token ${hex(tok)}`);
    }
  }
  if (!root) throw new ParseError(s, header.offDtStruct, 'no root node');
  return { header, reservations, root, nodeCount, propertyCount };
}

/** Memory reservation block (DT spec v0.4 §5.3): 16-byte entries up to a (0, 0) terminator. */
function readReservations(dv: DataView, header: FdtHeader, limits: FdtLimits): FdtReservation[] {
  const out: FdtReservation[] = [];
  for (let off = header.offMemRsvmap; ; off += 16) {
    if (off + 16 > header.totalsize) throw new ParseError('FDT memory reservation block', off, 'no (0, 0) terminator before the end of the blob');
    const address = dv.getBigUint64(off, false);
    const size = dv.getBigUint64(off + 8, false);
    if (address === 0n && size === 0n) return out;
    if (out.length >= limits.maxReservations) throw new ParseError('FDT memory reservation block', off, `more than ${limits.maxReservations} entries`);
    out.push({ address: hex(address), size: hex(size) });
  }
}
