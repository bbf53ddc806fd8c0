import { ParseError } from '../../bytes/errors.js';
import { LeReader } from '../../bytes/le-reader.js';
import { latin1 } from '../../bytes/text.js';

/** Size of the System Description Table Header (ACPI 6.5 §5.2.6, Table 5.4). */
export const HEADER_LENGTH = 36;

/** ACPI 6.5 §5.2.6 System Description Table Header, plus the checksum verdict. */
export interface AcpiTableHeader {
  signature: string;
  /** Length of the whole table in bytes, header included. */
  length: number;
  revision: number;
  /** The Checksum byte as stored. */
  checksum: number;
  /** All `length` bytes sum to zero mod 256. */
  checksumValid: boolean;
  /** The Checksum byte value that would make the table sum to zero. */
  checksumComputed: number;
  oemId: string;
  oemTableId: string;
  oemRevision: number;
  creatorId: string;
  creatorRevision: number;
}

/** Sum of bytes mod 256 (ACPI checksums: the covered bytes must sum to 0). */
export function byteSum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return sum;
}

/** The 4-byte signature as text, without reading the rest (for dispatch). */
export function tableSignature(bytes: Uint8Array): string {
  if (bytes.length < 4) throw new ParseError('ACPI table header', 0, `${bytes.length} bytes: too short for a signature`);
  return latin1(bytes.subarray(0, 4));
}

/**
 * Read and check the common header: the buffer holds at least 36 bytes,
 * Length is at least 36 and fits in the buffer (the buffer may be longer,
 * e.g. a slice of a bigger blob: only Length bytes belong to the table).
 */
export function parseTableHeader(bytes: Uint8Array, structure = 'ACPI table header'): AcpiTableHeader {
  if (bytes.length < HEADER_LENGTH) {
    throw new ParseError(structure, 0, `${bytes.length} bytes: too short for the ${HEADER_LENGTH}-byte table header`);
  }
  const r = new LeReader(bytes, structure, { span: 'table' });
  const length = r.u32(4, 'Length');
  if (length < HEADER_LENGTH) throw new ParseError(structure, 4, `Length ${length} is smaller than the ${HEADER_LENGTH}-byte header`);
  if (length > bytes.length) throw new ParseError(structure, 4, `Length ${length} is larger than the ${bytes.length} bytes available`);
  const checksum = r.u8(9, 'Checksum');
  const sum = byteSum(bytes, 0, length);
  return {
    signature: latin1(bytes.subarray(0, 4)),
    length,
    revision: r.u8(8, 'Revision'),
    checksum,
    checksumValid: sum === 0,
    checksumComputed: (checksum - sum) & 0xff,
    oemId: r.ascii(10, 6, 'OEMID'),
    oemTableId: r.ascii(16, 8, 'OEM Table ID'),
    oemRevision: r.u32(24, 'OEM Revision'),
    creatorId: r.ascii(28, 4, 'Creator ID'),
    creatorRevision: r.u32(32, 'Creator Revision'),
  };
}

/**
 * Open a table of an expected signature: its header, and a reader bounded
 * by the table's Length (so no field read can stray into what follows).
 */
export function openTable(bytes: Uint8Array, signature: string, structure: string): { header: AcpiTableHeader; r: LeReader } {
  const header = parseTableHeader(bytes, structure);
  if (header.signature !== signature) {
    throw new ParseError(structure, 0, `signature is ${JSON.stringify(header.signature)}, expected ${JSON.stringify(signature)}`);
  }
  return { header, r: new LeReader(bytes, structure, { span: 'table', limit: header.length }) };
}

/** A field that needs `minLength` bytes of table: its value, or null when the table (an older revision) is shorter. */
export function ifPresent<T>(r: LeReader, offset: number, size: number, read: () => T): T | null {
  return r.has(offset, size) ? read() : null;
}
