import { ParseError } from '../../bytes/errors.js';
import { type AcpiTableHeader, HEADER_LENGTH, openTable } from './header.js';
import { hex } from '../../bytes/hex.js';

/** Extended / Root System Description Table (ACPI 6.5 §5.2.8 XSDT, §5.2.7 RSDT): the list of table addresses. */
export interface Xsdt {
  header: AcpiTableHeader;
  /** Physical addresses of the other description tables, in order. */
  entries: string[];
}

/** XSDT: 64-bit entries (ACPI 6.5 §5.2.8, Table 5.8). */
export function parseXsdt(bytes: Uint8Array): Xsdt {
  return parseSdt(bytes, 'XSDT', 8);
}

/** RSDT: 32-bit entries (ACPI 6.5 §5.2.7, Table 5.7). */
export function parseRsdt(bytes: Uint8Array): Xsdt {
  return parseSdt(bytes, 'RSDT', 4);
}

function parseSdt(bytes: Uint8Array, signature: 'XSDT' | 'RSDT', size: 4 | 8): Xsdt {
  const { header, r } = openTable(bytes, signature, signature);
  const room = header.length - HEADER_LENGTH;
  if (room % size !== 0) {
    throw new ParseError(signature, HEADER_LENGTH + room - (room % size), `${room % size} trailing bytes: not a whole number of ${size}-byte entries`);
  }
  const entries: string[] = [];
  for (let o = HEADER_LENGTH; o < header.length; o += size) {
    entries.push(size === 8 ? hex(r.u64(o, 'Entry')) : hex(r.u32(o, 'Entry')));
  }
  return { header, entries };
}
