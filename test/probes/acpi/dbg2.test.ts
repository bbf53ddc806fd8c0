import t from 'tap';
import { type Dbg2, parseDbg2 } from '../../../probes/acpi/dbg2.js';
import {
  type DslField, type Eq, type TableFixture, amlFixture, armDataTables, buildTable, checkGas, checkHeader, dslAt, dslHex, dslStr, iaslTemplates, mutate, qemuTables,
} from '../../fixtures/acpi-tables.js';

function checkDbg2(t: Eq, d: Dbg2, dsl: DslField[]): void {
  checkHeader(t, d.header, dsl);
  const at = (o: number, name: string) => dslAt(dsl, o, name);
  t.equal(d.offsetDbgDeviceInfo, dslHex(at(36, 'Info Offset')), 'OffsetDbgDeviceInfo');
  t.equal(d.numberDbgDeviceInfo, dslHex(at(40, 'Info Count')), 'NumberDbgDeviceInfo');
  t.same(d.devices.map((x) => x.offset), dsl.filter((f) => f.name === 'Port Type').map((f) => f.offset - 12), 'one device per iasl entry');
  for (const x of d.devices) {
    const o = x.offset;
    t.equal(x.revision, dslHex(at(o, 'Revision')), 'Revision');
    t.equal(x.length, dslHex(at(o + 1, 'Length')), 'Length');
    t.equal(x.numberOfGenericAddressRegisters, dslHex(at(o + 3, 'Register Count')), 'NumberofGenericAddressRegisters');
    t.equal(x.oemDataLength, dslHex(at(o + 8, 'OEM Data Length')), 'OemDataLength');
    t.equal(x.oemDataOffset, dslHex(at(o + 10, 'OEM Data Offset')), 'OemDataOffset');
    t.equal(x.portType, dslHex(at(o + 12, 'Port Type')), 'Port Type');
    t.equal(x.portSubtype, dslHex(at(o + 14, 'Port Subtype')), 'Port Subtype');
    const bar = dslHex(at(o + 18, 'Base Address Offset'));
    const sizes = dslHex(at(o + 20, 'Address Size Offset'));
    x.baseAddressRegisters.forEach((g, i) => checkGas(t, g, dsl, o + bar + 12 * i + 0, `BaseAddressRegister ${i}`));
    x.addressSizes.forEach((s, i) => t.equal(s, dslHex(at(o + sizes + 4 * i, 'Address Size')), 'AddressSize'));
    const ns = dslHex(at(o + 6, 'Namepath Offset'));
    t.equal(x.namespaceString, dslStr(at(o + ns, 'Namepath')), 'NamespaceString');
  }
}

t.test('every DBG2 field agrees with iasl -d', async (t) => {
  const fixtures: TableFixture[] = [...qemuTables('DBG2'), amlFixture(iaslTemplates(), 'dbg2', 'iasl template DBG2'), amlFixture(armDataTables(), 'dbg2-pl011')];
  for (const f of fixtures) t.test(f.label, async (t) => checkDbg2(t, parseDbg2(f.bytes), f.dsl));
});

t.test('debug port facts', async (t) => {
  for (const f of qemuTables('DBG2')) {
    t.match(parseDbg2(f.bytes).devices, [{
      portType: 0x8000, portTypeName: 'Serial', portSubtype: 3, portSubtypeName: 'ARM PL011 UART', namespaceString: 'COM0',
      baseAddressRegisters: [{ address: '0x9000000' }], addressSizes: [0x1000],
    }], f.label);
  }
  t.match(parseDbg2(amlFixture(armDataTables(), 'dbg2-pl011').bytes).devices, [{ namespaceString: '\\_SB.COM0', baseAddressRegisters: [{ bitWidth: 32 }] }]);
  const tpl = parseDbg2(amlFixture(iaslTemplates(), 'dbg2').bytes);
  t.same(tpl.devices.map((x) => x.baseAddressRegisters.length), [2, 1]);
  t.match(tpl.devices[1], { oemDataLength: 16, portSubtypeName: '16550 compatible' });
});

t.test('malformed DBG2s', async (t) => {
  const [q] = qemuTables('DBG2');
  if (!q) throw new Error('no DBG2');
  const o = 44;
  const cases: [string, Uint8Array, Record<string, unknown>][] = [
    ['device count too big', mutate(q.bytes, (dv) => dv.setUint32(40, 50, true)), { structure: 'DBG2 Debug Device Information', offset: 44, message: /count 50/ }],
    ['info offset inside the header', mutate(q.bytes, (dv) => dv.setUint32(36, 8, true)), { structure: 'DBG2', offset: 36 }],
    ['device Length below the fixed part', mutate(q.bytes, (dv) => dv.setUint16(o + 1, 10, true)), { structure: 'DBG2 Debug Device Information', offset: 44, message: /Length 10/ }],
    ['device past the end', mutate(q.bytes, (dv) => dv.setUint16(o + 1, 44, true)), { structure: 'DBG2 Debug Device Information', offset: 44, message: /runs past the end/ }],
    ['too many address registers', mutate(q.bytes, (_, b) => { b[o + 3] = 200; }), { structure: 'DBG2 Debug Device Information', offset: o + 18, message: /BaseAddressRegister array/ }],
    ['namespace string outside', mutate(q.bytes, (dv) => dv.setUint16(o + 6, 40, true)), { structure: 'DBG2 Debug Device Information', offset: o + 6 }],
    ['OEM data outside', mutate(q.bytes, (dv) => { dv.setUint16(o + 8, 4, true); dv.setUint16(o + 10, 42, true); }), { structure: 'DBG2 Debug Device Information', offset: o + 10 }],
    ['address register array inside the fixed part', mutate(q.bytes, (dv) => dv.setUint16(o + 18, 4, true)), { structure: 'DBG2 Debug Device Information', offset: o + 18 }],
  ];
  for (const [name, bytes, want] of cases) t.throws(() => parseDbg2(bytes), { name: 'ParseError', ...want }, name);
  t.throws(() => parseDbg2(buildTable(q.bytes.subarray(0, 40))), { name: 'ParseError', structure: 'DBG2', offset: 36 });
});
