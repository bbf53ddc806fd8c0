import { ParseError } from '../../bytes/errors.js';
import { LeReader } from '../../bytes/le-reader.js';
import { latin1 } from '../../bytes/text.js';

/** The tables FPDT points to: S3 Performance Table and Firmware Basic Boot Performance Table. */
export const PERFORMANCE_RECORD_TABLE_SIGNATURES = ['S3PT', 'FBPT'] as const;
export type PerformanceRecordTableSignature = (typeof PERFORMANCE_RECORD_TABLE_SIGNATURES)[number];

/** Performance Record Header: Type, Record Length, Revision (ACPI 6.5 §5.2.24, FPDT). */
export interface PerformanceRecord {
  offset: number;
  type: number;
  length: number;
  revision: number;
}

/**
 * S3PT / FBPT (ACPI 6.5 §5.2.24, the tables FPDT points to):
 * only Signature and Length, then performance records. They have no
 * Revision, OEM fields or Checksum.
 */
export interface PerformanceRecordTable {
  signature: PerformanceRecordTableSignature;
  length: number;
  records: PerformanceRecord[];
}

const HEADER = 8;
const RECORD_HEADER = 4;

export function parsePerformanceRecordTable(bytes: Uint8Array): PerformanceRecordTable {
  if (bytes.length < HEADER) throw new ParseError('performance record table', 0, `${bytes.length} bytes: too short for Signature and Length`);
  const signature = latin1(bytes.subarray(0, 4));
  if (!(PERFORMANCE_RECORD_TABLE_SIGNATURES as readonly string[]).includes(signature)) {
    throw new ParseError('performance record table', 0, `signature is ${JSON.stringify(signature)}, expected "S3PT" or "FBPT"`);
  }
  const structure = signature;
  const length = new LeReader(bytes, structure, { span: 'table' }).u32(4, 'Length');
  if (length < HEADER) throw new ParseError(structure, 4, `Length ${length} is smaller than the ${HEADER}-byte header`);
  if (length > bytes.length) throw new ParseError(structure, 4, `Length ${length} is larger than the ${bytes.length} bytes available`);
  const r = new LeReader(bytes, structure, { span: 'table', limit: length });
  const records: PerformanceRecord[] = [];
  for (let o = HEADER; o < length;) {
    if (!r.has(o, RECORD_HEADER)) throw new ParseError(structure, o, `${length - o} trailing bytes: too short for a ${RECORD_HEADER}-byte performance record header`);
    const rec = { offset: o, type: r.u16(o, 'Performance Record Type'), length: r.u8(o + 2, 'Record Length'), revision: r.u8(o + 3, 'Revision') };
    if (rec.length < RECORD_HEADER) throw new ParseError(structure, o + 2, `record Length ${rec.length} is smaller than its ${RECORD_HEADER}-byte header`);
    if (o + rec.length > length) throw new ParseError(structure, o + 2, `record Length ${rec.length} at offset ${o} runs past the table's Length ${length}`);
    records.push(rec);
    o += rec.length;
  }
  return { signature: signature as PerformanceRecordTableSignature, length, records };
}
