import type { Dbg2 } from '../acpi/dbg2.js';
import type { Fadt } from '../acpi/fadt.js';
import type { Gtdt } from '../acpi/gtdt.js';
import type { Iort } from '../acpi/iort.js';
import type { Madt } from '../acpi/madt.js';
import type { Mcfg } from '../acpi/mcfg.js';
import type { Pptt } from '../acpi/pptt.js';
import type { Spcr } from '../acpi/spcr.js';
import { parseAcpiTables, parsedSignature, type AcpiTableResult } from '../acpi/tables.js';
import type { Tracker } from './read.js';

export const ACPI_TABLES_DIR = '/sys/firmware/acpi/tables';
/** A table file larger than this is refused (the largest real DSDTs are a few hundred KiB). */
const MAX_TABLE_BYTES = 16 * 1024 * 1024;

export interface LoadedAcpi {
  /** The directory exists with at least one table file. */
  present: boolean;
  results: AcpiTableResult[];
  fadt?: Fadt;
  madt?: Madt;
  gtdt?: Gtdt;
  spcr?: Spcr;
  dbg2?: Dbg2;
  mcfg?: Mcfg;
  iort?: Iort;
  pptt?: Pptt;
}

/**
 * The tables Linux exposes in /sys/firmware/acpi/tables (one file per table,
 * "SSDT1", "SSDT2"… for repeats; the dynamic/ and data/ subdirectories are
 * not tables), parsed once per run. Linux only populates the directory when
 * it runs with ACPI, so its presence also tells how the guest booted.
 */
export function loadAcpi(t: Tracker): LoadedAcpi {
  return t.derived('acpi', (s) => {
    const names = s.list(ACPI_TABLES_DIR);
    if (names === undefined) return { present: false, results: [] };
    const files: [string, Uint8Array][] = [];
    const unreadable: string[] = [];
    for (const name of names) {
      if (s.isDir(`${ACPI_TABLES_DIR}/${name}`)) continue;
      const bytes = s.bytes(`${ACPI_TABLES_DIR}/${name}`, MAX_TABLE_BYTES);
      if (bytes !== undefined) files.push([name, bytes]);
      else unreadable.push(name);
    }
    // A table that is there but could not be read (live, not root) is reported as not parsed, never as absent.
    const results: AcpiTableResult[] = [
      ...parseAcpiTables(files),
      ...unreadable.map((name): AcpiTableResult => ({ name, ok: false, error: { structure: name, offset: -1, message: `${ACPI_TABLES_DIR}/${name} could not be read` } })),
    ];
    const loaded: LoadedAcpi = { present: results.length > 0, results };
    // The first table of each kind is the one the OS uses (Linux: acpi_get_table(sig, 1)).
    for (const r of results) {
      if (!r.ok) continue;
      const p = r.parsed;
      if (p.kind === 'FADT') loaded.fadt ??= p.table;
      else if (p.kind === 'MADT') loaded.madt ??= p.table;
      else if (p.kind === 'GTDT') loaded.gtdt ??= p.table;
      else if (p.kind === 'SPCR') loaded.spcr ??= p.table;
      else if (p.kind === 'DBG2') loaded.dbg2 ??= p.table;
      else if (p.kind === 'MCFG') loaded.mcfg ??= p.table;
      else if (p.kind === 'IORT') loaded.iort ??= p.table;
      else if (p.kind === 'PPTT') loaded.pptt ??= p.table;
    }
    return loaded;
  });
}

/** The table's signature as its header gives it (the file name for one that did not parse). */
export function signatureOf(r: AcpiTableResult): string {
  if (!r.ok) return r.name.replace(/\d+$/, '');
  return parsedSignature(r.parsed);
}
