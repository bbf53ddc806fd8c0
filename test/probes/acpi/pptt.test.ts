import t from 'tap';
import { type Pptt, parsePptt } from '../../../probes/acpi/pptt.js';
import {
  type DslField, type Eq, type TableFixture, amlFixture, armDataTables, buildTable, checkHeader, dslAt, dslBit, dslHex, iaslTemplates, mutate, qemuTables,
} from '../../fixtures/acpi-tables.js';

function checkPptt(t: Eq, p: Pptt, dsl: DslField[]): void {
  checkHeader(t, p.header, dsl);
  const at = (o: number, name: string) => dslAt(dsl, o, name);
  const ours = [...p.processors.map((x) => [x.offset, 0]), ...p.caches.map((x) => [x.offset, 1]), ...p.other.map((x) => [x.offset, x.type])].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  t.same(ours, dsl.filter((f) => f.name === 'Subtable Type').map((f) => [f.offset, dslHex(f)]), 'structure offsets and types');
  for (const n of p.processors) {
    const o = n.offset;
    t.equal(n.length, dslHex(at(o + 1, 'Length')), 'Length');
    const f = at(o + 4, 'Flags (decoded below)');
    t.equal(n.flags, dslHex(f), 'Flags');
    t.equal(n.physicalPackage, dslBit(f, 'Physical package'), 'Physical package');
    t.equal(n.acpiProcessorIdValid, dslBit(f, 'ACPI Processor ID valid'), 'ACPI Processor ID valid');
    t.equal(n.isThread, dslBit(f, 'Processor is a thread'), 'Processor is a thread');
    t.equal(n.isLeaf, dslBit(f, 'Node is a leaf'), 'Node is a leaf');
    t.equal(n.parent, dslHex(at(o + 8, 'Parent')), 'Parent');
    t.equal(n.acpiProcessorId, dslHex(at(o + 12, 'ACPI Processor ID')), 'ACPI Processor ID');
    t.equal(n.privateResources.length, dslHex(at(o + 16, 'Private Resource Number')), 'Number of Private Resources');
    n.privateResources.forEach((r, i) => t.equal(r, dslHex(at(o + 20 + 4 * i, 'Private Resource')), 'Private Resource'));
  }
  for (const c of p.caches) {
    const o = c.offset;
    t.equal(c.flags, dslHex(at(o + 4, 'Flags (decoded below)')), 'cache Flags');
    t.equal(c.nextLevelOfCache, dslHex(at(o + 8, 'Next Level of Cache')), 'Next Level of Cache');
    t.equal(c.size, dslHex(at(o + 12, 'Size')), 'Size');
    t.equal(c.numberOfSets, dslHex(at(o + 16, 'Number of Sets')), 'Number of sets');
    t.equal(c.associativity, dslHex(at(o + 20, 'Associativity')), 'Associativity');
    const a = at(o + 21, 'Attributes');
    t.equal(c.attributes, dslHex(a), 'Attributes');
    t.equal(c.cacheType, ['data', 'instruction', 'unified', 'unified'][Number(a.bits?.['Cache Type'])], 'Cache Type');
    t.equal(c.lineSize, dslHex(at(o + 22, 'Line Size')), 'Line size');
  }
}

t.test('every PPTT field agrees with iasl -d', async (t) => {
  const fixtures: TableFixture[] = [...qemuTables('PPTT'), amlFixture(iaslTemplates(), 'pptt', 'iasl template PPTT'), amlFixture(armDataTables(), 'pptt-2x2')];
  for (const f of fixtures) t.test(f.label, async (t) => checkPptt(t, parsePptt(f.bytes), f.dsl));
});

t.test('topology facts', async (t) => {
  const cpus = { gicv2: 1, 'gicv3-smp4': 4, 'gicv3-its-off': 2, 'gicv4-el2': 2 } as Record<string, number>;
  for (const f of qemuTables('PPTT')) t.equal(parsePptt(f.bytes).leafCount, cpus[f.label.split(' ')[1] ?? ''], `${f.label}: one leaf per vCPU`);
  const p = parsePptt(amlFixture(armDataTables(), 'pptt-2x2').bytes);
  t.equal(p.leafCount, 4);
  t.same(p.caches.map((c) => c.cacheType), ['unified', 'data', 'instruction']);
  t.same(p.processors.filter((n) => n.isLeaf).map((n) => n.acpiProcessorId), [0, 1, 2, 3]);
  t.same(p.processors.find((n) => n.acpiProcessorId === 0 && n.isLeaf)?.privateResources, [60, 84]);
  // The template's ID structure (type 2) is kept by type and offset.
  t.match(parsePptt(amlFixture(iaslTemplates(), 'pptt').bytes).other, [{ type: 2, length: 30 }]);
});

t.test('malformed PPTTs', async (t) => {
  const good = amlFixture(armDataTables(), 'pptt-2x2').bytes;
  t.throws(() => parsePptt(mutate(good, (_, b) => { b[37] = 0; })), { name: 'ParseError', structure: 'PPTT structure', offset: 36, message: /Length 0/ });
  t.throws(() => parsePptt(mutate(good, (dv) => dv.setUint32(128 + 16, 1000, true))), { name: 'ParseError', structure: 'PPTT Processor Hierarchy Node', offset: 144, message: /1000 private resources/ });
  t.throws(() => parsePptt(mutate(good, (_, b) => { b[129] = 16; })), { name: 'ParseError', structure: 'PPTT Processor Hierarchy Node', offset: 128 });
  t.throws(() => parsePptt(mutate(good, (_, b) => { b[37] = 20; })), { name: 'ParseError', structure: 'PPTT Cache Type Structure', offset: 36 });
  t.throws(() => parsePptt(buildTable(good.subarray(0, 130))), { name: 'ParseError', structure: 'PPTT structure', offset: 128, message: /runs past the end/ });
});
