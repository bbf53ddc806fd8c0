import { type AcpiTableHeader, openTable } from './header.js';
import type { LeReader } from '../../bytes/le-reader.js';
import { type SubtableRef, needLength, walkSubtables } from './subtables.js';
import { hex } from '../../bytes/hex.js';

/** MADT Interrupt Controller Structure types (ACPI 6.5 §5.2.12, Table 5.21). */
export const MADT_TYPE = {
  GICC: 0x0b,
  GICD: 0x0c,
  GIC_MSI_FRAME: 0x0d,
  GICR: 0x0e,
  GIC_ITS: 0x0f,
} as const;

const MADT_TYPE_NAMES: Record<number, string> = {
  0x00: 'Processor Local APIC',
  0x01: 'I/O APIC',
  0x02: 'Interrupt Source Override',
  0x03: 'NMI Source',
  0x04: 'Local APIC NMI',
  0x05: 'Local APIC Address Override',
  0x06: 'I/O SAPIC',
  0x07: 'Local SAPIC',
  0x08: 'Platform Interrupt Sources',
  0x09: 'Processor Local x2APIC',
  0x0a: 'Local x2APIC NMI',
  0x0b: 'GIC CPU Interface (GICC)',
  0x0c: 'GIC Distributor (GICD)',
  0x0d: 'GIC MSI Frame',
  0x0e: 'GIC Redistributor (GICR)',
  0x0f: 'GIC Interrupt Translation Service (ITS)',
  0x10: 'Multiprocessor Wakeup',
  0x11: 'Core Programmable Interrupt Controller (CORE PIC)',
  0x12: 'Legacy I/O Programmable Interrupt Controller (LIO PIC)',
  0x13: 'HyperTransport Programmable Interrupt Controller (HT PIC)',
  0x14: 'Extend I/O Programmable Interrupt Controller (EIO PIC)',
  0x15: 'MSI Programmable Interrupt Controller (MSI PIC)',
  0x16: 'Bridge I/O Programmable Interrupt Controller (BIO PIC)',
  0x17: 'Low Pin Count Programmable Interrupt Controller (LPC PIC)',
  0x18: 'RISC-V Hart Local Interrupt Controller (RINTC)',
  0x19: 'RISC-V Incoming MSI Controller (IMSIC)',
  0x1a: 'RISC-V Advanced Platform-Level Interrupt Controller (APLIC)',
  0x1b: 'RISC-V Platform-Level Interrupt Controller (PLIC)',
};

export function madtTypeName(type: number): string {
  return MADT_TYPE_NAMES[type] ?? (type >= 0x80 ? 'OEM' : 'Reserved');
}

/** GICC Flags (ACPI 6.5 Table 5.47). */
export const GICC_ENABLED = 1 << 0;
export const GICC_PERFORMANCE_INTERRUPT_MODE = 1 << 1;
export const GICC_VGIC_MAINTENANCE_INTERRUPT_MODE = 1 << 2;
export const GICC_ONLINE_CAPABLE = 1 << 3;

/**
 * GIC CPU Interface structure (ACPI 6.5 §5.2.12.14, Table 5.46). The
 * structure grew over revisions (40 bytes in ACPI 5.0, 76 in 5.1, 80 in
 * 6.0, 82 in 6.5): fields past this structure's Length are null.
 */
export interface Gicc {
  offset: number;
  length: number;
  cpuInterfaceNumber: number;
  /** ACPI Processor UID. */
  uid: number;
  flags: number;
  enabled: boolean;
  /** Flags bit 1: the performance interrupt is edge-triggered (else level). */
  performanceInterruptEdge: boolean;
  /** Flags bit 3 (ACPI 6.5): a disabled CPU can be brought online later. */
  onlineCapable: boolean;
  parkingVersion: number;
  performanceInterrupt: number;
  parkedAddress: string;
  /** Physical Base Address of the GICv2 CPU interface (0 with GICv3 system registers). */
  baseAddress: string;
  gicvBaseAddress: string | null;
  gichBaseAddress: string | null;
  /** VGIC maintenance interrupt GSIV. */
  vgicInterrupt: number | null;
  gicrBaseAddress: string | null;
  armMpidr: string | null;
  efficiencyClass: number | null;
  speInterrupt: number | null;
  trbeInterrupt: number | null;
}

