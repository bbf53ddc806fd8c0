import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteSum } from '../../../probes/acpi/header.js';
import { parseAcpiTable } from '../../../probes/acpi/tables.js';
import { QEMU_VARIANTS, armDataTables, iaslTemplates, qemuVirtAcpi } from '../../fixtures/acpi-tables.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * Every ACPI table parser (RSDP, XSDT/RSDT, FADT, MADT, GTDT, SPCR, DBG2,
 * MCFG, IORT, PPTT, DSDT/SSDT headers) through parseAcpiTable, on QEMU
 * virt's real tables, iasl's templates and our ARM data tables. Fields:
 * the header Length and every byte and aligned word of the body, where
 * subtable types, lengths, counts and offsets live.
 */

function tableSeed(name: string, bytes: Uint8Array): Seed {
  const fields: Field[] = [{ at: 4, width: 4, endian: 'le', name: 'Length', values: [0n, 35n, 36n, BigInt(bytes.length - 1), BigInt(bytes.length + 1)] }];
  const end = Math.min(bytes.length, 400);
  for (let at = 36; at < end; at++) fields.push({ at, width: 1, endian: 'le', name: `byte ${at}` });
  for (let at = 36; at + 4 <= end; at += 4) fields.push({ at, width: 4, endian: 'le', name: `u32 ${at}` });
  for (let at = 36; at + 2 <= end; at += 2) fields.push({ at, width: 2, endian: 'le', name: `u16 ${at}` });
  return { name, bytes, fields };
}

export const acpiTarget: FuzzTarget = {
  name: 'acpi',
  runs: 5000,
  randomMaxLength: 512,
  randomWeight: 1,
  seeds: () => {
    const out: Seed[] = [];
    for (const variant of ['gicv2', 'gicv3-smp4'] as const) {
      const q = qemuVirtAcpi(QEMU_VARIANTS[variant]!);
      for (const [sig, f] of Object.entries(q.tables)) out.push(tableSeed(`qemu-${variant}-${sig}`, new Uint8Array(readFileSync(join(q.dir, f)))));
    }
    for (const [label, dir] of [['iasl', iaslTemplates()], ['arm', armDataTables()]] as const) {
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.aml') && !/^(dsdt|ssdt)/.test(n)).sort()) {
        out.push(tableSeed(`${label}-${f}`, new Uint8Array(readFileSync(join(dir, f)))));
      }
    }
    return out;
  },
  // A table with a good checksum takes the same paths as one without: re-sealing widens nothing, but firmware-like inputs are realistic.
  fixup(b) {
    if (b.length >= 36 && Buffer.from(b.subarray(0, 8)).toString('latin1') !== 'RSD PTR ') {
      const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, true);
      if (len <= b.length && len >= 36) b[9] = ((b[9] ?? 0) - byteSum(b, 0, len)) & 0xff;
    }
  },
  run(bytes) {
    const parsed = parseAcpiTable(bytes);
    JSON.stringify(parsed);
    return parsed;
  },
};
