import type { LeReader } from '../../bytes/le-reader.js';
import { hex } from '../../bytes/hex.js';

/** Generic Address Structure (ACPI 6.5 §5.2.3.2, Table 5.1): 12 bytes. */
export interface GenericAddress {
  /** Address Space ID: 0 SystemMemory, 1 SystemIO, … */
  spaceId: number;
  spaceName: string;
  bitWidth: number;
  bitOffset: number;
  /** Access Size: 0 undefined (legacy), 1 byte, 2 word, 3 dword, 4 qword. */
  accessWidth: number;
  address: string;
}

export const GAS_LENGTH = 12;

/** Address Space ID names as ACPI 6.5 Table 5.2 gives them. */
const SPACE_NAMES: Record<number, string> = {
  0x00: 'SystemMemory',
  0x01: 'SystemIO',
  0x02: 'PCI Configuration',
  0x03: 'Embedded Controller',
  0x04: 'SMBus',
  0x05: 'SystemCMOS',
  0x06: 'PciBarTarget',
  0x07: 'IPMI',
  0x08: 'General PurposeIO',
  0x09: 'GenericSerialBus',
  0x0a: 'Platform Communications Channel',
  0x0b: 'Platform Runtime Mechanism',
  0x7f: 'Functional Fixed Hardware',
};

export function addressSpaceName(id: number): string {
  return SPACE_NAMES[id] ?? (id >= 0x80 ? 'OEM Defined' : 'Reserved');
}

export function readGas(r: LeReader, offset: number, what = 'Generic Address Structure'): GenericAddress {
  r.need(offset, GAS_LENGTH, what);
  const spaceId = r.u8(offset);
  return {
    spaceId,
    spaceName: addressSpaceName(spaceId),
    bitWidth: r.u8(offset + 1),
    bitOffset: r.u8(offset + 2),
    accessWidth: r.u8(offset + 3),
    address: hex(r.u64(offset + 4)),
  };
}
