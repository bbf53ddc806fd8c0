import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseTableHeader } from '../../../probes/acpi/header.js';
import { parseRsdp } from '../../../probes/acpi/rsdp.js';
import { parseAcpiTable, parseAcpiTables } from '../../../probes/acpi/tables.js';
import { parseRsdt, parseXsdt } from '../../../probes/acpi/xsdt.js';
import { parseMadt } from '../../../probes/acpi/madt.js';
import {
  QEMU_VARIANTS, armDataTables, checkHeader, disassemble, dslHex64, iaslTemplates, mutate, qemuTables, qemuVirtAcpi, readDsl,
} from '../../fixtures/acpi-tables.js';

/** Every binary with a disassembly: QEMU's tables (all variants), iasl's templates, our ARM tables. */
function allFixtures(): { label: string; bytes: Uint8Array; dslPath: string }[] {
  const out: { label: string; bytes: Uint8Array; dslPath: string }[] = [];
  for (const [variant, machine] of Object.entries(QEMU_VARIANTS)) {
    const q = qemuVirtAcpi(machine);
    for (const [sig, file] of Object.entries(q.tables)) {
      if (sig === 'RSDP') continue;
      out.push({ label: `qemu ${variant} ${sig}`, bytes: readFileSync(join(q.dir, file)), dslPath: join(q.dir, file.replace(/\.bin$/, '.dsl')) });
    }
  }
  for (const dir of [iaslTemplates(), armDataTables()]) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.aml') && !n.startsWith('rsdp'))) {
      out.push({ label: f, bytes: readFileSync(join(dir, f)), dslPath: join(dir, f.replace(/\.aml$/, '.dsl')) });
    }
  }
  return out;
}

t.test('common header of every fixture table matches iasl -d', async (t) => {
  const fixtures = allFixtures();
  t.ok(fixtures.length >= 40, `${fixtures.length} tables`);
  for (const f of fixtures) {
    t.test(f.label, async (t) => {
      const h = parseTableHeader(f.bytes);
      checkHeader(t, h, readDsl(f.dslPath));
      t.equal(h.checksumValid, true, 'real tables have valid checksums');
    });
  }
});

t.test('bad checksum: reported invalid, computed value is what iasl says it should be', async (t) => {
  for (const f of [...qemuTables('SPCR'), ...qemuTables('APIC').slice(0, 1)]) {
    const bad = mutate(f.bytes, (_, b) => { b[9] = ((b[9] ?? 0) + 0x11) & 0xff; }, false);
    const h = parseTableHeader(bad);
    t.equal(h.checksumValid, false, `${f.label}: invalid`);
    t.equal(h.checksumComputed, parseTableHeader(f.bytes).checksum, 'computed = the original checksum');
    checkHeader(t, h, disassemble(bad));
  }
  // A changed body byte with the stored checksum left alone is caught the same way.
  const [spcr] = qemuTables('SPCR');
  if (!spcr) throw new Error('no SPCR');
  const body = mutate(spcr.bytes, (_, b) => { b[58] = 7; }, false);
  t.equal(parseTableHeader(body).checksumValid, false);
  checkHeader(t, parseTableHeader(body), disassemble(body));
});

t.test('Length is checked against the buffer and the header size', async (t) => {
  const [madt] = qemuTables('APIC');
  if (!madt) throw new Error('no MADT');
  const tooLong = mutate(madt.bytes, (dv) => dv.setUint32(4, madt.bytes.length + 1, true));
  t.throws(() => parseTableHeader(tooLong), { name: 'ParseError', offset: 4, message: /larger than the \d+ bytes available/ });
  t.throws(() => parseMadt(tooLong), { name: 'ParseError', structure: 'MADT' });
  const tooShort = mutate(madt.bytes, (dv) => dv.setUint32(4, 35, true));
  t.throws(() => parseTableHeader(tooShort), { name: 'ParseError', offset: 4, message: /smaller than the 36-byte header/ });
  t.throws(() => parseTableHeader(madt.bytes.subarray(0, 35)), { name: 'ParseError', message: /too short/ });
  t.throws(() => parseTableHeader(new Uint8Array(0)), { name: 'ParseError' });
  // Truncated: the buffer ends before Length says.
  t.throws(() => parseMadt(madt.bytes.subarray(0, madt.bytes.length - 1)), { name: 'ParseError', structure: 'MADT' });
});