/** GIC Distributor structure (ACPI 6.5 §5.2.12.15, Table 5.48). */
export interface Gicd {
  offset: number;
  gicId: number;
  baseAddress: string;
  /** System Vector Base: must be 0 on ARM. */
  globalIrqBase: number;
  /** GIC version as declared: 0 none (infer from hardware), 1 GICv1, 2 GICv2, 3 GICv3, 4 GICv4. */
  version: number;
}

/** GIC MSI Frame structure (ACPI 6.5 §5.2.12.16, Table 5.50). */
export interface GicMsiFrame {
  offset: number;
  msiFrameId: number;
  baseAddress: string;
  flags: number;
  /** Flags bit 0: SPI Count and SPI Base below override the frame's MSI_TYPER. */
  spiSelect: boolean;
  spiCount: number;
  spiBase: number;
}

/** GIC Redistributor structure (ACPI 6.5 §5.2.12.17, Table 5.52). */
export interface Gicr {
  offset: number;
  flags: number;
  baseAddress: string;
  length: number;
}

/** GIC Interrupt Translation Service structure (ACPI 6.5 §5.2.12.18, Table 5.54). */
export interface GicIts {
  offset: number;
  flags: number;
  translationId: number;
  baseAddress: string;
}

/** Any other interrupt controller structure: skipped by its Length, reported by type. */
export interface MadtOtherSubtable {
  offset: number;
  type: number;
  typeName: string;
  length: number;
}

/** Multiple APIC Description Table (ACPI 6.5 §5.2.12, Table 5.19), GIC view. */
export interface Madt {
  header: AcpiTableHeader;
  /** Local Interrupt Controller Address (x86 APIC; 0 on ARM). */
  localInterruptControllerAddress: string;
  flags: number;
  /** Flags bit 0 PCAT_COMPAT: dual 8259 present (never on ARM). */
  pcatCompat: boolean;
  gicc: Gicc[];
  gicd: Gicd[];
  gicMsiFrames: GicMsiFrame[];
  gicr: Gicr[];
  gicIts: GicIts[];
  other: MadtOtherSubtable[];
  giccCount: number;
  giccEnabledCount: number;
  /**
   * The GIC version: the GICD's Version field when non-zero; otherwise
   * inferred (3 if there are redistributors or ITSs, which only GICv3+
   * has; else 2); null without a GICD.
   */
  gicVersion: number | null;
  gicVersionSource: 'gicd' | 'inferred' | null;
}

const MADT_SUBTABLES_START = 44;

export function parseMadt(bytes: Uint8Array): Madt {
  const { header, r } = openTable(bytes, 'APIC', 'MADT');
  const flags = r.u32(40, 'Flags');
  const madt: Madt = {
    header,
    localInterruptControllerAddress: hex(r.u32(36, 'Local Interrupt Controller Address')),
    flags,
    pcatCompat: (flags & 1) !== 0,
    gicc: [],
    gicd: [],
    gicMsiFrames: [],
    gicr: [],
    gicIts: [],
    other: [],
    giccCount: 0,
    giccEnabledCount: 0,
    gicVersion: null,
    gicVersionSource: null,
  };
  // Interrupt Controller Structures: Type (1), Length (1), then the body.
  const refs = walkSubtables(r, MADT_SUBTABLES_START, header.length, {
    structure: 'MADT interrupt controller structure',
    lengthSize: 1,
    minLength: 2,
  });
  for (const ref of refs) {
    switch (ref.type) {
      case MADT_TYPE.GICC: madt.gicc.push(readGicc(r, ref)); break;
      case MADT_TYPE.GICD: madt.gicd.push(readGicd(r, ref)); break;
      case MADT_TYPE.GIC_MSI_FRAME: madt.gicMsiFrames.push(readMsiFrame(r, ref)); break;
      case MADT_TYPE.GICR: madt.gicr.push(readGicr(r, ref)); break;
      case MADT_TYPE.GIC_ITS: madt.gicIts.push(readIts(r, ref)); break;
      default: madt.other.push({ offset: ref.offset, type: ref.type, typeName: madtTypeName(ref.type), length: ref.length });
    }
  }
  madt.giccCount = madt.gicc.length;
  madt.giccEnabledCount = madt.gicc.filter((c) => c.enabled).length;
  const declared = madt.gicd.find((d) => d.version !== 0)?.version;
  if (declared !== undefined) {
    madt.gicVersion = declared;
    madt.gicVersionSource = 'gicd';
  } else if (madt.gicd.length > 0) {
    const v3 = madt.gicr.length > 0 || madt.gicIts.length > 0 || madt.gicc.some((c) => c.gicrBaseAddress !== null && c.gicrBaseAddress !== '0x0');
    madt.gicVersion = v3 ? 3 : 2;
    madt.gicVersionSource = 'inferred';
  }
  return madt;
}

