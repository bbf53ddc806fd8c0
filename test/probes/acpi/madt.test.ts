import t from 'tap';
import { hex } from '../../../bytes/hex.js';
import { type Madt, parseMadt } from '../../../probes/acpi/madt.js';
import {
  type DslField, type Eq, type TableFixture, amlFixture, armDataTables, buildTable, checkHeader, disassemble, dslAt, dslBit, dslHex, dslHex64,
  iaslTemplates, mutate, qemuTables,
} from '../../fixtures/acpi-tables.js';

/** Every field the MADT parser reports, checked against iasl's disassembly at the same offsets. */
function checkMadt(t: Eq, m: Madt, dsl: DslField[]): void {
  checkHeader(t, m.header, dsl);
  t.equal(m.localInterruptControllerAddress, dslHex64(dslAt(dsl, 36, 'Local Apic Address')), 'Local Interrupt Controller Address');
  const flags = dslAt(dsl, 40, 'Flags (decoded below)');
  t.equal(m.flags, dslHex(flags), 'Flags');
  t.equal(m.pcatCompat, dslBit(flags, 'PC-AT Compatibility'), 'PCAT_COMPAT');
  // The walk finds exactly the subtables iasl finds, with the same types and lengths.
  const ours = [
    ...m.gicc.map((x) => [x.offset, 0x0b]), ...m.gicd.map((x) => [x.offset, 0x0c]), ...m.gicMsiFrames.map((x) => [x.offset, 0x0d]),
    ...m.gicr.map((x) => [x.offset, 0x0e]), ...m.gicIts.map((x) => [x.offset, 0x0f]), ...m.other.map((x) => [x.offset, x.type]),
  ].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  t.same(ours, dsl.filter((f) => f.name === 'Subtable Type').map((f) => [f.offset, dslHex(f)]), 'subtable offsets and types');
  for (const x of m.other) t.equal(x.length, dslHex(dslAt(dsl, x.offset + 1, 'Length')), `other subtable at ${x.offset}: Length`);
  for (const c of m.gicc) {
    const o = c.offset;
    const at = (d: number, name: string) => dslAt(dsl, o + d, name);
    t.equal(c.length, dslHex(at(1, 'Length')), 'GICC Length');
    t.equal(c.cpuInterfaceNumber, dslHex(at(4, 'CPU Interface Number')), 'GICC CPU Interface Number');
    t.equal(c.uid, dslHex(at(8, 'Processor UID')), 'GICC ACPI Processor UID');
    const f = at(12, 'Flags (decoded below)');
    t.equal(c.flags, dslHex(f), 'GICC Flags');
    t.equal(c.enabled, dslBit(f, 'Processor Enabled'), 'GICC Enabled');
    t.equal(c.performanceInterruptEdge, dslBit(f, 'Performance Interrupt Trigger Mode'), 'GICC performance interrupt mode');
    t.equal(c.parkingVersion, dslHex(at(16, 'Parking Protocol Version')), 'GICC Parking Protocol Version');
    t.equal(c.performanceInterrupt, dslHex(at(20, 'Performance Interrupt')), 'GICC Performance Interrupt');
    t.equal(c.parkedAddress, dslHex64(at(24, 'Parked Address')), 'GICC Parked Address');
    t.equal(c.baseAddress, dslHex64(at(32, 'Base Address')), 'GICC Physical Base Address');
    const opt = (d: number, name: string, v: string | number | null, conv: (f: DslField) => string | number) => {
      const f = dsl.find((x) => x.offset === o + d && x.name === name);
      t.equal(v, f && d < c.length ? conv(f) : null, `GICC ${name}`);
    };
    opt(40, 'Virtual GIC Base Address', c.gicvBaseAddress, dslHex64);
    opt(48, 'Hypervisor GIC Base Address', c.gichBaseAddress, dslHex64);
    opt(56, 'Virtual GIC Interrupt', c.vgicInterrupt, dslHex);
    opt(60, 'Redistributor Base Address', c.gicrBaseAddress, dslHex64);
    opt(68, 'ARM MPIDR', c.armMpidr, dslHex64);
    opt(76, 'Efficiency Class', c.efficiencyClass, dslHex);
    opt(78, 'SPE Overflow Interrupt', c.speInterrupt, dslHex);
    t.equal(c.trbeInterrupt, null, 'no TRBE field in an 80-byte GICC');
  }
  for (const d of m.gicd) {
    t.equal(d.gicId, dslHex(dslAt(dsl, d.offset + 4, 'Local GIC Hardware ID')), 'GICD GIC ID');
    t.equal(d.baseAddress, dslHex64(dslAt(dsl, d.offset + 8, 'Base Address')), 'GICD Physical Base Address');
    t.equal(d.globalIrqBase, dslHex(dslAt(dsl, d.offset + 16, 'Interrupt Base')), 'GICD System Vector Base');
    t.equal(d.version, dslHex(dslAt(dsl, d.offset + 20, 'Version')), 'GICD GIC version');
  }
  for (const x of m.gicMsiFrames) {
    t.equal(x.msiFrameId, dslHex(dslAt(dsl, x.offset + 4, 'MSI Frame ID')), 'MSI Frame ID');
    t.equal(x.baseAddress, dslHex64(dslAt(dsl, x.offset + 8, 'Base Address')), 'MSI Frame base');
    const f = dslAt(dsl, x.offset + 16, 'Flags (decoded below)');
    t.equal(x.flags, dslHex(f), 'MSI Frame Flags');
    t.equal(x.spiSelect, dslBit(f, 'Select SPI'), 'MSI Frame SPI select');
    t.equal(x.spiCount, dslHex(dslAt(dsl, x.offset + 20, 'SPI Count')), 'MSI Frame SPI Count');
    t.equal(x.spiBase, dslHex(dslAt(dsl, x.offset + 22, 'SPI Base')), 'MSI Frame SPI Base');
  }
  for (const x of m.gicr) {
    t.equal(x.baseAddress, dslHex64(dslAt(dsl, x.offset + 4, 'Base Address')), 'GICR Discovery Range Base');
    t.equal(x.length, dslHex(dslAt(dsl, x.offset + 12, 'Length')), 'GICR Discovery Range Length');
  }
  for (const x of m.gicIts) {
    t.equal(x.translationId, dslHex(dslAt(dsl, x.offset + 4, 'Translation ID')), 'ITS ID');
    t.equal(x.baseAddress, dslHex64(dslAt(dsl, x.offset + 8, 'Base Address')), 'ITS base');
  }
  t.equal(m.giccCount, m.gicc.length);
  t.equal(m.giccEnabledCount, m.gicc.filter((c) => c.enabled).length);
}

