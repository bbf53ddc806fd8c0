import { ParseError } from '../../bytes/errors.js';
import { type AcpiTableHeader, openTable } from './header.js';
import type { LeReader } from '../../bytes/le-reader.js';
import { type SubtableRef, needLength, walkSubtables } from './subtables.js';
import { hex } from '../../bytes/hex.js';

/** IORT node types (Arm DEN 0049E.e, Table 4 "Node types"). */
export const IORT_NODE_TYPE = {
  ITS_GROUP: 0,
  NAMED_COMPONENT: 1,
  ROOT_COMPLEX: 2,
  SMMU_V1_V2: 3,
  SMMU_V3: 4,
  PMCG: 5,
  RMR: 6,
} as const;

const NODE_TYPE_NAMES: Record<number, string> = {
  0: 'ITS Group',
  1: 'Named Component',
  2: 'Root Complex',
  3: 'SMMUv1 or SMMUv2',
  4: 'SMMUv3',
  5: 'PMCG',
  6: 'Memory Range',
};

export function iortNodeTypeName(type: number): string {
  return NODE_TYPE_NAMES[type] ?? 'Reserved';
}

/** ID mapping (Arm DEN 0049E.e §3.4, Table 5): 20 bytes. */
export interface IortIdMapping {
  inputBase: number;
  idCount: number;
  outputBase: number;
  /** Offset from the start of the IORT of the node this range maps to. */
  outputReference: number;
  /** Type of the node at outputReference, or null when it does not point at a node. */
  outputNodeType: number | null;
  flags: number;
  /** Flags bit 0: a single ID (e.g. an SMMU's own MSI) rather than a range. */
  singleMapping: boolean;
}

/** An IORT node (Arm DEN 0049E.e §3.1, Table 3 header) with the fields a compliance check uses per type. */
export interface IortNode {
  offset: number;
  type: number;
  typeName: string;
  length: number;
  revision: number;
  /** Identifier (DEN 0049E.c+; "Reserved" before). */
  identifier: number;
  mappingCount: number;
  mappingOffset: number;
  mappings: IortIdMapping[];
  /** ITS Group: the GIC ITS identifiers (they match MADT GIC ITS Translation IDs). */
  itsIdentifiers?: number[];
  /** Named Component: device object name, e.g. "\_SB.SMB0". */
  deviceName?: string;
  /** Root Complex: PCI segment number (matches MCFG's segment group). */
  pciSegmentNumber?: number;
  /** Root Complex: ATS Attribute (bit 0: root complex supports ATS). */
  atsAttribute?: number;
  /** Root Complex (revision 1+) / Named Component: Memory Address Size Limit in bits. */
  memoryAddressSizeLimit?: number | null;
  /** SMMUv1/v2, SMMUv3, PMCG (page 0): base address. */
  baseAddress?: string;
  /** SMMU model (implementation). */
  model?: number;
  /** SMMUv1/v2, SMMUv3: flags. */
  flags?: number;
  /** PMCG: overflow interrupt GSIV. */
  overflowInterrupt?: number;
  /** PMCG: offset of the node it monitors. */
  nodeReference?: number;
}

/** IO Remapping Table (Arm DEN 0049E.e §3, Table 2). */
export interface Iort {
  header: AcpiTableHeader;
  nodeCount: number;
  nodeOffset: number;
  nodes: IortNode[];
  /** Node counts by type name. */
  nodeTypeCounts: Record<string, number>;
}

const IORT_FIXED_LENGTH = 48;
const NODE_HEADER_LENGTH = 16;
const ID_MAPPING_LENGTH = 20;

export function parseIort(bytes: Uint8Array): Iort {
  const { header, r } = openTable(bytes, 'IORT', 'IORT');
  if (header.length < IORT_FIXED_LENGTH) {
    throw new ParseError('IORT', 4, `Length ${header.length} is less than the ${IORT_FIXED_LENGTH}-byte fixed part`);
  }
  const nodeCount = r.u32(36, 'Number of IORT Nodes');
  const nodeOffset = r.u32(40, 'Offset to Array of IORT Nodes');
  if (nodeCount > 0 && nodeOffset < IORT_FIXED_LENGTH) {
    throw new ParseError('IORT', 40, `Offset to Array of IORT Nodes ${nodeOffset} points into the fixed part`);
  }
  const refs = nodeCount === 0 ? [] : walkSubtables(r, nodeOffset, header.length, {
    structure: 'IORT node',
    lengthSize: 2,
    minLength: NODE_HEADER_LENGTH,
    count: nodeCount,
  });
  const nodes = Array.from(refs, (ref) => readNode(r, ref));
  const typeAt = new Map(nodes.map((n) => [n.offset, n.type]));
  const nodeTypeCounts: Record<string, number> = {};
  for (const n of nodes) {
    for (const m of n.mappings) m.outputNodeType = typeAt.get(m.outputReference) ?? null;
    nodeTypeCounts[n.typeName] = (nodeTypeCounts[n.typeName] ?? 0) + 1;
  }
  return { header, nodeCount, nodeOffset, nodes, nodeTypeCounts };
}

