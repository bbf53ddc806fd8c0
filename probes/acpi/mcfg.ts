import { ParseError } from '../../bytes/errors.js';
import { type AcpiTableHeader, openTable } from './header.js';
import { hex } from '../../bytes/hex.js';

/** Configuration space base address allocation structure (PCI Firmware Specification 3.3 §4.1.2, Table 4-3). */
export interface McfgAllocation {
  offset: number;
  /** Base address of the ECAM region. */
  baseAddress: string;
  pciSegmentGroup: number;
  startBusNumber: number;
  endBusNumber: number;
}

/** PCI Express memory-mapped configuration space table (PCI Firmware Specification 3.3 §4.1.2, Table 4-2). */
export interface Mcfg {
  header: AcpiTableHeader;
  allocations: McfgAllocation[];
}

const MCFG_ALLOCATIONS_START = 44;
const ALLOCATION_LENGTH = 16;

export function parseMcfg(bytes: Uint8Array): Mcfg {
  const { header, r } = openTable(bytes, 'MCFG', 'MCFG');
  if (header.length < MCFG_ALLOCATIONS_START) {
    throw new ParseError('MCFG', 4, `Length ${header.length} is less than the ${MCFG_ALLOCATIONS_START}-byte fixed part`);
  }
  const room = header.length - MCFG_ALLOCATIONS_START;
  if (room % ALLOCATION_LENGTH !== 0) {
    throw new ParseError('MCFG', MCFG_ALLOCATIONS_START + room - (room % ALLOCATION_LENGTH),
      `${room % ALLOCATION_LENGTH} trailing bytes: the allocations area is not a whole number of ${ALLOCATION_LENGTH}-byte entries`);
  }
  const allocations: McfgAllocation[] = [];
  for (let o = MCFG_ALLOCATIONS_START; o < header.length; o += ALLOCATION_LENGTH) {
    allocations.push({
      offset: o,
      baseAddress: hex(r.u64(o, 'Base Address')),
      pciSegmentGroup: r.u16(o + 8, 'PCI Segment Group Number'),
      startBusNumber: r.u8(o + 10, 'Start PCI bus number'),
      endBusNumber: r.u8(o + 11, 'End PCI bus number'),
    });
  }
  return { header, allocations };
}
