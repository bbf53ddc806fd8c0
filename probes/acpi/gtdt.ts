import { ParseError } from '../../bytes/errors.js';
import { type AcpiTableHeader, openTable } from './header.js';
import type { LeReader } from '../../bytes/le-reader.js';
import { type SubtableRef, needLength, walkSubtables } from './subtables.js';
import { hex } from '../../bytes/hex.js';

/** A per-processor timer interrupt and its flags (ACPI 6.5 Table 5.122). */
export interface GtdtTimer {
  gsiv: number;
  flags: number;
  /** Flags bit 0: edge-triggered (else level). */
  edgeTriggered: boolean;
  /** Flags bit 1: active low (else active high). */
  activeLow: boolean;
  /** Flags bit 2: always-on capable (keeps counting in low-power states). */
  alwaysOn: boolean;
}

/** GT Block Timer structure (ACPI 6.5 Table 5.125): one frame of a memory-mapped timer block. */
export interface GtBlockTimer {
  frameNumber: number;
  cntBaseAddress: string;
  cntEl0BaseAddress: string;
  physicalTimerGsiv: number;
  physicalTimerFlags: number;
  virtualTimerGsiv: number;
  virtualTimerFlags: number;
  commonFlags: number;
}

/** A Platform Timer Structure (ACPI 6.5 §5.2.25.1–2): GT Block (type 0), Arm Generic Watchdog (type 1), or unknown; narrow on `typeName`. */
export type GtdtPlatformTimer =
  | { offset: number; type: 0; typeName: 'GT Block'; length: number; cntCtlBaseAddress: string; timers: GtBlockTimer[] }
  | {
    offset: number; type: 1; typeName: 'Arm Generic Watchdog'; length: number;
    refreshFrameAddress: string; controlFrameAddress: string; timerInterrupt: number; timerFlags: number; secure: boolean;
  }
  | { offset: number; type: number; typeName: 'Reserved'; length: number };

/** Generic Timer Description Table (ACPI 6.5 §5.2.25, Table 5.121). */
export interface Gtdt {
  header: AcpiTableHeader;
  /** CntControlBase: memory-mapped counter control block, 0xFFFFFFFFFFFFFFFF when not provided. */
  cntControlBase: string;
  secureEl1: GtdtTimer;
  nonSecureEl1: GtdtTimer;
  virtualEl1: GtdtTimer;
  /** The non-secure EL2 (hypervisor) physical timer. */
  nonSecureEl2: GtdtTimer;
  /** CntReadBase (ACPI 5.1+, revision 2), null in a shorter table. */
  cntReadBase: string | null;
  platformTimerCount: number;
  platformTimerOffset: number;
  /** Virtual EL2 timer (revision 3, ACPI 6.3+), null before. */
  virtualEl2: GtdtTimer | null;
  platformTimers: GtdtPlatformTimer[];
  gtBlockCount: number;
  watchdogCount: number;
  /**
   * Inconsistencies in the platform timer part (an offset into the fixed part,
   * structures that overrun the table), each as "GTDT at offset N: why". The
   * fixed part, per-processor timers included, is still reported.
   */
  problems: string[];
}

/** ACPI 5.0's GTDT ended after the EL2 timer flags. */
const GTDT_MIN_LENGTH = 80;
/** Revision 2 fixed part: through Platform Timer Offset. */
const GTDT_REV2_LENGTH = 96;
/** Revision 3 fixed part: through Virtual EL2 Timer Flags. */
const GTDT_REV3_LENGTH = 104;
/** A GT Block holds at most 8 timer frames (ACPI 6.5 Table 5.124). */
const GT_BLOCK_MAX_TIMERS = 8;
const GT_BLOCK_TIMER_LENGTH = 40;

function timer(r: LeReader, offset: number, name: string): GtdtTimer {
  const flags = r.u32(offset + 4, `${name} Flags`);
  return {
    gsiv: r.u32(offset, `${name} GSIV`),
    flags,
    edgeTriggered: (flags & 1) !== 0,
    activeLow: (flags & 2) !== 0,
    alwaysOn: (flags & 4) !== 0,
  };
}

