import t from 'tap';
import { parseMcfg } from '../../../probes/acpi/mcfg.js';
import { amlFixture, armDataTables, buildTable, checkHeader, dslAt, dslHex, dslHex64, iaslTemplates, qemuTables } from '../../fixtures/acpi-tables.js';

t.test('every MCFG allocation agrees with iasl -d', async (t) => {
  for (const f of [...qemuTables('MCFG'), amlFixture(iaslTemplates(), 'mcfg', 'iasl template MCFG'), amlFixture(armDataTables(), 'mcfg-two-segments')]) {
    t.test(f.label, async (t) => {
      const m = parseMcfg(f.bytes);
      checkHeader(t, m.header, f.dsl);
      t.same(m.allocations.map((a) => a.offset), f.dsl.filter((d) => d.name === 'Base Address').map((d) => d.offset), 'one allocation per iasl entry');
      for (const a of m.allocations) {
        t.equal(a.baseAddress, dslHex64(dslAt(f.dsl, a.offset, 'Base Address')), 'Base Address');
        t.equal(a.pciSegmentGroup, dslHex(dslAt(f.dsl, a.offset + 8, 'Segment Group Number')), 'PCI Segment Group');
        t.equal(a.startBusNumber, dslHex(dslAt(f.dsl, a.offset + 10, 'Start Bus Number')), 'Start Bus');
        t.equal(a.endBusNumber, dslHex(dslAt(f.dsl, a.offset + 11, 'End Bus Number')), 'End Bus');
      }
    });
  }
});

t.test('ECAM facts', async (t) => {
  for (const f of qemuTables('MCFG')) {
    t.match(parseMcfg(f.bytes).allocations, [{ baseAddress: '0x4010000000', pciSegmentGroup: 0, startBusNumber: 0, endBusNumber: 255 }], f.label);
  }
  t.match(parseMcfg(amlFixture(armDataTables(), 'mcfg-two-segments').bytes).allocations, [{ pciSegmentGroup: 0 }, { baseAddress: '0x3f000000', pciSegmentGroup: 1, startBusNumber: 0x80, endBusNumber: 0x8f }]);
});

t.test('malformed MCFGs', async (t) => {
  const [q] = qemuTables('MCFG');
  if (!q) throw new Error('no MCFG');
  t.throws(() => parseMcfg(buildTable(q.bytes.subarray(0, 52))), { name: 'ParseError', structure: 'MCFG', offset: 44, message: /8 trailing bytes/ });
  t.throws(() => parseMcfg(buildTable(q.bytes.subarray(0, 40))), { name: 'ParseError', structure: 'MCFG', offset: 4 });
  t.same(parseMcfg(buildTable(q.bytes.subarray(0, 44))).allocations, [], 'no allocations is well-formed');
});
