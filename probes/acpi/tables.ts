import { ParseError } from '../../bytes/errors.js';
import { type Dbg2, parseDbg2 } from './dbg2.js';
import { type Facs, parseFacs } from './facs.js';
import { type Fadt, parseFadt } from './fadt.js';
import { type Gtdt, parseGtdt } from './gtdt.js';
import { type AcpiTableHeader, parseTableHeader, tableSignature } from './header.js';
import { type Iort, parseIort } from './iort.js';
import { type Madt, parseMadt } from './madt.js';
import { type Mcfg, parseMcfg } from './mcfg.js';
import { type PerformanceRecordTable, parsePerformanceRecordTable } from './performance-record-table.js';
import { type Pptt, parsePptt } from './pptt.js';
import { type Rsdp, parseRsdp } from './rsdp.js';
import { type Spcr, parseSpcr } from './spcr.js';
import { type Xsdt, parseRsdt, parseXsdt } from './xsdt.js';

/** DSDT / SSDT (ACPI 6.5 §5.2.11): AML definition blocks; only the header is read. */
export interface DefinitionBlock {
  header: AcpiTableHeader;
}

/** A table parsed by the parser its signature selects. `kind` names the table as the spec does (FACP → FADT, APIC → MADT). */
export type ParsedAcpiTable =
  | { kind: 'RSDP'; table: Rsdp }
  | { kind: 'XSDT'; table: Xsdt }
  | { kind: 'RSDT'; table: Xsdt }
  | { kind: 'FADT'; table: Fadt }
  | { kind: 'MADT'; table: Madt }
  | { kind: 'GTDT'; table: Gtdt }
  | { kind: 'SPCR'; table: Spcr }
  | { kind: 'DBG2'; table: Dbg2 }
  | { kind: 'MCFG'; table: Mcfg }
  | { kind: 'IORT'; table: Iort }
  | { kind: 'PPTT'; table: Pptt }
  | { kind: 'DSDT'; table: DefinitionBlock }
  | { kind: 'SSDT'; table: DefinitionBlock }
  /** Structures with Signature and Length but no common header, hence no checksum. */
  | { kind: 'FACS'; table: Facs }
  | { kind: 'S3PT'; table: PerformanceRecordTable }
  | { kind: 'FBPT'; table: PerformanceRecordTable }
  /** Any other signature: header (and checksum) only. */
  | { kind: 'other'; table: DefinitionBlock };

export type AcpiTableKind = ParsedAcpiTable['kind'];

/** Signature → table name, for the tables with their own parser. */
export const TABLE_KINDS: Record<string, Exclude<AcpiTableKind, 'other' | 'RSDP'>> = {
  XSDT: 'XSDT',
  RSDT: 'RSDT',
  FACP: 'FADT',
  APIC: 'MADT',
  GTDT: 'GTDT',
  SPCR: 'SPCR',
  DBG2: 'DBG2',
  MCFG: 'MCFG',
  IORT: 'IORT',
  PPTT: 'PPTT',
  DSDT: 'DSDT',
  SSDT: 'SSDT',
};

/** Parse one table (or an RSDP), choosing the parser by signature. Throws ParseError on malformed input. */
export function parseAcpiTable(bytes: Uint8Array): ParsedAcpiTable {
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(0, 8)) === 'RSD PTR ') {
    return { kind: 'RSDP', table: parseRsdp(bytes) };
  }
  const signature = tableSignature(bytes);
  // Each structure is read per its own definition: these three have no common header and no Checksum.
  if (signature === 'FACS') return { kind: 'FACS', table: parseFacs(bytes) };
  if (signature === 'S3PT' || signature === 'FBPT') return { kind: signature, table: parsePerformanceRecordTable(bytes) };
  const kind = TABLE_KINDS[signature];
  switch (kind) {
    case 'XSDT': return { kind, table: parseXsdt(bytes) };
    case 'RSDT': return { kind, table: parseRsdt(bytes) };
    case 'FADT': return { kind, table: parseFadt(bytes) };
    case 'MADT': return { kind, table: parseMadt(bytes) };
    case 'GTDT': return { kind, table: parseGtdt(bytes) };
    case 'SPCR': return { kind, table: parseSpcr(bytes) };
    case 'DBG2': return { kind, table: parseDbg2(bytes) };
    case 'MCFG': return { kind, table: parseMcfg(bytes) };
    case 'IORT': return { kind, table: parseIort(bytes) };
    case 'PPTT': return { kind, table: parsePptt(bytes) };
    case 'DSDT':
    case 'SSDT': return { kind, table: { header: parseTableHeader(bytes, kind) } };
    default: return { kind: 'other', table: { header: parseTableHeader(bytes) } };
  }
}

/** The common System Description Table Header of a parsed table; null for the structures defined without one (RSDP, FACS, S3PT, FBPT). */
export function commonHeader(p: ParsedAcpiTable): AcpiTableHeader | null {
  switch (p.kind) {
    case 'RSDP': case 'FACS': case 'S3PT': case 'FBPT': return null;
    default: return p.table.header;
  }
}

/** The signature as the structure gives it ("RSDP" for the root pointer). */
export function parsedSignature(p: ParsedAcpiTable): string {
  return p.kind === 'RSDP' ? 'RSDP' : p.kind === 'FACS' || p.kind === 'S3PT' || p.kind === 'FBPT' ? p.table.signature : p.table.header.signature;
}

/** The outcome of parsing one named table file: facts, or the parse error as data. */
export type AcpiTableResult =
  | { name: string; ok: true; parsed: ParsedAcpiTable }
  | { name: string; ok: false; error: { structure: string; offset: number; message: string } };

/**
 * Parse a set of table files (e.g. /sys/firmware/acpi/tables: "APIC",
 * "SSDT1", …), keeping going past a malformed one: its ParseError becomes
 * data so one bad table cannot hide the facts of the others.
 */
export function parseAcpiTables(files: Iterable<readonly [string, Uint8Array]>): AcpiTableResult[] {
  const out: AcpiTableResult[] = [];
  for (const [name, bytes] of files) {
    try {
      out.push({ name, ok: true, parsed: parseAcpiTable(bytes) });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.push({ name, ok: false, error: { structure: e.structure, offset: e.offset, message: e.message } });
    }
  }
  return out;
}
