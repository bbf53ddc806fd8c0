import { ParseError } from '../../bytes/errors.js';
import { type GenericAddress, GAS_LENGTH, readGas } from './gas.js';
import { type AcpiTableHeader, ifPresent, openTable } from './header.js';
import { hex } from '../../bytes/hex.js';

/** FADT Flags bit 20 (ACPI 6.5 Table 5.10): no fixed ACPI hardware, as ARM systems require. */
export const FADT_HW_REDUCED_ACPI = 1 << 20;
/** FADT Flags bit 21: low-power S0 idle capable. */
export const FADT_LOW_POWER_S0_IDLE_CAPABLE = 1 << 21;
/** ARM_BOOT_ARCH bit 0 (ACPI 6.5 Table 5.12): PSCI is implemented. */
export const ARM_PSCI_COMPLIANT = 1 << 0;
/** ARM_BOOT_ARCH bit 1: PSCI calls use HVC rather than SMC. */
export const ARM_PSCI_USE_HVC = 1 << 1;

/** An ACPI 1.0 FADT ends after Flags (offset 112, 4 bytes); anything shorter is not a FADT. */
const FADT_MIN_LENGTH = 116;

/**
 * Fixed ACPI Description Table (ACPI 6.5 §5.2.9, Table 5.9), the fields an
 * ARM compliance check needs. Fields an older (shorter) FADT does not have are null.
 */
export interface Fadt {
  header: AcpiTableHeader;
  firmwareCtrl: string;
  dsdt: string;
  preferredPmProfile: number;
  sciInt: number;
  iapcBootArch: number;
  flags: number;
  hwReducedAcpi: boolean;
  lowPowerS0IdleCapable: boolean;
  resetReg: GenericAddress | null;
  resetValue: number | null;
  /** ARM_BOOT_ARCH (ACPI 5.1+). */
  armBootArch: number | null;
  psciCompliant: boolean | null;
  psciUseHvc: boolean | null;
  /** FADT Minor Version byte (ACPI 5.1+): low nibble minor version, high nibble errata. */
  fadtMinorVersion: number | null;
  /**
   * "Major.Minor": the FADT Major Version (header Revision) and the Minor
   * Version's low nibble, e.g. "6.3" for ACPI 6.3 (older revisions don't map
   * one to one: ACPI 2.0's FADT is revision 3).
   */
  fadtVersion: string;
  xFirmwareCtrl: string | null;
  xDsdt: string | null;
  sleepControlReg: GenericAddress | null;
  sleepStatusReg: GenericAddress | null;
  /** Hypervisor Vendor Identity (ACPI 6.0+), as a 64-bit hex value. */
  hypervisorVendorIdentity: string | null;
}

export function parseFadt(bytes: Uint8Array): Fadt {
  const { header, r } = openTable(bytes, 'FACP', 'FADT');
  if (header.length < FADT_MIN_LENGTH) {
    throw new ParseError('FADT', 4, `Length ${header.length} is less than the ${FADT_MIN_LENGTH} bytes of the smallest (ACPI 1.0) FADT`);
  }
  const flags = r.u32(112, 'Flags');
  const armBootArch = ifPresent(r, 129, 2, () => r.u16(129, 'ARM_BOOT_ARCH'));
  const fadtMinorVersion = ifPresent(r, 131, 1, () => r.u8(131, 'FADT Minor Version'));
  return {
    header,
    firmwareCtrl: hex(r.u32(36, 'FIRMWARE_CTRL')),
    dsdt: hex(r.u32(40, 'DSDT')),
    preferredPmProfile: r.u8(45, 'Preferred_PM_Profile'),
    sciInt: r.u16(46, 'SCI_INT'),
    iapcBootArch: r.u16(109, 'IAPC_BOOT_ARCH'),
    flags,
    hwReducedAcpi: (flags & FADT_HW_REDUCED_ACPI) !== 0,
    lowPowerS0IdleCapable: (flags & FADT_LOW_POWER_S0_IDLE_CAPABLE) !== 0,
    resetReg: ifPresent(r, 116, GAS_LENGTH, () => readGas(r, 116, 'RESET_REG')),
    resetValue: ifPresent(r, 128, 1, () => r.u8(128, 'RESET_VALUE')),
    armBootArch,
    psciCompliant: armBootArch === null ? null : (armBootArch & ARM_PSCI_COMPLIANT) !== 0,
    psciUseHvc: armBootArch === null ? null : (armBootArch & ARM_PSCI_USE_HVC) !== 0,
    fadtMinorVersion,
    fadtVersion: `${header.revision}.${(fadtMinorVersion ?? 0) & 0x0f}`,
    xFirmwareCtrl: ifPresent(r, 132, 8, () => hex(r.u64(132, 'X_FIRMWARE_CTRL'))),
    xDsdt: ifPresent(r, 140, 8, () => hex(r.u64(140, 'X_DSDT'))),
    sleepControlReg: ifPresent(r, 244, GAS_LENGTH, () => readGas(r, 244, 'SLEEP_CONTROL_REG')),
    sleepStatusReg: ifPresent(r, 256, GAS_LENGTH, () => readGas(r, 256, 'SLEEP_STATUS_REG')),
    hypervisorVendorIdentity: ifPresent(r, 268, 8, () => hex(r.u64(268, 'Hypervisor Vendor Identity'))),
  };
}
