import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { loadDt } from './devicetree.js';
import { dmesgFacts } from './dmesg.js';
import { parseInterrupts, type InterruptRow } from './procfs.js';
import { KERNEL_LOG, MISSING_FACT, missingDescription } from './missing.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { enumOf, type FactsOf, int, nbool, nint, NO_PARAMS, obj, str } from '../facts-schema.js';

/**
 * `evidence.gic`: the interrupt controller the guest kernel drives and the
 * one the firmware describes. The kernel's view comes from the irq chip
 * names in /proc/interrupts (the GICv2 driver names its chip "GIC-0" or
 * "GIC", or "GICv2" when it runs split EOI/Deactivate, as it does for a
 * kernel entered at EL2; the GICv3 driver "GICv3") and from its boot lines ("GICv3: ...",
 * "GICv2m: ..."); the firmware's from the MADT GICD (ACPI) or the
 * interrupt-controller node's compatible (DT). A GICv4 is driven by the
 * GICv3 driver and counts as the v3 family.
 *
 * One guest shows one GIC: whether the hypervisor can also offer the other
 * version needs a second VM, so the per-version clauses apply only to the
 * version this guest has.
 */

const facts = obj({
  inUse: enumOf(['GICv2', 'GICv3', null], 'the GIC the kernel drives'),
  version: nint(),
  decidedBy: str('what decided inUse'),
  firmwareVersion: nint('GIC version in the MADT (GICD) or the device tree compatible'),
  firmwareSource: enumOf(['MADT', 'device tree', null]),
  consistent: nbool('the kernel drives the GIC version the firmware describes'),
  interruptsDelivered: nbool('the GIC delivered interrupts: a count on any of its PPI or SPI rows in /proc/interrupts, whichever devices the kernel uses'),
  gicInterruptCount: int(),
  msi: enumOf(['ITS', 'GICv2m', null], 'MSI controller in use'),
  redistributors: nint('MADT GICR structures (ACPI only)'),
  ...MISSING_FACT,
  ...SOURCE_FACTS,
});

function chipVersion(chip: string | null): 2 | 3 | null {
  if (chip === null) return null;
  if (/^GICv[34]/.test(chip)) return 3;
  if (/^GIC(v2|-\d+)?$/.test(chip)) return 2;
  return null;
}

export const gicEvidenceProbe = defineProbe({
  name: 'evidence.gic',
  summary: 'GIC version the kernel drives (/proc/interrupts, boot log) vs the firmware description; interrupts delivered',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.gic');
    const text = t.text('/proc/interrupts');
    const rows: InterruptRow[] = text === undefined ? [] : parseInterrupts(text).rows;
    const dmesg = dmesgFacts(t);
    const acpi = loadAcpi(t);
    const dt = loadDt(t);

    const gicRows = rows.filter((r) => chipVersion(r.chip) !== null);
    const versions = new Set(gicRows.map((r) => chipVersion(r.chip)));
    let version: 2 | 3 | null = null;
    let decidedBy: string;
    if (versions.size === 1) {
      version = [...versions][0] ?? null;
      decidedBy = `/proc/interrupts irq chip ${JSON.stringify(gicRows[0]?.chip)}`;
    } else if (dmesg.gic.v3Lines > 0 && dmesg.gic.v2Lines === 0) {
      version = 3;
      decidedBy = 'kernel log: GICv3 driver lines';
    } else if (dmesg.gic.v2Lines > 0 && dmesg.gic.v3Lines === 0) {
      version = 2;
      decidedBy = 'kernel log: GICv2 driver lines';
    } else {
      decidedBy = versions.size > 1 ? 'undecided: /proc/interrupts shows both GIC driver names' : 'undecided: no GIC in /proc/interrupts or the kernel log';
    }

    let firmwareVersion: number | null = null;
    let firmwareSource: 'MADT' | 'device tree' | null = null;
    if (acpi.present && acpi.madt) {
      firmwareVersion = acpi.madt.gicVersion;
      firmwareSource = 'MADT';
    } else if (!acpi.present && dt.kind === 'machine') {
      firmwareVersion = dt.facts?.interruptControllers.find((n) => n.gicVersion !== null)?.gicVersion ?? null;
      firmwareSource = 'device tree';
    }
    const family = (v: number | null) => (v === null ? null : v >= 3 ? 3 : v);
    const gicCount = gicRows.reduce((a, r) => a + r.count, 0);
    const its = rows.some((r) => r.chip === 'ITS-MSI' || (r.chip ?? '').startsWith('ITS')) || dmesg.gic.its;
    const v2m = rows.some((r) => /GICv2m/.test(r.chip ?? '')) || dmesg.gic.v2m;
    const out: FactsOf<typeof facts> = {
      inUse: version === 3 ? 'GICv3' : version === 2 ? 'GICv2' : null,
      version,
      decidedBy,
      firmwareVersion,
      firmwareSource,
      consistent: version !== null && firmwareVersion !== null ? family(firmwareVersion) === version : null,
      interruptsDelivered: text === undefined ? null : gicCount > 0,
      gicInterruptCount: gicCount,
      msi: its ? 'ITS' : v2m ? 'GICv2m' : null,
      redistributors: acpi.madt ? acpi.madt.gicr.length : null,
      missing: [...(text === undefined ? ['/proc/interrupts'] : []), ...(version === null && !dmesg.present ? [KERNEL_LOG] : []), ...missingDescription(acpi, dt)],
      ...t.sourceFacts(),
    };
    return out;
  },
});