function fixtures(): TableFixture[] {
  const arm = armDataTables();
  return [
    ...qemuTables('APIC'),
    amlFixture(iaslTemplates(), 'apic', 'iasl template APIC'),
    amlFixture(arm, 'madt-gicv3'),
    amlFixture(arm, 'madt-gicv2-version0'),
    amlFixture(arm, 'madt-gicv3-version0'),
  ];
}

t.test('every MADT field agrees with iasl -d', async (t) => {
  for (const f of fixtures()) t.test(f.label, async (t) => checkMadt(t, parseMadt(f.bytes), f.dsl));
});

t.test('QEMU virt: GIC model per machine option', async (t) => {
  const byVariant: Record<string, Madt> = Object.fromEntries(qemuTables('APIC').map((f) => [f.label.split(' ')[1] ?? '', parseMadt(f.bytes)]));
  t.match(byVariant['gicv2'], {
    gicVersion: 2, gicVersionSource: 'gicd', giccCount: 1, giccEnabledCount: 1, gicr: [], gicIts: [],
    gicd: [{ baseAddress: '0x8000000', version: 2 }],
    gicc: [{ baseAddress: '0x8010000', gicvBaseAddress: '0x8040000', gichBaseAddress: '0x8030000', armMpidr: '0x0' }],
    gicMsiFrames: [{ baseAddress: '0x8020000', spiSelect: true, spiCount: 64, spiBase: 80 }],
  });
  t.match(byVariant['gicv3-smp4'], { gicVersion: 3, giccCount: 4, gicr: [{ baseAddress: '0x80a0000' }], gicIts: [{ baseAddress: '0x8080000' }] });
  t.same(byVariant['gicv3-smp4']?.gicc.map((c) => c.armMpidr), ['0x0', '0x1', '0x2', '0x3']);
  t.match(byVariant['gicv4-el2'], { gicVersion: 4, gicc: [{ vgicInterrupt: 25 }, { vgicInterrupt: 25 }] });
  // QEMU 7.2 keeps describing the ITS in ACPI with its=off (it checks the machine class, not the option).
  t.equal(byVariant['gicv3-its-off']?.gicIts.length, 1, 'QEMU 7.2: ITS still in MADT with its=off');
});

