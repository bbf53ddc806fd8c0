import t from 'tap';
import { type Iort, parseIort } from '../../../probes/acpi/iort.js';
import {
  type DslField, type Eq, type TableFixture, amlFixture, buildTable, checkHeader, dslAt, dslBit, dslHex, dslHex64, dslStr, iaslTemplates, mutate, qemuTables,
} from '../../fixtures/acpi-tables.js';

function checkIort(t: Eq, x: Iort, dsl: DslField[]): void {
  checkHeader(t, x.header, dsl);
  const at = (o: number, name: string) => dslAt(dsl, o, name);
  t.equal(x.nodeCount, dslHex(at(36, 'Node Count')), 'Number of IORT Nodes');
  t.equal(x.nodeOffset, dslHex(at(40, 'Node Offset')), 'Offset to Array of IORT Nodes');
  t.same(x.nodes.map((n) => [n.offset, n.type]), dsl.filter((f) => f.name === 'Type').map((f) => [f.offset, dslHex(f)]), 'node offsets and types');
  for (const n of x.nodes) {
    const o = n.offset;
    t.equal(n.length, dslHex(at(o + 1, 'Length')), 'node Length');
    t.equal(n.revision, dslHex(at(o + 3, 'Revision')), 'node Revision');
    t.equal(n.identifier, dslHex(at(o + 4, 'Reserved')), 'node Identifier');
    t.equal(n.mappingCount, dslHex(at(o + 8, 'Mapping Count')), 'Number of ID mappings');
    t.equal(n.mappingOffset, dslHex(at(o + 12, 'Mapping Offset')), 'Reference to ID Array');
    n.mappings.forEach((m, i) => {
      const b = o + n.mappingOffset + i * 20;
      t.equal(m.inputBase, dslHex(at(b, 'Input base')), 'Input base');
      t.equal(m.idCount, dslHex(at(b + 4, 'ID Count')), 'Number of IDs');
      t.equal(m.outputBase, dslHex(at(b + 8, 'Output Base')), 'Output base');
      t.equal(m.outputReference, dslHex(at(b + 12, 'Output Reference')), 'Output reference');
      const f = at(b + 16, 'Flags (decoded below)');
      t.equal(m.flags, dslHex(f), 'mapping Flags');
      t.equal(m.singleMapping, dslBit(f, 'Single Mapping'), 'single mapping');
      t.equal(m.outputNodeType, x.nodes.find((y) => y.offset === m.outputReference)?.type ?? null, 'output node type');
    });
    switch (n.type) {
      case 0:
        t.equal(n.itsIdentifiers?.length, dslHex(at(o + 16, 'ItsCount')), 'Number of ITSs');
        n.itsIdentifiers?.forEach((id, i) => t.equal(id, dslHex(at(o + 20 + 4 * i, 'Identifiers')), 'GIC ITS Identifier'));
        break;
      case 1:
        t.equal(n.flags, dslHex(at(o + 16, 'Node Flags')), 'Named Component Node Flags');
        t.equal(n.memoryAddressSizeLimit, dslHex(at(o + 28, 'Memory Size Limit')), 'Named Component size limit');
        t.equal(n.deviceName, dslStr(at(o + 29, 'Device Name')), 'Device Object Name');
        break;
      case 2:
        t.equal(n.atsAttribute, dslHex(at(o + 24, 'ATS Attribute')), 'ATS Attribute');
        t.equal(n.pciSegmentNumber, dslHex(at(o + 28, 'PCI Segment Number')), 'PCI Segment number');
        t.equal(n.memoryAddressSizeLimit, n.revision >= 1 ? dslHex(at(o + 32, 'Memory Size Limit')) : null, 'Memory address size limit');
        break;
      case 3:
        t.equal(n.baseAddress, dslHex64(at(o + 16, 'Base Address')), 'SMMU Base Address');
        t.equal(n.model, dslHex(at(o + 32, 'Model')), 'SMMU Model');
        t.equal(n.flags, dslHex(at(o + 36, 'Flags (decoded below)')), 'SMMU Flags');
        break;
      case 4:
        t.equal(n.baseAddress, dslHex64(at(o + 16, 'Base Address')), 'SMMUv3 Base Address');
        t.equal(n.flags, dslHex(at(o + 24, 'Flags (decoded below)')), 'SMMUv3 Flags');
        t.equal(n.model, dslHex(at(o + 40, 'Model')), 'SMMUv3 Model');
        break;
      case 5:
        t.equal(n.baseAddress, dslHex64(at(o + 16, 'Page 0 Base Address')), 'PMCG Page 0 Base');
        t.equal(n.overflowInterrupt, dslHex(at(o + 24, 'Overflow Interrupt GSIV')), 'PMCG overflow GSIV');
        t.equal(n.nodeReference, dslHex(at(o + 28, 'Node Reference')), 'PMCG Node reference');
        break;
    }
  }
}