t.test('only Length bytes belong to the table: trailing bytes are ignored', async (t) => {
  for (const f of qemuTables('APIC')) {
    const padded = new Uint8Array(f.bytes.length + 64).fill(0xff);
    padded.set(f.bytes);
    t.same(parseMadt(padded), parseMadt(f.bytes), f.label);
  }
});

t.test('wrong signature for the parser is a ParseError', async (t) => {
  const [fadt] = qemuTables('FACP');
  if (!fadt) throw new Error('no FADT');
  t.throws(() => parseMadt(fadt.bytes), { name: 'ParseError', structure: 'MADT', offset: 0, message: /"FACP", expected "APIC"/ });
});

t.test('XSDT entries match iasl', async (t) => {
  for (const f of qemuTables('XSDT')) {
    const x = parseXsdt(f.bytes);
    const addrs = f.dsl.filter((d) => /^ACPI Table Address\s+\d+$/.test(d.name));
    t.same(x.entries, addrs.map(dslHex64), f.label);
    t.equal(x.entries.length, (x.header.length - 36) / 8);
  }
  const tpl = readDsl(join(iaslTemplates(), 'xsdt.dsl'));
  const x = parseXsdt(readFileSync(join(iaslTemplates(), 'xsdt.aml')));
  t.same(x.entries, tpl.filter((d) => /^ACPI Table Address\s+\d+$/.test(d.name)).map(dslHex64), 'template');
  const [xsdt] = qemuTables('XSDT');
  if (!xsdt) throw new Error('no XSDT');
  const ragged = mutate(xsdt.bytes.subarray(0, xsdt.bytes.length - 4), (dv) => dv.setUint32(4, xsdt.bytes.length - 4, true));
  t.throws(() => parseXsdt(ragged), { name: 'ParseError', message: /trailing bytes/ });
  t.throws(() => parseRsdt(xsdt.bytes), { name: 'ParseError' }, 'an XSDT is not an RSDT');
});

