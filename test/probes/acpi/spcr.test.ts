import t from 'tap';
import { type Spcr, parseSpcr } from '../../../probes/acpi/spcr.js';
import { serialSubtypeName } from '../../../probes/acpi/serial-port-types.js';
import {
  type DslField, type Eq, type TableFixture, amlFixture, armDataTables, buildTable, checkGas, checkHeader, disassemble, dslAt, dslHex,
  iaslTemplates, mutate, qemuTables,
} from '../../fixtures/acpi-tables.js';

function checkSpcr(t: Eq, s: Spcr, dsl: DslField[]): void {
  checkHeader(t, s.header, dsl);
  const at = (o: number, name: string) => dslHex(dslAt(dsl, o, name));
  t.equal(s.interfaceType, at(36, 'Interface Type'), 'Interface Type');
  checkGas(t, s.baseAddress, dsl, 40, 'Base Address');
  t.equal(s.interruptType, at(52, 'Interrupt Type'), 'Interrupt Type');
  t.equal(s.irq, at(53, 'PCAT-compatible IRQ'), 'IRQ');
  t.equal(s.globalSystemInterrupt, at(54, 'Interrupt'), 'Global System Interrupt');
  t.equal(s.baudRate, at(58, 'Baud Rate'), 'Configured Baud Rate');
  t.equal(s.parity, at(59, 'Parity'), 'Parity');
  t.equal(s.stopBits, at(60, 'Stop Bits'), 'Stop Bits');
  t.equal(s.flowControl, at(61, 'Flow Control'), 'Flow Control');
  t.equal(s.terminalType, at(62, 'Terminal Type'), 'Terminal Type');
  t.equal(s.pciDeviceId, at(64, 'PCI Device ID'), 'PCI Device ID');
  t.equal(s.pciVendorId, at(66, 'PCI Vendor ID'), 'PCI Vendor ID');
  t.equal(s.pciBus, at(68, 'PCI Bus'), 'PCI Bus');
  t.equal(s.pciDevice, at(69, 'PCI Device'), 'PCI Device');
  t.equal(s.pciFunction, at(70, 'PCI Function'), 'PCI Function');
  t.equal(s.pciFlags, at(71, 'PCI Flags'), 'PCI Flags');
  t.equal(s.pciSegment, at(75, 'PCI Segment'), 'PCI Segment');
  t.equal(s.interfaceTypeName, serialSubtypeName(s.interfaceType));
  t.equal(s.armGicInterrupt, (s.interruptType & 8) !== 0);
}

t.test('every SPCR field agrees with iasl -d', async (t) => {
  const fixtures: TableFixture[] = [...qemuTables('SPCR'), amlFixture(iaslTemplates(), 'spcr', 'iasl template SPCR'), amlFixture(armDataTables(), 'spcr-sbsa')];
  for (const f of fixtures) t.test(f.label, async (t) => checkSpcr(t, parseSpcr(f.bytes), f.dsl));
});

t.test('console UART facts', async (t) => {
  for (const f of qemuTables('SPCR')) {
    t.match(parseSpcr(f.bytes), {
      interfaceType: 3, interfaceTypeName: 'ARM PL011 UART', sbsaCompatible: true, armGicInterrupt: true, globalSystemInterrupt: 33,
      baseAddress: { spaceName: 'SystemMemory', address: '0x9000000' }, baudRate: 3, baudRateBps: 9600, uartClockFrequency: null,
    }, f.label);
  }
  t.match(parseSpcr(amlFixture(armDataTables(), 'spcr-sbsa').bytes), {
    interfaceType: 0x0e, interfaceTypeName: 'ARM SBSA Generic UART', sbsaCompatible: true, baudRateBps: 115200, baseAddress: { bitWidth: 32, accessWidth: 3 },
  });
  t.match(parseSpcr(amlFixture(iaslTemplates(), 'spcr').bytes), { interfaceType: 0, interfaceTypeName: '16550 compatible', sbsaCompatible: false, baudRateBps: null });
  t.equal(serialSubtypeName(0x0d), 'ARM SBSA Generic UART (2.x only, 32-bit access)');
  t.equal(serialSubtypeName(0x7777), 'Reserved');
});

/** QEMU's SPCR grown to revision 4: UART clock, precise baud rate and namespace string. */
function rev4(): Uint8Array {
  const [q] = qemuTables('SPCR');
  if (!q) throw new Error('no SPCR');
  const head = mutate(q.bytes.subarray(0, 80), (dv, b) => {
    b[8] = 4;
    dv.setUint32(76, 24_000_000, true);
  }, false);
  const tail = new Uint8Array(8 + 10);
  const dv = new DataView(tail.buffer);
  dv.setUint32(0, 1_500_000, true);
  dv.setUint16(4, 10, true);
  dv.setUint16(6, 88, true);
  tail.set(new TextEncoder().encode('\\_SB.COM0\0'), 8);
  return buildTable(head, tail);
}

t.test('revision 3/4 fields', async (t) => {
  const b = rev4();
  const s = parseSpcr(b);
  t.match(s, { uartClockFrequency: 24_000_000, preciseBaudRate: 1_500_000, namespaceString: '\\_SB.COM0' });
  // iasl 20200925 knows the revision 2 layout: the shared fields still agree.
  const dsl = disassemble(b);
  t.equal(s.interfaceType, dslHex(dslAt(dsl, 36, 'Interface Type')));
  checkGas(t, s.baseAddress, dsl, 40, 'Base Address');
  const rev3 = buildTable(mutate(b.subarray(0, 80), (_, x) => { x[8] = 3; }, false));
  t.match(parseSpcr(rev3), { uartClockFrequency: 24_000_000, preciseBaudRate: null, namespaceString: null });
});

t.test('malformed SPCRs', async (t) => {
  const b = rev4();
  t.throws(() => parseSpcr(mutate(b, (dv) => dv.setUint16(86, 90, true))), { name: 'ParseError', structure: 'SPCR', offset: 90, message: /NamespaceString/ }, 'string past the end');
  t.throws(() => parseSpcr(mutate(b, (dv) => dv.setUint16(86, 40, true))), { name: 'ParseError', structure: 'SPCR', offset: 86, message: /fixed fields/ });
  t.throws(() => parseSpcr(mutate(b, (dv) => dv.setUint16(84, 0xffff, true))), { name: 'ParseError', structure: 'SPCR' }, 'huge length');
  t.throws(() => parseSpcr(buildTable(b.subarray(0, 76))), { name: 'ParseError', structure: 'SPCR', offset: 4, message: /less than the 80 bytes/ });
});
