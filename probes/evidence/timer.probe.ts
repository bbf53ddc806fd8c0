import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { dtVirtualTimerIntid, loadDt } from './devicetree.js';
import { dmesgFacts } from './dmesg.js';
import { parseInterrupts } from './procfs.js';
import { KERNEL_LOG, MISSING_FACT, missingDescription } from './missing.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { enumOf, type FactsOf, nbool, nint, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.timer`: is the guest using the architected virtual timer and
 * counter? The kernel says so at boot ("arch_timer: cp15 timer(s) running
 * at 62.50MHz (virt)."), and /proc/interrupts shows the arch_timer
 * interrupt on the virtual timer's INTID (PPI 11 = INTID 27, as the GTDT
 * virtual EL1 timer GSIV or the DT timer's third interrupt gives it)
 * counting. `described` says whether the firmware describes that timer.
 *
 * Which timer the kernel drives is the guest's choice (Linux entered at EL2
 * takes the physical or hypervisor timer), so the capability is judged
 * apart from it: the virtual timer described (`described`), the Generic
 * Timer's counter running (`counterRunning`: the arch_timer driver reports
 * its rate, or arch_sys_counter is a clocksource) and timer interrupts
 * delivered (`counting`), whichever of the timers that is.
 */

/** The virtual EL1 timer's INTID SBSA recommends and QEMU/KVM use (PPI 11). */
export const SBSA_VIRTUAL_TIMER_INTID = 27;

const facts = obj({
  kernelMode: enumOf(['virt', 'phys', null], 'which timer the kernel\'s arch_timer driver chose, from its boot line'),
  frequency: nstr(),
  archTimerIntid: nint('hwirq of the arch_timer row in /proc/interrupts'),
  archTimerInterrupts: nint('arch_timer interrupts counted over all CPUs'),
  firmwareVirtualTimerIntid: nint('GTDT Virtual EL1 Timer GSIV, or the DT timer node\'s virtual timer INTID'),
  firmwareSource: enumOf(['GTDT', 'device tree', null]),
  described: nbool('the firmware describes a virtual timer interrupt'),
  counting: nbool('the arch_timer interrupt has fired'),
  virtualTimerInUse: nbool('the kernel uses the virtual timer: its boot line says (virt), or arch_timer interrupts arrive on the virtual timer INTID'),
  decidedBy: str(),
  clocksource: nstr('/sys/devices/system/clocksource/clocksource0/current_clocksource'),
  counterRunning: nbool('the Generic Timer counter works: the arch_timer driver reports its rate, or arch_sys_counter is a registered clocksource; null when neither the log nor the clocksource list is in the evidence'),
  counterEvidence: str('what decided counterRunning'),
  ...MISSING_FACT,
  ...SOURCE_FACTS,
});

export const timerEvidenceProbe = defineProbe({
  name: 'evidence.timer',
  summary: 'Virtual timer and counter: arch_timer mode, its interrupt counting, GTDT / DT timer description',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.timer');
    const dmesg = dmesgFacts(t);
    const text = t.text('/proc/interrupts');
    const rows = text === undefined ? [] : parseInterrupts(text).rows;
    const timerRow = rows.find((r) => /(^|\s|,)arch_timer($|\s|,)/.test(r.actions));
    const acpi = loadAcpi(t);
    const dt = loadDt(t);
    let fwIntid: number | null = null;
    let source: 'GTDT' | 'device tree' | null = null;
    // The description the guest booted with is judged even when it gives no timer (no GTDT, a DT that
    // does not parse): that is "not described", never "unknown".
    if (acpi.present) {
      fwIntid = acpi.gtdt?.virtualEl1.gsiv ?? null;
      source = 'GTDT';
    } else if (dt.kind === 'machine' || (dt.present && dt.error !== null)) {
      fwIntid = dt.tree ? dtVirtualTimerIntid(dt.tree) : null;
      source = 'device tree';
    }
    const virtIntid = fwIntid !== null && fwIntid !== 0 ? fwIntid : SBSA_VIRTUAL_TIMER_INTID;
    const counting = timerRow ? timerRow.count > 0 : text === undefined ? null : false;
    let inUse: boolean | null = null;
    let decidedBy: string;
    if (dmesg.archTimer?.mode) {
      inUse = dmesg.archTimer.mode === 'virt';
      decidedBy = `kernel log: arch_timer running (${dmesg.archTimer.mode})`;
    } else if (timerRow && timerRow.hwirq !== null) {
      inUse = timerRow.hwirq === virtIntid && timerRow.count > 0;
      decidedBy = `/proc/interrupts: arch_timer on INTID ${timerRow.hwirq} (virtual timer INTID ${virtIntid}), ${timerRow.count} interrupts`;
    } else {
      decidedBy = 'undecided: no arch_timer line in the kernel log and no arch_timer row in /proc/interrupts';
    }
    const clocksource = t.line('/sys/devices/system/clocksource/clocksource0/current_clocksource') ?? null;
    const available = t.line('/sys/devices/system/clocksource/clocksource0/available_clocksource');
    const counterClock = (available ?? '').split(/\s+/).includes('arch_sys_counter') || clocksource === 'arch_sys_counter';
    let counterRunning: boolean | null;
    let counterEvidence: string;
    if (dmesg.archTimer?.frequency) {
      counterRunning = true;
      counterEvidence = `kernel log: arch_timer running at ${dmesg.archTimer.frequency} (${dmesg.archTimer.mode ?? 'mode not logged'})`;
    } else if (counterClock) {
      counterRunning = true;
      counterEvidence = `clocksource arch_sys_counter registered (current: ${clocksource ?? 'unknown'})`;
    } else if (available !== undefined || dmesg.coverage === 'complete') {
      counterRunning = false;
      counterEvidence = available !== undefined ? `no arch_sys_counter clocksource (available: ${available || 'none'})` : 'the complete kernel log has no arch_timer line';
    } else {
      counterRunning = null;
      counterEvidence = 'undecided: no arch_timer line in the kernel log and no clocksource list in the evidence';
    }
    const missing = [
      ...(text === undefined ? ['/proc/interrupts'] : []),
      ...(counterRunning === null && !dmesg.present ? [KERNEL_LOG] : []),
      ...missingDescription(acpi, dt),
    ];
    const out: FactsOf<typeof facts> = {
      kernelMode: dmesg.archTimer?.mode === 'virt' || dmesg.archTimer?.mode === 'phys' ? dmesg.archTimer.mode : null,
      frequency: dmesg.archTimer?.frequency ?? null,
      archTimerIntid: timerRow?.hwirq ?? null,
      archTimerInterrupts: timerRow ? timerRow.count : null,
      firmwareVirtualTimerIntid: fwIntid,
      firmwareSource: source,
      described: source === null ? null : fwIntid !== null && fwIntid !== 0,
      counting,
      virtualTimerInUse: inUse,
      decidedBy,
      clocksource,
      counterRunning,
      counterEvidence,
      missing,
      ...t.sourceFacts(),
    };
    return out;
  },
});