t.test('RSDP: QEMU (linked as firmware does) and the iasl template', async (t) => {
  for (const [variant, machine] of Object.entries(QEMU_VARIANTS)) {
    const q = qemuVirtAcpi(machine);
    const bytes = readFileSync(join(q.dir, 'RSDP.bin'));
    const rsdp = parseRsdp(bytes);
    t.equal(rsdp.signature, 'RSD PTR ', variant);
    t.equal(rsdp.revision, 2);
    t.equal(rsdp.length, 36);
    t.equal(rsdp.checksumValid, true);
    t.equal(rsdp.extendedChecksumValid, true);
    t.equal(rsdp.oemId, 'BOCHS ');
    t.equal(rsdp.rsdtAddress, '0x0', 'QEMU virt gives no RSDT');
    t.not(rsdp.xsdtAddress, null);
    const bad = Uint8Array.from(bytes);
    bad[8] = ((bad[8] ?? 0) ^ 1) & 0xff;
    t.equal(parseRsdp(bad).checksumValid, false, 'v1 checksum covers the first 20 bytes');
    t.equal(parseRsdp(bad).extendedChecksumValid, false, 'extended checksum covers all 36');
    t.same(parseAcpiTable(bytes), { kind: 'RSDP', table: rsdp }, 'dispatch recognises "RSD PTR "');
  }
  // iasl cannot disassemble an RSDP; its template source states the values compiled in.
  const dir = iaslTemplates();
  const src = readFileSync(join(dir, 'rsdp.asl'), 'utf8');
  const field = (name: string) => new RegExp(`\\]\\s+${name} : (\\S+)`).exec(src)?.[1] ?? 'missing';
  const rsdp = parseRsdp(readFileSync(join(dir, 'rsdp.aml')));
  t.equal(rsdp.checksum, parseInt(field('Checksum'), 16));
  t.equal(rsdp.oemId, JSON.parse(/Oem ID : (".*")/.exec(src)?.[1] ?? '""'));
  t.equal(rsdp.revision, parseInt(field('Revision'), 16));
  t.equal(rsdp.rsdtAddress, `0x${parseInt(field('RSDT Address'), 16).toString(16)}`);
  t.equal(rsdp.length, parseInt(field('Length'), 16));
  t.equal(rsdp.xsdtAddress, `0x${BigInt(`0x${field('XSDT Address')}`).toString(16)}`);
  t.equal(rsdp.extendedChecksum, parseInt(field('Extended Checksum'), 16));
  t.equal(rsdp.checksumValid, true);
  t.equal(rsdp.extendedChecksumValid, true);
  // Malformed RSDPs.
  t.throws(() => parseRsdp(new Uint8Array(19)), { name: 'ParseError' });
  t.throws(() => parseRsdp(new TextEncoder().encode('RSD PTX '.padEnd(36, '\0'))), { name: 'ParseError', message: /expected "RSD PTR "/ });
  const short = readFileSync(join(dir, 'rsdp.aml')).subarray(0, 24);
  t.throws(() => parseRsdp(short), { name: 'ParseError' }, 'revision 2 needs 36 bytes');
  const long = Uint8Array.from(readFileSync(join(dir, 'rsdp.aml')));
  new DataView(long.buffer).setUint32(20, 1000, true);
  t.throws(() => parseRsdp(long), { name: 'ParseError', offset: 20 });
  // ACPI 1.0 RSDP: 20 bytes, no XSDT.
  const v1 = Uint8Array.from(readFileSync(join(dir, 'rsdp.aml')).subarray(0, 20));
  v1[15] = 0;
  v1[8] = 0;
  let sum = 0;
  for (const b of v1) sum += b;
  v1[8] = (256 - (sum & 0xff)) & 0xff;
  t.match(parseRsdp(v1), { revision: 0, checksumValid: true, length: null, xsdtAddress: null, extendedChecksumValid: null });
});

t.test('dispatch by signature and a table set with one bad table', async (t) => {
  const q = qemuVirtAcpi(QEMU_VARIANTS['gicv3-smp4'] ?? []);
  const files = Object.entries(q.tables).map(([name, f]) => [name, new Uint8Array(readFileSync(join(q.dir, f)))] as const);
  const kinds = Object.fromEntries(files.map(([name, b]) => [name, parseAcpiTable(b).kind]));
  t.same(kinds, {
    RSDP: 'RSDP', XSDT: 'XSDT', FACP: 'FADT', DSDT: 'DSDT', APIC: 'MADT', PPTT: 'PPTT', GTDT: 'GTDT', MCFG: 'MCFG', SPCR: 'SPCR', DBG2: 'DBG2', IORT: 'IORT',
  });
  const dsdt = parseAcpiTable(files.find(([n]) => n === 'DSDT')?.[1] ?? new Uint8Array());
  t.match(dsdt, { kind: 'DSDT', table: { header: { checksumValid: true } } });
  const unknown = mutate(files.find(([n]) => n === 'DSDT')?.[1] ?? new Uint8Array(), (_, b) => b.set([0x57, 0x41, 0x45, 0x54], 0)); // "WAET"
  t.match(parseAcpiTable(unknown), { kind: 'other', table: { header: { signature: 'WAET', checksumValid: true } } });
  const broken = mutate(files.find(([n]) => n === 'APIC')?.[1] ?? new Uint8Array(), (_, b) => { b[45] = 0; }); // first subtable Length 0
  const results = parseAcpiTables([...files, ['APIC-broken', broken]]);
  t.equal(results.filter((r) => r.ok).length, files.length);
  const bad = results.find((r) => r.name === 'APIC-broken');
  t.match(bad, { ok: false, error: { structure: 'MADT interrupt controller structure', offset: 44 } });
  t.same(JSON.parse(JSON.stringify(results)), results, 'results are plain JSON');
});
