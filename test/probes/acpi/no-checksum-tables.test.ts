import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAcpiTable } from '../../../probes/acpi/tables.js';
import { acpiEvidenceProbe } from '../../../probes/evidence/acpi.probe.js';
import { DirectorySysroot } from '../../../probes/sysroot/directory.js';
import { Memo } from '../../../probes/types.js';
import { cachedDir, run } from '../../fixtures/cache.js';
import { iaslVersion } from '../../fixtures/acpi-tables.js';
import { evidenceBundle, RECIPES } from '../../fixtures/evidence-bundles.js';
import { vmspec } from '../../cli/cli-runner.js';
import { alteredBundle } from '../evidence/altered-bundle.js';

/**
 * FACS, S3PT and FBPT are defined with a Signature and a Length but without
 * the common header's Checksum (ACPI 6.5 §5.2.10, §5.2.24): they are read per
 * their own definition and never judged by a checksum they do not have.
 * Tables are iasl's own templates (`iasl -T SIG`) compiled by iasl.
 */

const tables = cachedDir('acpi-no-checksum-tables', { v: 1, iasl: iaslVersion() }, (dir) => {
  for (const sig of ['FACS', 'S3PT']) {
    run('iasl', ['-T', sig], { cwd: dir });
    run('iasl', [`${sig.toLowerCase()}.asl`], { cwd: dir });
  }
});
const facs = readFileSync(join(tables, 'facs.aml'));
const s3pt = readFileSync(join(tables, 's3pt.aml'));
const work = mkdtempSync(join(tmpdir(), 'vmspec-no-checksum-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('FACS is read as a FACS: fields as iasl wrote them, no checksum', async (t) => {
  const p = parseAcpiTable(facs);
  t.equal(p.kind, 'FACS');
  t.match(p.table, { signature: 'FACS', length: 64, version: 2, hardwareSignature: 0, flags: 0 });
  t.notOk('header' in p.table, 'no common header is invented for it');
  let sum = 0;
  for (const b of facs) sum = (sum + b) & 0xff;
  t.not(sum, 0, 'the iasl FACS does not sum to zero: a header-style checksum check would call it corrupt');
});

t.test('S3PT is read as a performance record table: its records, no checksum', async (t) => {
  const p = parseAcpiTable(s3pt);
  t.equal(p.kind, 'S3PT');
  t.match(p.table, { signature: 'S3PT', length: 0x34, records: [{ offset: 8, type: 0, length: 0x18 }, { offset: 0x20, type: 1, length: 0x14 }] });
  const bad = Uint8Array.from(s3pt);
  bad[8 + 2] = 0xff; // first record's Length runs past the table
  t.throws(() => parseAcpiTable(bad), /S3PT.*record Length 255 at offset 8 runs past the table's Length 52/);
  const shortFacs = Uint8Array.from(facs);
  shortFacs[4] = 36;
  t.throws(() => parseAcpiTable(shortFacs), /FACS.*Length 36 is smaller than the 64 bytes/);
});

const base = evidenceBundle('acpiGicv3', RECIPES.acpiGicv3).dir;
const TABLES = '/sys/firmware/acpi/tables';

async function acpiFacts(dir: string) {
  return acpiEvidenceProbe.run({ evidence: new DirectorySysroot(dir), memo: new Memo() }, {});
}

function sbbr(dir: string) {
  const r = vmspec(['verify', '--evidence', dir, '--only', 'V2-ARCH-ACPI-SBBR', '--format', 'json']);
  const run = JSON.parse(r.stdout) as { results: { id: string; status: string; message: string }[] };
  return run.results.find((x) => x.id === 'V2-ARCH-ACPI-SBBR')!;
}

t.test('a passing table set plus a valid FACS and S3PT still passes V2-ARCH-ACPI-SBBR', async (t) => {
  const dir = alteredBundle(base, join(work, 'with-facs'), { write: { [`${TABLES}/FACS`]: facs, [`${TABLES}/S3PT`]: s3pt } });
  const f = await acpiFacts(dir);
  const rows = f.tables as { name: string; kind: string; checksumValid: boolean | null; parsed: boolean; length: number }[];
  t.match(rows.find((r) => r.name === 'FACS'), { kind: 'FACS', checksumValid: null, parsed: true, length: 64 });
  t.match(rows.find((r) => r.name === 'S3PT'), { kind: 'S3PT', checksumValid: null, parsed: true, length: 0x34 });
  t.equal(f.allChecksumsValid, true);
  t.equal(f.allParsed, true);
  t.match(sbbr(dir), { status: 'pass' });
});

t.test('a genuinely bad checksum still fails V2-ARCH-ACPI-SBBR', async (t) => {
  const gtdt = Uint8Array.from(readFileSync(join(base, TABLES, 'GTDT')));
  gtdt[9] = (gtdt[9]! + 1) & 0xff;
  const dir = alteredBundle(base, join(work, 'bad-gtdt'), { write: { [`${TABLES}/FACS`]: facs, [`${TABLES}/GTDT`]: gtdt } });
  const f = await acpiFacts(dir);
  t.equal(f.allChecksumsValid, false);
  t.match(sbbr(dir), { status: 'fail', message: /allChecksumsValid differs/ });
});