t.test('our ARM MADTs: enabled counts, MPIDR affinity, version inference, skipping non-GIC entries', async (t) => {
  const arm = armDataTables();
  const v3 = parseMadt(amlFixture(arm, 'madt-gicv3').bytes);
  t.match(v3, { gicVersion: 3, gicVersionSource: 'gicd', giccCount: 4, giccEnabledCount: 3, gicIts: [{ translationId: 0 }, { translationId: 1 }] });
  t.same(v3.gicc.map((c) => c.armMpidr), ['0x0', '0x1', '0x100', '0x101']);
  t.match(v3.gicc[0], { performanceInterruptEdge: true, efficiencyClass: 1, speInterrupt: 0x15 });
  t.match(parseMadt(amlFixture(arm, 'madt-gicv2-version0').bytes), { gicVersion: 2, gicVersionSource: 'inferred', gicd: [{ version: 0 }] });
  const inferred3 = parseMadt(amlFixture(arm, 'madt-gicv3-version0').bytes);
  t.match(inferred3, { gicVersion: 3, gicVersionSource: 'inferred', other: [{ type: 0, typeName: 'Processor Local APIC', length: 8 }] });
  t.same(inferred3.gicc.map((c) => c.armMpidr), ['0x80000000', '0x80000001']);
  t.same(JSON.parse(JSON.stringify(v3)), v3, 'plain JSON');
});

/** QEMU gicv2 MADT split into its parts: fixed (44), GICD (24), GICC (80), MSI frame (24). */
function gicv2Parts(): { fixed: Uint8Array; gicd: Uint8Array; gicc: Uint8Array; msi: Uint8Array } {
  const [f] = qemuTables('APIC');
  if (!f) throw new Error('no QEMU MADT');
  const b = f.bytes;
  return { fixed: b.subarray(0, 44), gicd: b.subarray(44, 68), gicc: b.subarray(68, 148), msi: b.subarray(148, 172) };
}