export function parseGtdt(bytes: Uint8Array): Gtdt {
  const { header, r } = openTable(bytes, 'GTDT', 'GTDT');
  if (header.length < GTDT_MIN_LENGTH) {
    throw new ParseError('GTDT', 4, `Length ${header.length} is less than the ${GTDT_MIN_LENGTH} bytes of the smallest GTDT`);
  }
  const rev2 = header.length >= GTDT_REV2_LENGTH;
  const rev3 = header.revision >= 3 && header.length >= GTDT_REV3_LENGTH;
  const platformTimerCount = rev2 ? r.u32(88, 'Platform Timer Count') : 0;
  const platformTimerOffset = rev2 ? r.u32(92, 'Platform Timer Offset') : 0;
  const gtdt: Gtdt = {
    header,
    cntControlBase: hex(r.u64(36, 'CntControlBase Physical Address')),
    secureEl1: timer(r, 48, 'Secure EL1 Timer'),
    nonSecureEl1: timer(r, 56, 'Non-Secure EL1 Timer'),
    virtualEl1: timer(r, 64, 'Virtual EL1 Timer'),
    nonSecureEl2: timer(r, 72, 'EL2 Timer'),
    cntReadBase: rev2 ? hex(r.u64(80, 'CntReadBase Physical Address')) : null,
    platformTimerCount,
    platformTimerOffset,
    virtualEl2: rev3 ? timer(r, 96, 'Virtual EL2 Timer') : null,
    platformTimers: [],
    gtBlockCount: 0,
    watchdogCount: 0,
    problems: [],
  };
  if (platformTimerCount > 0) {
    // The platform timers are optional (memory-mapped timers, watchdogs): damage there is recorded, and
    // does not hide the per-processor timers every guest needs.
    try {
      const fixed = rev3 ? GTDT_REV3_LENGTH : GTDT_REV2_LENGTH;
      if (platformTimerOffset < fixed) {
        throw new ParseError('GTDT', 92, `Platform Timer Offset ${platformTimerOffset} points into the ${fixed}-byte fixed part of a revision ${header.revision} GTDT`);
      }
      const refs = walkSubtables(r, platformTimerOffset, header.length, {
        structure: 'GTDT Platform Timer Structure',
        lengthSize: 2,
        minLength: 4,
        count: platformTimerCount,
      });
      gtdt.platformTimers = Array.from(refs, (ref) => platformTimer(r, ref));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      gtdt.problems.push(e.message);
    }
  }
  gtdt.gtBlockCount = gtdt.platformTimers.filter((t) => t.type === 0).length;
  gtdt.watchdogCount = gtdt.platformTimers.filter((t) => t.type === 1).length;
  return gtdt;
}

function platformTimer(r: LeReader, ref: SubtableRef): GtdtPlatformTimer {
  const o = ref.offset;
  if (ref.type === 0) {
    const s = 'GTDT GT Block';
    needLength(ref, 20, s);
    const count = r.u32(o + 12, 'GT Block Timer Count');
    const timersOffset = r.u32(o + 16, 'GT Block Timer Offset');
    if (count > GT_BLOCK_MAX_TIMERS) throw new ParseError(s, o + 12, `GT Block Timer Count ${count} exceeds the maximum of ${GT_BLOCK_MAX_TIMERS}`);
    if (count > 0 && (timersOffset < 20 || timersOffset + count * GT_BLOCK_TIMER_LENGTH > ref.length)) {
      throw new ParseError(s, o + 16, `${count} timers at offset ${timersOffset} do not fit in the ${ref.length}-byte GT Block`);
    }
    const timers: GtBlockTimer[] = [];
    for (let i = 0; i < count; i++) {
      const t = o + timersOffset + i * GT_BLOCK_TIMER_LENGTH;
      timers.push({
        frameNumber: r.u8(t, 'GTFrameNumber'),
        cntBaseAddress: hex(r.u64(t + 4, 'CntBaseX')),
        cntEl0BaseAddress: hex(r.u64(t + 12, 'CntEL0BaseX')),
        physicalTimerGsiv: r.u32(t + 20, 'GTx Physical Timer GSIV'),
        physicalTimerFlags: r.u32(t + 24, 'GTx Physical Timer Flags'),
        virtualTimerGsiv: r.u32(t + 28, 'GTx Virtual Timer GSIV'),
        virtualTimerFlags: r.u32(t + 32, 'GTx Virtual Timer Flags'),
        commonFlags: r.u32(t + 36, 'GTx Common Flags'),
      });
    }
    return { offset: o, type: 0, typeName: 'GT Block', length: ref.length, cntCtlBaseAddress: hex(r.u64(o + 4, 'CntCtlBase')), timers };
  }
  if (ref.type === 1) {
    needLength(ref, 28, 'GTDT Arm Generic Watchdog');
    const timerFlags = r.u32(o + 24, 'Watchdog Timer Flags');
    return {
      offset: o,
      type: 1,
      typeName: 'Arm Generic Watchdog',
      length: ref.length,
      refreshFrameAddress: hex(r.u64(o + 4, 'RefreshFrame Physical Address')),
      controlFrameAddress: hex(r.u64(o + 12, 'WatchdogControlFrame Physical Address')),
      timerInterrupt: r.u32(o + 20, 'Watchdog Timer GSIV'),
      timerFlags,
      secure: (timerFlags & 4) !== 0,
    };
  }
  return { offset: o, type: ref.type, typeName: 'Reserved', length: ref.length };
}
