/**
 * Serial port subtypes shared by SPCR "Interface Type" and DBG2 "Port
 * Subtype" for Port Type 0x8000 (Microsoft "Debug Port Table 2", Table 3
 * "Serial Port Subtypes"; Linux actbl1.h ACPI_DBG2_*).
 */
const SERIAL_SUBTYPES: Record<number, string> = {
  0x0000: '16550 compatible',
  0x0001: '16550 subset (DBGP revision 1)',
  0x0002: 'MAX311xE SPI UART',
  0x0003: 'ARM PL011 UART',
  0x0004: 'MSM8x60',
  0x0005: 'Nvidia 16550',
  0x0006: 'TI OMAP',
  0x0008: 'APM88xxxx',
  0x0009: 'MSM8974',
  0x000a: 'SAM5250',
  0x000b: 'Intel USIF',
  0x000c: 'i.MX 6',
  // Microsoft: "ARM SBSA (2.x only) Generic UART supporting only 32-bit accesses (deprecated)".
  0x000d: 'ARM SBSA Generic UART (2.x only, 32-bit access)',
  0x000e: 'ARM SBSA Generic UART',
  0x000f: 'ARM DCC',
  0x0010: 'BCM2835',
  0x0011: 'SDM845 at 1.8432 MHz',
  0x0012: '16550 compatible with parameters defined in Generic Address Structure',
  0x0013: 'SDM845 at 7.372 MHz',
  0x0014: 'Intel LPSS',
  0x0015: 'RISC-V SBI console',
};

export function serialSubtypeName(subtype: number): string {
  return SERIAL_SUBTYPES[subtype] ?? 'Reserved';
}

/** SBSA-compatible console UARTs: the PL011 (a superset) and the SBSA Generic UART forms. */
export function isSbsaCompatibleUart(subtype: number): boolean {
  return subtype === 0x0003 || subtype === 0x000d || subtype === 0x000e;
}

/** DBG2 Port Types (Microsoft DBG2 Table 2). */
const PORT_TYPES: Record<number, string> = {
  0x8000: 'Serial',
  0x8001: '1394',
  0x8002: 'USB',
  0x8003: 'Net',
};

export function dbg2PortTypeName(type: number): string {
  return PORT_TYPES[type] ?? 'Reserved';
}

/** DBG2 port subtype name for a port type (only Serial and USB subtypes are named). */
export function dbg2PortSubtypeName(type: number, subtype: number): string {
  if (type === 0x8000) return serialSubtypeName(subtype);
  if (type === 0x8001) return subtype === 0 ? 'IEEE1394 Standard Host Controller' : 'Reserved';
  if (type === 0x8002) return subtype === 0 ? 'XHCI-compliant controller with debug interface' : subtype === 1 ? 'EHCI-compliant controller with debug interface' : 'Reserved';
  if (type === 0x8003) return 'PCI vendor ID';
  return 'Reserved';
}