t.test('every IORT field agrees with iasl -d', async (t) => {
  const fixtures: TableFixture[] = [...qemuTables('IORT'), amlFixture(iaslTemplates(), 'iort', 'iasl template IORT (node types 0-5)')];
  for (const f of fixtures) t.test(f.label, async (t) => checkIort(t, parseIort(f.bytes), f.dsl));
});

t.test('topology facts', async (t) => {
  for (const f of qemuTables('IORT')) {
    const x = parseIort(f.bytes);
    t.same(x.nodeTypeCounts, { 'ITS Group': 1, 'Root Complex': 1 }, f.label);
    t.match(x.nodes[1], { typeName: 'Root Complex', pciSegmentNumber: 0, mappings: [{ inputBase: 0, idCount: 0xffff, outputNodeType: 0 }] }, 'RC maps every RID to the ITS group');
  }
  const tpl = parseIort(amlFixture(iaslTemplates(), 'iort').bytes);
  t.same(tpl.nodes.map((n) => n.typeName), ['ITS Group', 'Named Component', 'Root Complex', 'SMMUv1 or SMMUv2', 'SMMUv3', 'PMCG']);
  t.equal(tpl.nodes[1]?.deviceName, '\\_SB.PCI0.DEV0');
});

t.test('malformed IORTs', async (t) => {
  const [q] = qemuTables('IORT');
  if (!q) throw new Error('no IORT');
  const cases: [string, Uint8Array, Record<string, unknown>][] = [
    ['node count too big', mutate(q.bytes, (dv) => dv.setUint32(36, 100_000, true)), { structure: 'IORT node', offset: 48, message: /count 100000/ }],
    ['node Length 0', mutate(q.bytes, (dv) => dv.setUint16(49, 0, true)), { structure: 'IORT node', offset: 48, message: /Length 0/ }],
    ['node Length past the end', mutate(q.bytes, (dv) => dv.setUint16(73, 57, true)), { structure: 'IORT node', offset: 72, message: /runs past the end/ }],
    ['node array inside the header', mutate(q.bytes, (dv) => dv.setUint32(40, 20, true)), { structure: 'IORT', offset: 40 }],
    ['ID mapping count too big', mutate(q.bytes, (dv) => dv.setUint32(80, 0x7fffffff, true)), { structure: 'IORT Root Complex node', offset: 80, message: /ID mappings/ }],
    ['ID mappings outside the node', mutate(q.bytes, (dv) => dv.setUint32(84, 40, true)), { structure: 'IORT Root Complex node', offset: 80 }],
    ['ITS count too big', mutate(q.bytes, (dv) => dv.setUint32(64, 3, true)), { structure: 'IORT ITS Group node', offset: 64 }],
  ];
  for (const [name, bytes, want] of cases) t.throws(() => parseIort(bytes), { name: 'ParseError', ...want }, name);
  t.throws(() => parseIort(buildTable(q.bytes.subarray(0, 44))), { name: 'ParseError', structure: 'IORT', offset: 4 });
  const dangling = parseIort(mutate(q.bytes, (dv) => dv.setUint32(120, 0x99, true)));
  t.equal(dangling.nodes[1]?.mappings[0]?.outputNodeType, null, 'output reference to no node is reported, not followed');
});
