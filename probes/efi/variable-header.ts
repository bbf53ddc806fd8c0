import { guidText } from './guids.js';
import type { LeReader } from '../../bytes/le-reader.js';

/**
 * VARIABLE_HEADER and AUTHENTICATED_VARIABLE_HEADER
 * (MdeModulePkg/Include/Guid/VariableFormat.h, #pragma pack(1)); the
 * UTF-16LE name and the data follow the header with no padding
 * (ALIGNMENT is 1 on every architecture but IPF), and the next header
 * starts at HEADER_ALIGN (4 bytes).
 */

/** VARIABLE_DATA: VARIABLE_HEADER.StartId of every written header (VariableFormat.h). */
export const VARIABLE_DATA = 0x55aa;
/** HEADER_ALIGNMENT (VariableFormat.h). */
export const HEADER_ALIGNMENT = 4;
/** sizeof (VARIABLE_HEADER). */
export const VARIABLE_HEADER_BYTES = 32;
/** sizeof (AUTHENTICATED_VARIABLE_HEADER). */
export const AUTHENTICATED_VARIABLE_HEADER_BYTES = 60;

/** EFI_TIME (UEFI 2.10 §8.3 GetTime(); MdePkg/Include/Uefi/UefiBaseType.h). */
export interface EfiTime {
  Year: number;
  Month: number;
  Day: number;
  Hour: number;
  Minute: number;
  Second: number;
  Nanosecond: number;
  /** INT16 TimeZone: minutes from UTC, 0x07FF = EFI_UNSPECIFIED_TIMEZONE. */
  TimeZone: number;
  Daylight: number;
}

/** The fields only AUTHENTICATED_VARIABLE_HEADER has. */
export interface AuthenticatedFields {
  /** UINT64 MonotonicCount: replay protection for count-based authentication. */
  MonotonicCount: bigint;
  /** EFI_TIME TimeStamp: replay protection for time-based authentication. */
  TimeStamp: EfiTime;
  /** UINT32 PubKeyIndex: index into the public key database. */
  PubKeyIndex: number;
}

export interface VariableHeader {
  /** UINT16 StartId: VARIABLE_DATA (0x55AA). */
  StartId: number;
  /** UINT8 State: see variable-state.ts. */
  State: number;
  /** UINT32 Attributes: EFI_VARIABLE_* bits. */
  Attributes: number;
  /** UINT32 NameSize: bytes of the NUL-terminated UTF-16 name. */
  NameSize: number;
  /** UINT32 DataSize: bytes of data. */
  DataSize: number;
  /** EFI_GUID VendorGuid, lower-case canonical text. */
  VendorGuid: string;
  /** Present for AUTHENTICATED_VARIABLE_HEADER. */
  auth?: AuthenticatedFields;
  /** sizeof the header kind read (32 or 60). */
  headerBytes: number;
}

/** StartId at `offset`, or undefined when fewer than 2 bytes remain. */
export function peekStartId(r: LeReader, offset: number): number | undefined {
  return r.has(offset, 2) ? r.as('VARIABLE_HEADER').u16(offset, 'StartId') : undefined;
}

function efiTime(r: LeReader, o: number): EfiTime {
  return {
    Year: r.u16(o, 'TimeStamp.Year'),
    Month: r.u8(o + 2, 'TimeStamp.Month'),
    Day: r.u8(o + 3, 'TimeStamp.Day'),
    Hour: r.u8(o + 4, 'TimeStamp.Hour'),
    Minute: r.u8(o + 5, 'TimeStamp.Minute'),
    Second: r.u8(o + 6, 'TimeStamp.Second'),
    Nanosecond: r.u32(o + 8, 'TimeStamp.Nanosecond'),
    TimeZone: r.i16(o + 12, 'TimeStamp.TimeZone'),
    Daylight: r.u8(o + 14, 'TimeStamp.Daylight'),
  };
}

/** The header at `offset` (the caller has checked it fits). */
export function parseVariableHeader(input: LeReader, offset: number, authenticated: boolean): VariableHeader {
  if (authenticated) {
    const r = input.as('AUTHENTICATED_VARIABLE_HEADER');
    return {
      StartId: r.u16(offset, 'StartId'),
      State: r.u8(offset + 2, 'State'),
      Attributes: r.u32(offset + 4, 'Attributes'),
      auth: {
        MonotonicCount: r.u64(offset + 8, 'MonotonicCount'),
        TimeStamp: efiTime(r, offset + 16),
        PubKeyIndex: r.u32(offset + 32, 'PubKeyIndex'),
      },
      NameSize: r.u32(offset + 36, 'NameSize'),
      DataSize: r.u32(offset + 40, 'DataSize'),
      VendorGuid: guidText(r.slice(offset + 44, 16, 'VendorGuid')),
      headerBytes: AUTHENTICATED_VARIABLE_HEADER_BYTES,
    };
  }
  const r = input.as('VARIABLE_HEADER');
  return {
    StartId: r.u16(offset, 'StartId'),
    State: r.u8(offset + 2, 'State'),
    Attributes: r.u32(offset + 4, 'Attributes'),
    NameSize: r.u32(offset + 8, 'NameSize'),
    DataSize: r.u32(offset + 12, 'DataSize'),
    VendorGuid: guidText(r.slice(offset + 16, 16, 'VendorGuid')),
    headerBytes: VARIABLE_HEADER_BYTES,
  };
}

/**
 * edk2's NameSizeOfVariable()/DataSizeOfVariable() (VariableParsing.c):
 * a header whose State, NameSize, DataSize or Attributes is still all-ones
 * was interrupted while being written, and counts as empty.
 */
export function effectiveSizes(h: VariableHeader): { nameSize: number; dataSize: number } {
  const interrupted = h.State === 0xff || h.NameSize === 0xffffffff || h.DataSize === 0xffffffff || h.Attributes === 0xffffffff;
  return interrupted ? { nameSize: 0, dataSize: 0 } : { nameSize: h.NameSize, dataSize: h.DataSize };
}

/** HEADER_ALIGN(offset). */
export function headerAlign(offset: number): number {
  return Math.ceil(offset / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
}
