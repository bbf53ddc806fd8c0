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
  missing: arr(str(), 'evidence the facts rest on that the bundle does not hold (guest paths); [] when nothing needed is missing'),
};

export const KERNEL_LOG = 'the kernel log (/cmd/dmesg)';

/** The hardware description is missing when the guest shows neither ACPI tables nor a device tree. */
export function missingDescription(acpi: LoadedAcpi, dt: LoadedDt): string[] {
  return !acpi.present && !dt.present ? ['/sys/firmware/acpi/tables or /sys/firmware/fdt (the hardware description)'] : [];
}