t.test('older, shorter GICC structures: later fields are null, iasl agrees', async (t) => {
  const p = gicv2Parts();
  // ACPI 5.1 GICC: 76 bytes (no efficiency class / SPE).
  const gicc76 = Uint8Array.from(p.gicc.subarray(0, 76));
  gicc76[1] = 76;
  const madt51 = buildTable(p.fixed, p.gicd, gicc76, p.msi);
  const m = parseMadt(madt51);
  t.match(m.gicc[0], { length: 76, armMpidr: '0x0', gicvBaseAddress: '0x8040000', efficiencyClass: null, speInterrupt: null, trbeInterrupt: null });
  t.equal(m.gicMsiFrames[0]?.offset, 44 + 24 + 76, 'next subtable found by the GICC Length');
  checkMadt(t, m, disassemble(madt51));
  // ACPI 5.0 GICC: 40 bytes, through the Physical Base Address.
  const gicc40 = Uint8Array.from(p.gicc.subarray(0, 40));
  gicc40[1] = 40;
  const m50 = parseMadt(buildTable(p.fixed, p.gicd, gicc40, p.msi));
  t.match(m50.gicc[0], { baseAddress: '0x8010000', gicvBaseAddress: null, gichBaseAddress: null, vgicInterrupt: null, gicrBaseAddress: null, armMpidr: null });
  // ACPI 6.5 GICC: 82 bytes with a TRBE interrupt.
  const gicc82 = new Uint8Array(82);
  gicc82.set(p.gicc);
  gicc82[1] = 82;
  new DataView(gicc82.buffer).setUint16(80, 0x500b & 0xffff, true);
  t.equal(parseMadt(buildTable(p.fixed, p.gicd, gicc82, p.msi)).gicc[0]?.trbeInterrupt, 0x500b);
});

t.test('unknown and OEM subtable types are skipped by their Length', async (t) => {
  const p = gicv2Parts();
  const reserved = Uint8Array.from([0x7e, 6, 1, 2, 3, 4]);
  const oem = Uint8Array.from([0x80, 3, 9]);
  const m = parseMadt(buildTable(p.fixed, reserved, p.gicd, oem, p.gicc, p.msi));
  t.same(m.other, [
    { offset: 44, type: 0x7e, typeName: 'Reserved', length: 6 },
    { offset: 74, type: 0x80, typeName: 'OEM', length: 3 },
  ]);
  t.match(m, { giccCount: 1, gicVersion: 2, gicd: [{ offset: 50 }], gicc: [{ offset: 77 }] });
  t.equal(m.gicc[0]?.baseAddress, '0x8010000', 'fields read at the unaligned offset');
});

t.test('malformed MADTs are ParseErrors at the right offset, never a loop', async (t) => {
  const p = gicv2Parts();
  const good = buildTable(p.fixed, p.gicd, p.gicc, p.msi);
  const cases: [string, Uint8Array, { structure: string; offset: number; message: RegExp }][] = [
    ['subtable Length 0', mutate(good, (_, b) => { b[69] = 0; }), { structure: 'MADT interrupt controller structure', offset: 68, message: /Length 0 is less than the minimum 2/ }],
    ['subtable Length 1', mutate(good, (_, b) => { b[45] = 1; }), { structure: 'MADT interrupt controller structure', offset: 44, message: /Length 1/ }],
    ['subtable runs past the end', mutate(good, (_, b) => { b[149] = 25; }), { structure: 'MADT interrupt controller structure', offset: 148, message: /runs past the end/ }],
    ['GICC shorter than ACPI 5.0', buildTable(p.fixed, p.gicd, mutate(p.gicc.subarray(0, 36), (_, b) => { b[1] = 36; }, false)), { structure: 'MADT GICC structure', offset: 68, message: /Length 36 is less than the 40 bytes/ }],
    ['GICD too short', buildTable(p.fixed, mutate(p.gicd.subarray(0, 20), (_, b) => { b[1] = 20; }, false), p.gicc), { structure: 'MADT GICD structure', offset: 44, message: /Length 20/ }],
    ['lone type byte at the end', buildTable(p.fixed, p.gicd, Uint8Array.from([0x0b])), { structure: 'MADT interrupt controller structure', offset: 68, message: /header runs past/ }],
  ];
  for (const [name, bytes, want] of cases) t.throws(() => parseMadt(bytes), { name: 'ParseError', ...want }, name);
  t.throws(() => parseMadt(good.subarray(0, 40)), { name: 'ParseError', structure: 'MADT' }, 'truncated buffer');
});

t.test('hex convention for 64-bit fields', async (t) => {
  t.equal(hex(0x8010000), '0x8010000');
  t.equal(hex(0xffffffffffffffffn), '0xffffffffffffffff');
});
