import { ParseError } from '../../bytes/errors.js';
import { GAS_LENGTH, type GenericAddress, readGas } from './gas.js';
import { type AcpiTableHeader, HEADER_LENGTH, openTable } from './header.js';
import { dbg2PortSubtypeName, dbg2PortTypeName } from './serial-port-types.js';
import { walkSubtables } from './subtables.js';

/** Debug Device Information structure (Microsoft DBG2 specification, Table 2). */
export interface Dbg2Device {
  offset: number;
  revision: number;
  length: number;
  numberOfGenericAddressRegisters: number;
  /** ACPI namespace path of the device ("." when none). */
  namespaceString: string;
  oemDataLength: number;
  oemDataOffset: number;
  portType: number;
  portTypeName: string;
  portSubtype: number;
  portSubtypeName: string;
  baseAddressRegisters: GenericAddress[];
  addressSizes: number[];
}

/** Debug Port Table 2 (Microsoft DBG2 specification, Table 1). */
export interface Dbg2 {
  header: AcpiTableHeader;
  offsetDbgDeviceInfo: number;
  numberDbgDeviceInfo: number;
  devices: Dbg2Device[];
}

/** The fixed part of a Debug Device Information structure. */
const DEVICE_FIXED_LENGTH = 22;
const DBG2_FIXED_LENGTH = 44;

export function parseDbg2(bytes: Uint8Array): Dbg2 {
  const { header, r } = openTable(bytes, 'DBG2', 'DBG2');
  r.need(HEADER_LENGTH, DBG2_FIXED_LENGTH - HEADER_LENGTH, 'OffsetDbgDeviceInfo and NumberDbgDeviceInfo');
  const offsetDbgDeviceInfo = r.u32(36, 'OffsetDbgDeviceInfo');
  const numberDbgDeviceInfo = r.u32(40, 'NumberDbgDeviceInfo');
  if (numberDbgDeviceInfo > 0 && offsetDbgDeviceInfo < DBG2_FIXED_LENGTH) {
    throw new ParseError('DBG2', 36, `OffsetDbgDeviceInfo ${offsetDbgDeviceInfo} points into the table's fixed fields`);
  }
  const refs = numberDbgDeviceInfo === 0 ? [] : walkSubtables(r, offsetDbgDeviceInfo, header.length, {
    structure: 'DBG2 Debug Device Information',
    lengthSize: 2,
    minLength: DEVICE_FIXED_LENGTH,
    count: numberDbgDeviceInfo,
  });
  const devices = Array.from(refs, ({ offset: o, length }): Dbg2Device => {
    const s = 'DBG2 Debug Device Information';
    // Every offset in the structure is relative to its start and must stay inside its Length.
    const inside = (field: number, off: number, size: number, what: string) => {
      if (off + size > length || (size > 0 && off < DEVICE_FIXED_LENGTH)) {
        throw new ParseError(s, o + field, `${what} (offset ${off}, ${size} bytes) is outside the ${length}-byte structure`);
      }
    };
    const count = r.u8(o + 3, 'NumberofGenericAddressRegisters');
    const nsLength = r.u16(o + 4, 'NameSpaceStringLength');
    const nsOffset = r.u16(o + 6, 'NameSpaceStringOffset');
    const oemDataLength = r.u16(o + 8, 'OemDataLength');
    const oemDataOffset = r.u16(o + 10, 'OemDataOffset');
    const portType = r.u16(o + 12, 'Port Type');
    const portSubtype = r.u16(o + 14, 'Port Subtype');
    const barOffset = r.u16(o + 18, 'BaseAddressRegisterOffset');
    const sizeOffset = r.u16(o + 20, 'AddressSizeOffset');
    inside(18, barOffset, count * GAS_LENGTH, 'BaseAddressRegister array');
    inside(20, sizeOffset, count * 4, 'AddressSize array');
    inside(6, nsOffset, nsLength, 'NamespaceString');
    if (oemDataLength > 0) inside(10, oemDataOffset, oemDataLength, 'OemData');
    const baseAddressRegisters: GenericAddress[] = [];
    const addressSizes: number[] = [];
    for (let i = 0; i < count; i++) {
      baseAddressRegisters.push(readGas(r, o + barOffset + i * GAS_LENGTH, 'BaseAddressRegister'));
      addressSizes.push(r.u32(o + sizeOffset + i * 4, 'AddressSize'));
    }
    return {
      offset: o,
      revision: r.u8(o, 'Revision'),
      length,
      numberOfGenericAddressRegisters: count,
      namespaceString: nsLength > 0 ? r.ascii(o + nsOffset, nsLength, 'NamespaceString') : '',
      oemDataLength,
      oemDataOffset,
      portType,
      portTypeName: dbg2PortTypeName(portType),
      portSubtype,
      portSubtypeName: dbg2PortSubtypeName(portType, portSubtype),
      baseAddressRegisters,
      addressSizes,
    };
  });
  return { header, offsetDbgDeviceInfo, numberDbgDeviceInfo, devices };
}
