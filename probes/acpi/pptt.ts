import { ParseError } from '../../bytes/errors.js';
import { type AcpiTableHeader, openTable } from './header.js';
import { walkSubtables } from './subtables.js';

/** Processor Hierarchy Node flags (ACPI 6.5 Table 5.158). */
export const PPTT_PHYSICAL_PACKAGE = 1 << 0;
export const PPTT_ACPI_PROCESSOR_ID_VALID = 1 << 1;
export const PPTT_PROCESSOR_IS_A_THREAD = 1 << 2;
export const PPTT_NODE_IS_A_LEAF = 1 << 3;
export const PPTT_IDENTICAL_IMPLEMENTATION = 1 << 4;

/** Processor Hierarchy Node structure (ACPI 6.5 §5.2.30.1, Table 5.157). */
export interface PpttProcessor {
  offset: number;
  length: number;
  flags: number;
  physicalPackage: boolean;
  acpiProcessorIdValid: boolean;
  isThread: boolean;
  /** Flags bit 3 (PPTT revision 2+): a leaf node, i.e. a PE. */
  isLeaf: boolean;
  /** Offset of the parent node from the start of the table; 0 for a root. */
  parent: number;
  acpiProcessorId: number;
  /** Offsets of the private resources (caches, IDs) from the start of the table. */
  privateResources: number[];
}

/** Cache Type Structure (ACPI 6.5 §5.2.30.2, Table 5.160). */
export interface PpttCache {
  offset: number;
  length: number;
  flags: number;
  nextLevelOfCache: number;
  size: number;
  numberOfSets: number;
  associativity: number;
  attributes: number;
  /** Attributes bits 3:2 (valid when Flags bit 4 is set). */
  cacheType: 'data' | 'instruction' | 'unified';
  lineSize: number;
  /** Cache ID (revision 3+, valid when Flags bit 7 is set), null in a shorter structure. */
  cacheId: number | null;
}

/** Processor Properties Topology Table (ACPI 6.5 §5.2.30, Table 5.156). */
export interface Pptt {
  header: AcpiTableHeader;
  processors: PpttProcessor[];
  caches: PpttCache[];
  /** ID structures (type 2, deprecated) and reserved types, by type and offset. */
  other: { offset: number; type: number; length: number }[];
  /** Processor nodes flagged as leaves (PEs); nodes without the flag (revision 1) are counted when nothing names them as parent. */
  leafCount: number;
}

const PPTT_STRUCTURES_START = 36;

export function parsePptt(bytes: Uint8Array): Pptt {
  const { header, r } = openTable(bytes, 'PPTT', 'PPTT');
  const refs = walkSubtables(r, PPTT_STRUCTURES_START, header.length, { structure: 'PPTT structure', lengthSize: 1, minLength: 4 });
  const pptt: Pptt = { header, processors: [], caches: [], other: [], leafCount: 0 };
  for (const { offset: o, type, length } of refs) {
    if (type === 0) {
      const s = 'PPTT Processor Hierarchy Node';
      if (length < 20) throw new ParseError(s, o, `Length ${length} is less than the 20-byte fixed part`);
      const n = r.u32(o + 16, 'Number of Private Resources');
      if (20 + n * 4 > length) throw new ParseError(s, o + 16, `${n} private resources do not fit in the ${length}-byte structure`);
      const flags = r.u32(o + 4, 'Flags');
      pptt.processors.push({
        offset: o,
        length,
        flags,
        physicalPackage: (flags & PPTT_PHYSICAL_PACKAGE) !== 0,
        acpiProcessorIdValid: (flags & PPTT_ACPI_PROCESSOR_ID_VALID) !== 0,
        isThread: (flags & PPTT_PROCESSOR_IS_A_THREAD) !== 0,
        isLeaf: (flags & PPTT_NODE_IS_A_LEAF) !== 0,
        parent: r.u32(o + 8, 'Parent'),
        acpiProcessorId: r.u32(o + 12, 'ACPI Processor ID'),
        privateResources: Array.from({ length: n }, (_, i) => r.u32(o + 20 + i * 4, 'Private Resource')),
      });
    } else if (type === 1) {
      if (length < 24) throw new ParseError('PPTT Cache Type Structure', o, `Length ${length} is less than the 24-byte structure`);
      const attributes = r.u8(o + 21, 'Attributes');
      const t = (attributes >> 2) & 3;
      pptt.caches.push({
        offset: o,
        length,
        flags: r.u32(o + 4, 'Flags'),
        nextLevelOfCache: r.u32(o + 8, 'Next Level of Cache'),
        size: r.u32(o + 12, 'Size'),
        numberOfSets: r.u32(o + 16, 'Number of sets'),
        associativity: r.u8(o + 20, 'Associativity'),
        attributes,
        cacheType: t === 0 ? 'data' : t === 1 ? 'instruction' : 'unified',
        lineSize: r.u16(o + 22, 'Line size'),
        cacheId: length >= 28 ? r.u32(o + 24, 'Cache ID') : null,
      });
    } else {
      pptt.other.push({ offset: o, type, length });
    }
  }
  const parents = new Set(pptt.processors.map((p) => p.parent));
  pptt.leafCount = pptt.processors.filter((p) => p.isLeaf || (header.revision < 2 && !parents.has(p.offset))).length;
  return pptt;
}
