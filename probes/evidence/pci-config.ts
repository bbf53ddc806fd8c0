/**
 * A PCI function's configuration space (sysfs `config`), read only as far as
 * hot-plug needs: the capability list, the PCI Express Capability and its
 * Slot Capabilities. Never throws: a damaged list is reported as `problem`.
 */

/** PCI Express Capability ID (PCI Code and ID Assignment, Capability IDs). */
const CAP_ID_PCI_EXPRESS = 0x10;
/** Status register (PCI Local Bus 3.0 §6.2.3): bit 4 Capabilities List. */
const STATUS = 0x06;
const STATUS_CAP_LIST = 0x10;
/** Capabilities Pointer, type 0 and type 1 headers (PCI Local Bus 3.0 §6.7). */
const CAPABILITIES_POINTER = 0x34;
/** The legacy capability list lives in the first 256 bytes; 48 entries is the most that fits. */
const MAX_CAPABILITIES = 48;

/** PCI Express Capabilities Register Device/Port Type (PCIe Base 6.0 §7.5.3.2). */
const PORT_TYPES: Record<number, string> = {
  0x0: 'endpoint',
  0x1: 'legacy endpoint',
  0x4: 'root port',
  0x5: 'switch upstream port',
  0x6: 'switch downstream port',
  0x7: 'PCIe to PCI bridge',
  0x8: 'PCI to PCIe bridge',
  0x9: 'root complex integrated endpoint',
  0xa: 'root complex event collector',
};

export interface PcieSlot {
  /** Device/Port Type, named as PCIe Base §7.5.3.2 names it. */
  portType: string;
  /** PCI Express Capabilities Register bit 8. */
  slotImplemented: boolean;
  /** Slot Capabilities (PCIe Base 6.0 §7.5.3.9) bit 6 Hot-Plug Capable; null without a slot. */
  hotPlugCapable: boolean | null;
  /** Slot Capabilities bit 5 Hot-Plug Surprise. */
  hotPlugSurprise: boolean | null;
  /** Slot Capabilities bits 31:19 Physical Slot Number. */
  physicalSlotNumber: number | null;
}

export type PciConfigReading = { kind: 'pcie'; slot: PcieSlot } | { kind: 'not pcie' } | { kind: 'unknown'; problem: string };

export function readPcieSlot(config: Uint8Array): PciConfigReading {
  const u8 = (o: number) => config[o] ?? 0;
  const u16 = (o: number) => u8(o) | (u8(o + 1) << 8);
  const u32 = (o: number) => (u16(o) | (u16(o + 2) << 16)) >>> 0;
  if (config.length < 0x40) return { kind: 'unknown', problem: `only ${config.length} bytes of configuration space (the header is 64)` };
  if ((u16(STATUS) & STATUS_CAP_LIST) === 0) return { kind: 'not pcie' };
  let ptr = u8(CAPABILITIES_POINTER) & 0xfc;
  const seen = new Set<number>();
  for (let i = 0; i < MAX_CAPABILITIES && ptr !== 0; i++) {
    if (ptr < 0x40 || ptr + 2 > config.length) {
      return { kind: 'unknown', problem: `capability pointer 0x${ptr.toString(16)} is outside the ${config.length} bytes read${config.length <= 0x40 ? ' (reading past 0x40 needs root)' : ''}` };
    }
    if (seen.has(ptr)) return { kind: 'unknown', problem: `the capability list loops at 0x${ptr.toString(16)}` };
    seen.add(ptr);
    if (u8(ptr) === CAP_ID_PCI_EXPRESS) {
      if (ptr + 0x18 > config.length) return { kind: 'unknown', problem: `PCI Express Capability at 0x${ptr.toString(16)} runs past the ${config.length} bytes read` };
      const caps = u16(ptr + 0x02);
      const slotImplemented = (caps & 0x100) !== 0;
      const slotCaps = u32(ptr + 0x14);
      const type = (caps >> 4) & 0xf;
      return {
        kind: 'pcie',
        slot: {
          portType: PORT_TYPES[type] ?? `reserved type 0x${type.toString(16)}`,
          slotImplemented,
          hotPlugCapable: slotImplemented ? (slotCaps & 0x40) !== 0 : null,
          hotPlugSurprise: slotImplemented ? (slotCaps & 0x20) !== 0 : null,
          physicalSlotNumber: slotImplemented ? slotCaps >>> 19 : null,
        },
      };
    }
    ptr = u8(ptr + 1) & 0xfc;
  }
  return { kind: 'not pcie' };
}