function readNode(r: LeReader, ref: SubtableRef): IortNode {
  const o = ref.offset;
  const s = `IORT ${iortNodeTypeName(ref.type)} node`;
  const mappingCount = r.u32(o + 8, 'Number of ID mappings');
  const mappingOffset = r.u32(o + 12, 'Reference to ID Array');
  if (mappingCount > 0) {
    // Checked with arithmetic first so an absurd count cannot drive the loop.
    if (mappingOffset < NODE_HEADER_LENGTH || mappingOffset + mappingCount * ID_MAPPING_LENGTH > ref.length) {
      throw new ParseError(s, o + 8, `${mappingCount} ID mappings at offset ${mappingOffset} do not fit in the ${ref.length}-byte node`);
    }
  }
  const mappings: IortIdMapping[] = [];
  for (let i = 0; i < mappingCount; i++) {
    const m = o + mappingOffset + i * ID_MAPPING_LENGTH;
    const flags = r.u32(m + 16, 'ID mapping Flags');
    mappings.push({
      inputBase: r.u32(m, 'Input base'),
      idCount: r.u32(m + 4, 'Number of IDs'),
      outputBase: r.u32(m + 8, 'Output base'),
      outputReference: r.u32(m + 12, 'Output reference'),
      outputNodeType: null,
      flags,
      singleMapping: (flags & 1) !== 0,
    });
  }
  const node: IortNode = {
    offset: o,
    type: ref.type,
    typeName: iortNodeTypeName(ref.type),
    length: ref.length,
    revision: r.u8(o + 3, 'Revision'),
    identifier: r.u32(o + 4, 'Identifier'),
    mappingCount,
    mappingOffset,
    mappings,
  };
  switch (ref.type) {
    case IORT_NODE_TYPE.ITS_GROUP: {
      needLength(ref, 20, s);
      const n = r.u32(o + 16, 'Number of ITSs');
      if (20 + n * 4 > ref.length) throw new ParseError(s, o + 16, `${n} ITS identifiers do not fit in the ${ref.length}-byte node`);
      node.itsIdentifiers = Array.from({ length: n }, (_, i) => r.u32(o + 20 + i * 4, 'GIC ITS Identifier'));
      break;
    }
    case IORT_NODE_TYPE.NAMED_COMPONENT: {
      needLength(ref, 30, s);
      node.flags = r.u32(o + 16, 'Node Flags');
      node.memoryAddressSizeLimit = r.u8(o + 28, 'Device Memory Address Size Limit');
      // The name runs from offset 29 to its NUL, before the ID mappings (or the node's end).
      const nameEnd = mappingCount > 0 ? Math.min(mappingOffset, ref.length) : ref.length;
      node.deviceName = nameEnd > 29 ? r.ascii(o + 29, nameEnd - 29, 'Device Object Name') : '';
      break;
    }
    case IORT_NODE_TYPE.ROOT_COMPLEX:
      needLength(ref, 32, s);
      node.atsAttribute = r.u32(o + 24, 'ATS Attribute');
      node.pciSegmentNumber = r.u32(o + 28, 'PCI Segment number');
      node.memoryAddressSizeLimit = node.revision >= 1 && ref.length >= 33 ? r.u8(o + 32, 'Memory address size limit') : null;
      break;
    case IORT_NODE_TYPE.SMMU_V1_V2:
      needLength(ref, 40, s);
      node.baseAddress = hex(r.u64(o + 16, 'Base Address'));
      node.model = r.u32(o + 32, 'Model');
      node.flags = r.u32(o + 36, 'Flags');
      break;
    case IORT_NODE_TYPE.SMMU_V3:
      needLength(ref, 44, s);
      node.baseAddress = hex(r.u64(o + 16, 'Base Address'));
      node.flags = r.u32(o + 24, 'Flags');
      node.model = r.u32(o + 40, 'Model');
      break;
    case IORT_NODE_TYPE.PMCG:
      needLength(ref, 32, s);
      node.baseAddress = hex(r.u64(o + 16, 'Page 0 Base Address'));
      node.overflowInterrupt = r.u32(o + 24, 'Overflow interrupt GSIV');
      node.nodeReference = r.u32(o + 28, 'Node reference');
      break;
    default:
      break; // RMR and reserved types: header and ID mappings only.
  }
  return node;
}
