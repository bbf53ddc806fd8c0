import t from 'tap';
import { type Fadt, parseFadt } from '../../../probes/acpi/fadt.js';
import {
  type DslField, type Eq, type TableFixture, amlFixture, armDataTables, buildTable, checkGas, checkHeader, disassemble, dslAt, dslBit, dslHex,
  dslHex64, iaslTemplates, mutate, qemuTables,
} from '../../fixtures/acpi-tables.js';

/** Every FADT field we report against iasl; fields the table is too short for must be null. */
function checkFadt(t: Eq, f: Fadt, dsl: DslField[]): void {
  checkHeader(t, f.header, dsl);
  t.equal(f.firmwareCtrl, dslHex64(dslAt(dsl, 36, 'FACS Address')), 'FIRMWARE_CTRL');
  t.equal(f.dsdt, dslHex64(dslAt(dsl, 40, 'DSDT Address')), 'DSDT');
  t.equal(f.preferredPmProfile, dslHex(dslAt(dsl, 45, 'PM Profile')), 'Preferred_PM_Profile');
  t.equal(f.sciInt, dslHex(dslAt(dsl, 46, 'SCI Interrupt')), 'SCI_INT');
  t.equal(f.iapcBootArch, dslHex(dslAt(dsl, 109, 'Boot Flags (decoded below)')), 'IAPC_BOOT_ARCH');
  const flags = dslAt(dsl, 112, 'Flags (decoded below)');
  t.equal(f.flags, dslHex(flags), 'Flags');
  t.equal(f.hwReducedAcpi, dslBit(flags, 'Hardware Reduced (V5)'), 'HW_REDUCED_ACPI');
  t.equal(f.lowPowerS0IdleCapable, dslBit(flags, 'Low Power S0 Idle (V5)'), 'LOW_POWER_S0_IDLE_CAPABLE');
  const len = f.header.length;
  if (len >= 128) checkGas(t, f.resetReg ?? { spaceId: -1, bitWidth: -1, bitOffset: -1, accessWidth: -1, address: '' }, dsl, 116, 'RESET_REG');
  else t.equal(f.resetReg, null, 'no RESET_REG');
  t.equal(f.resetValue, len >= 129 ? dslHex(dslAt(dsl, 128, 'Value to cause reset')) : null, 'RESET_VALUE');
  if (len >= 131) {
    const arm = dslAt(dsl, 129, 'ARM Flags (decoded below)');
    t.equal(f.armBootArch, dslHex(arm), 'ARM_BOOT_ARCH');
    t.equal(f.psciCompliant, dslBit(arm, 'PSCI Compliant'), 'PSCI_COMPLIANT');
    t.equal(f.psciUseHvc, dslBit(arm, 'Must use HVC for PSCI'), 'PSCI_USE_HVC');
  } else {
    t.same([f.armBootArch, f.psciCompliant, f.psciUseHvc], [null, null, null], 'no ARM_BOOT_ARCH');
  }
  const minor = len >= 132 ? dslHex(dslAt(dsl, 131, 'FADT Minor Revision')) : null;
  t.equal(f.fadtMinorVersion, minor, 'FADT Minor Version');
  t.equal(f.fadtVersion, `${f.header.revision}.${(minor ?? 0) & 0xf}`, 'version string');
  t.equal(f.xFirmwareCtrl, len >= 140 ? dslHex64(dslAt(dsl, 132, 'FACS Address')) : null, 'X_FIRMWARE_CTRL');
  t.equal(f.xDsdt, len >= 148 ? dslHex64(dslAt(dsl, 140, 'DSDT Address')) : null, 'X_DSDT');
  if (len >= 256 && f.sleepControlReg) checkGas(t, f.sleepControlReg, dsl, 244, 'SLEEP_CONTROL_REG');
  else t.equal(f.sleepControlReg, null);
  if (len >= 268 && f.sleepStatusReg) checkGas(t, f.sleepStatusReg, dsl, 256, 'SLEEP_STATUS_REG');
  else t.equal(f.sleepStatusReg, null);
  t.equal(f.hypervisorVendorIdentity, len >= 276 ? dslHex64(dslAt(dsl, 268, 'Hypervisor ID')) : null, 'Hypervisor Vendor Identity');
}

t.test('every FADT field agrees with iasl -d', async (t) => {
  const fixtures: TableFixture[] = [...qemuTables('FACP'), amlFixture(iaslTemplates(), 'facp', 'iasl template FACP'), amlFixture(armDataTables(), 'fadt-arm')];
  for (const f of fixtures) t.test(f.label, async (t) => checkFadt(t, parseFadt(f.bytes), f.dsl));
});

t.test('QEMU virt FADT: HW-reduced, PSCI (HVC, or SMC with EL2), X_DSDT set, hypervisor "QEMU"', async (t) => {
  for (const f of qemuTables('FACP')) {
    // With virtualization=on the guest owns EL2, so QEMU's PSCI conduit is SMC.
    const el2 = f.label.includes('el2');
    t.match(parseFadt(f.bytes), {
      header: { revision: 6, length: 276 }, hwReducedAcpi: true, psciCompliant: true, psciUseHvc: !el2, fadtVersion: '6.0', dsdt: '0x0',
      hypervisorVendorIdentity: '0x554d4551', // "QEMU" little-endian
    }, f.label);
    t.not(parseFadt(f.bytes).xDsdt, '0x0');
  }
  t.match(parseFadt(amlFixture(armDataTables(), 'fadt-arm').bytes), { hwReducedAcpi: true, psciCompliant: true, psciUseHvc: true, fadtVersion: '6.3', xDsdt: '0x80001000' });
  t.match(parseFadt(amlFixture(iaslTemplates(), 'facp').bytes), { hwReducedAcpi: false, psciCompliant: false, psciUseHvc: false });
});

t.test('older, shorter FADTs: later fields are null, iasl agrees on the rest', async (t) => {
  const [q] = qemuTables('FACP');
  if (!q) throw new Error('no FADT');
  for (const [revision, length] of [[5, 268], [5, 244], [3, 244], [1, 116]] as const) {
    const b = buildTable(mutate(q.bytes.subarray(0, length), (_, x) => { x[8] = revision; }, false));
    const f = parseFadt(b);
    t.equal(f.header.length, length);
    checkFadt(t, f, disassemble(b));
  }
  t.throws(() => parseFadt(buildTable(q.bytes.subarray(0, 112))), { name: 'ParseError', structure: 'FADT', offset: 4, message: /less than the 116 bytes/ });
});
