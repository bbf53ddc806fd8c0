import { arr, str } from '../facts-schema.js';
import type { LoadedAcpi } from './acpi.js';
import type { LoadedDt } from './devicetree.js';

/**
 * Missing evidence is one thing everywhere: a probe lists what its facts rest
 * on but the evidence does not hold, and the clauses reading it say "when
 * missing is []". A clause whose input is absent is therefore undecided
 * (today's skip) with the missing file named, never a FAIL on a null fact.
 */
export const MISSING_FACT = {
  missing: arr(str(), 'evidence the facts rest on that the bundle does not hold, or holds only in a form that does not parse (guest paths); [] when nothing needed is missing'),
};

export const KERNEL_LOG = 'the kernel log (/cmd/dmesg)';

/**
 * The hardware description is missing when the guest shows neither ACPI
 * tables nor a device tree, and unusable when the device tree it booted
 * with does not parse: what the firmware declared (PSCI, GIC, timer) cannot
 * be read from it. That damage is judged once, by the HW-3 description
 * clauses; the clauses resting on the description are undecided.
 */
export function missingDescription(acpi: LoadedAcpi, dt: LoadedDt): string[] {
  if (acpi.present) return [];
  if (!dt.present) return ['/sys/firmware/acpi/tables or /sys/firmware/fdt (the hardware description)'];
  return dt.error !== null ? ['/sys/firmware/fdt in readable form (it does not parse; see V2-HW-DT-COMPLETE)'] : [];
}
