import { ParseError } from '../../bytes/errors.js';
import { type GenericAddress, readGas } from './gas.js';
import { type AcpiTableHeader, openTable } from './header.js';
import { isSbsaCompatibleUart, serialSubtypeName } from './serial-port-types.js';

/** Configured Baud Rate codes (Microsoft SPCR Table 1). 0: leave the UART as firmware set it. */
const BAUD_RATES: Record<number, number> = { 3: 9600, 4: 19200, 6: 57600, 7: 115200 };

/** Interrupt Type bits (Microsoft SPCR Table 1). */
export const SPCR_INTERRUPT_PCAT = 1 << 0;
export const SPCR_INTERRUPT_IO_APIC = 1 << 1;
export const SPCR_INTERRUPT_IO_SAPIC = 1 << 2;
export const SPCR_INTERRUPT_ARMH_GIC = 1 << 3;
export const SPCR_INTERRUPT_RISCV_PLIC = 1 << 4;

/** Serial Port Console Redirection table (Microsoft SPCR specification, revisions 1–4). */
export interface Spcr {
  header: AcpiTableHeader;
  interfaceType: number;
  interfaceTypeName: string;
  /** PL011 or an SBSA Generic UART form: what VMSPEC PLAT-4 asks for. */
  sbsaCompatible: boolean;
  baseAddress: GenericAddress;
  interruptType: number;
  /** Interrupt Type bit 3: the interrupt is a GIC GSIV. */
  armGicInterrupt: boolean;
  irq: number;
  /** Global System Interrupt (GSIV), for GIC/APIC interrupt types. */
  globalSystemInterrupt: number;
  /** Configured Baud Rate code as stored. */
  baudRate: number;
  /** The code as bits per second; null for 0 ("as is") or an unknown code. */
  baudRateBps: number | null;
  parity: number;
  stopBits: number;
  flowControl: number;
  terminalType: number;
  pciDeviceId: number;
  pciVendorId: number;
  pciBus: number;
  pciDevice: number;
  pciFunction: number;
  pciFlags: number;
  pciSegment: number;
  /** UART Clock Frequency in Hz (revision 3+; 0 = unknown), null before. */
  uartClockFrequency: number | null;
  /** Precise Baud Rate (revision 4+; overrides the code when non-zero), null before. */
  preciseBaudRate: number | null;
  /** ACPI namespace path of the UART device (revision 4+), null before. */
  namespaceString: string | null;
}

const SPCR_MIN_LENGTH = 80;
const SPCR_REV4_LENGTH = 88;

export function parseSpcr(bytes: Uint8Array): Spcr {
  const { header, r } = openTable(bytes, 'SPCR', 'SPCR');
  if (header.length < SPCR_MIN_LENGTH) {
    throw new ParseError('SPCR', 4, `Length ${header.length} is less than the ${SPCR_MIN_LENGTH} bytes every SPCR revision has`);
  }
  const interfaceType = r.u8(36, 'Interface Type');
  const interruptType = r.u8(52, 'Interrupt Type');
  const baudRate = r.u8(58, 'Configured Baud Rate');
  let preciseBaudRate: number | null = null;
  let namespaceString: string | null = null;
  if (header.revision >= 4 && header.length >= SPCR_REV4_LENGTH) {
    preciseBaudRate = r.u32(80, 'Precise Baud Rate');
    const nsLength = r.u16(84, 'NameSpaceStringLength');
    const nsOffset = r.u16(86, 'NameSpaceStringOffset');
    if (nsLength > 0) {
      if (nsOffset < SPCR_REV4_LENGTH) throw new ParseError('SPCR', 86, `NameSpaceStringOffset ${nsOffset} points into the fixed fields`);
      r.need(nsOffset, nsLength, 'NamespaceString');
      namespaceString = r.ascii(nsOffset, nsLength, 'NamespaceString');
    }
  }
  return {
    header,
    interfaceType,
    interfaceTypeName: serialSubtypeName(interfaceType),
    sbsaCompatible: isSbsaCompatibleUart(interfaceType),
    baseAddress: readGas(r, 40, 'Base Address'),
    interruptType,
    armGicInterrupt: (interruptType & SPCR_INTERRUPT_ARMH_GIC) !== 0,
    irq: r.u8(53, 'IRQ'),
    globalSystemInterrupt: r.u32(54, 'Global System Interrupt'),
    baudRate,
    baudRateBps: BAUD_RATES[baudRate] ?? null,
    parity: r.u8(59, 'Parity'),
    stopBits: r.u8(60, 'Stop Bits'),
    flowControl: r.u8(61, 'Flow Control'),
    terminalType: r.u8(62, 'Terminal Type'),
    pciDeviceId: r.u16(64, 'PCI Device ID'),
    pciVendorId: r.u16(66, 'PCI Vendor ID'),
    pciBus: r.u8(68, 'PCI Bus Number'),
    pciDevice: r.u8(69, 'PCI Device Number'),
    pciFunction: r.u8(70, 'PCI Function Number'),
    pciFlags: r.u32(71, 'PCI Flags'),
    pciSegment: r.u8(75, 'PCI Segment'),
    uartClockFrequency: header.revision >= 3 ? r.u32(76, 'UART Clock Frequency') : null,
    preciseBaudRate,
    namespaceString,
  };
}
