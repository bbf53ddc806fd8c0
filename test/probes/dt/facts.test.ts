import t from 'tap';
import { readFileSync } from 'node:fs';
import { dtFacts } from '../../../probes/dt/facts.js';
import { DeviceTree } from '../../../probes/dt/tree.js';
import { type DtbFixture, customDtb, dtsNodes, qemuDtb, qemuDtbs, readDts } from '../../fixtures/dtbs.js';

const facts = (f: DtbFixture) => dtFacts(DeviceTree.parse(new Uint8Array(readFileSync(f.dtb))));

t.test('facts are plain JSON and cover every node', async (t) => {
  for (const f of [...qemuDtbs(), customDtb('board')]) {
    const x = facts(f);
    t.same(JSON.parse(JSON.stringify(x)), x, `${f.label}: JSON round trip`);
    t.same(x.nodes.map((n) => n.path).sort(), dtsNodes(readDts(f).root).map((n) => n.path).sort(), `${f.label}: every node`);
    t.same(x.malformed, [], 'no malformed standard properties');
  }
});

t.test('QEMU virt facts per machine option', async (t) => {
  const v2 = facts(qemuDtb('gicv2'));
  t.match(v2, {
    version: 17, model: 'linux,dummy-virt', compatible: ['linux,dummy-virt'],
    chosen: { stdoutPath: '/pl011@9000000', stdoutNode: '/pl011@9000000' },
    cpus: { count: 1, enableMethods: [], compatibles: ['arm,cortex-a57'] }, // QEMU sets enable-method only with -smp > 1
    psci: { compatible: ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci'], method: 'hvc' },
    timer: { compatible: ['arm,armv8-timer', 'arm,armv7-timer'], alwaysOn: true },
    interruptControllers: [{ path: '/intc@8000000', gicVersion: 2, reg: [{ address: '0x8000000', size: '0x10000' }, { address: '0x8010000', size: '0x10000' }] }],
    msiControllers: [{ path: '/intc@8000000/v2m@8020000', compatible: ['arm,gic-v2m-frame'] }],
    uarts: [{ path: '/pl011@9000000', compatible: ['arm,pl011', 'arm,primecell'], status: 'okay', reg: [{ address: '0x9000000', size: '0x1000' }] }],
    memory: [{ path: '/memory@40000000', reg: [{ address: '0x40000000', size: '0x20000000' }] }],
    pciHosts: [{ path: '/pcie@10000000', compatible: ['pci-host-ecam-generic'] }],
  });
  // Timer PPIs: secure, non-secure, virtual, hypervisor (GIC PPI numbers 13, 14, 11, 10 = GSIV 29, 30, 27, 26).
  t.same(v2.timer?.interrupts.filter((_, i) => i % 3 === 1), [13, 14, 11, 10]);
  const v3 = facts(qemuDtb('gicv3-smp4'));
  t.match(v3, { cpus: { count: 4, enableMethods: ['psci'] }, interruptControllers: [{ gicVersion: 3, compatible: ['arm,gic-v3'] }], msiControllers: [{ path: '/intc@8000000/its@8080000' }] });
  t.same(v3.cpus.nodes.map((c) => c.reg[0]?.address), ['0x0', '0x1', '0x2', '0x3']);
  // DT and ACPI disagree in QEMU 7.2 with its=off: the DT drops the ITS, the MADT/IORT keep it (see test/acpi/madt.test.ts).
  t.same(facts(qemuDtb('gicv3-its-off')).msiControllers, [], 'its=off: no ITS in the DT');
  t.match(facts(qemuDtb('gicv4-el2')), { psci: { method: 'smc' }, interruptControllers: [{ gicVersion: 3 }] });
  const sec = facts(qemuDtb('secure'));
  // secure=on: firmware in EL3 owns PSCI, and QEMU leaves the psci node out; the secure UART is disabled for the normal world.
  t.equal(sec.psci, null);
  t.same(sec.uarts.map((u) => [u.path, u.status]).sort(), [['/pl011@9000000', 'okay'], ['/pl011@9040000', 'disabled']]);
  t.same(facts(qemuDtb('acpi-off')), v2, 'acpi=off does not change the DT QEMU builds');
});

t.test('our board facts', async (t) => {
  const b = facts(customDtb('board'));
  t.match(b, {
    model: 'vmspec,test-board',
    reservations: [{ address: '0x80000000', size: '0x10000' }, { address: '0x1000000000', size: '0x200000' }],
    chosen: { stdoutPath: 'serial0:115200n8', stdoutNode: '/soc/serial@1c090000', bootargs: 'console=ttyAMA0 earlycon' },
    cpus: { count: 3, enableMethods: ['psci', 'spin-table'], compatibles: ['arm,cortex-a72', 'arm,armv8', 'arm,cortex-a53'] },
    psci: { method: 'smc' },
    interruptControllers: [{ gicVersion: 3 }],
    uarts: [{ path: '/soc/serial@1c090000', status: 'okay' }, { path: '/soc/serial@1c0a0000', compatible: ['arm,sbsa-uart'], status: 'disabled' }],
  });
  t.equal(b.cpus.nodes.find((c) => c.path === '/cpus/cpu@100')?.status, 'disabled');
});