function readGicc(r: LeReader, ref: SubtableRef): Gicc {
  const s = 'MADT GICC structure';
  // ACPI 5.0's GICC ended after the Physical Base Address: the least we can read.
  needLength(ref, 40, s);
  const o = ref.offset;
  const has = (field: number, size: number) => field + size <= ref.length;
  const flags = r.u32(o + 12, 'Flags');
  return {
    offset: o,
    length: ref.length,
    cpuInterfaceNumber: r.u32(o + 4, 'CPU Interface Number'),
    uid: r.u32(o + 8, 'ACPI Processor UID'),
    flags,
    enabled: (flags & GICC_ENABLED) !== 0,
    performanceInterruptEdge: (flags & GICC_PERFORMANCE_INTERRUPT_MODE) !== 0,
    onlineCapable: (flags & GICC_ONLINE_CAPABLE) !== 0,
    parkingVersion: r.u32(o + 16, 'Parking Protocol Version'),
    performanceInterrupt: r.u32(o + 20, 'Performance Interrupt GSIV'),
    parkedAddress: hex(r.u64(o + 24, 'Parked Address')),
    baseAddress: hex(r.u64(o + 32, 'Physical Base Address')),
    gicvBaseAddress: has(40, 8) ? hex(r.u64(o + 40, 'GICV')) : null,
    gichBaseAddress: has(48, 8) ? hex(r.u64(o + 48, 'GICH')) : null,
    vgicInterrupt: has(56, 4) ? r.u32(o + 56, 'VGIC Maintenance interrupt') : null,
    gicrBaseAddress: has(60, 8) ? hex(r.u64(o + 60, 'GICR Base Address')) : null,
    armMpidr: has(68, 8) ? hex(r.u64(o + 68, 'MPIDR')) : null,
    efficiencyClass: has(76, 1) ? r.u8(o + 76, 'Processor Power Efficiency Class') : null,
    speInterrupt: has(78, 2) ? r.u16(o + 78, 'SPE overflow Interrupt') : null,
    trbeInterrupt: has(80, 2) ? r.u16(o + 80, 'TRBE Interrupt') : null,
  };
}

function readGicd(r: LeReader, ref: SubtableRef): Gicd {
  needLength(ref, 24, 'MADT GICD structure');
  const o = ref.offset;
  return {
    offset: o,
    gicId: r.u32(o + 4, 'GIC ID'),
    baseAddress: hex(r.u64(o + 8, 'Physical Base Address')),
    globalIrqBase: r.u32(o + 16, 'System Vector Base'),
    version: r.u8(o + 20, 'GIC version'),
  };
}

function readMsiFrame(r: LeReader, ref: SubtableRef): GicMsiFrame {
  needLength(ref, 24, 'MADT GIC MSI Frame structure');
  const o = ref.offset;
  const flags = r.u32(o + 16, 'Flags');
  return {
    offset: o,
    msiFrameId: r.u32(o + 4, 'GIC MSI Frame ID'),
    baseAddress: hex(r.u64(o + 8, 'Physical Base Address')),
    flags,
    spiSelect: (flags & 1) !== 0,
    spiCount: r.u16(o + 20, 'SPI Count'),
    spiBase: r.u16(o + 22, 'SPI Base'),
  };
}

function readGicr(r: LeReader, ref: SubtableRef): Gicr {
  needLength(ref, 16, 'MADT GICR structure');
  const o = ref.offset;
  return {
    offset: o,
    flags: r.u8(o + 2, 'Flags'),
    baseAddress: hex(r.u64(o + 4, 'Discovery Range Base Address')),
    length: r.u32(o + 12, 'Discovery Range Length'),
  };
}

function readIts(r: LeReader, ref: SubtableRef): GicIts {
  needLength(ref, 20, 'MADT GIC ITS structure');
  const o = ref.offset;
  return {
    offset: o,
    flags: r.u8(o + 2, 'Flags'),
    translationId: r.u32(o + 4, 'GIC ITS ID'),
    baseAddress: hex(r.u64(o + 8, 'Physical Base Address')),
  };
}
