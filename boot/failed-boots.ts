import type { Result } from '../engine/results.js';
import type { BootFailure } from '../probes/host/facts.js';
import { probeEntry } from '../probes/table.js';
import type { LabelledRun } from './combine.js';
import type { PlannedBoot } from './plan.js';

/**
 * A boot that gave no evidence is still a verdict (docs/boot.md, "A boot
 * that cannot happen"). Each planned boot exists to prove some things: a
 * GIC version, a hardware-description mode, and that the firmware starts
 * an OS at all. When it fails, the clauses of what it exists to prove FAIL,
 * with the hypervisor's words and the serial tail, unless another boot that
 * did start an OS proved the same thing; every other clause that needed its
 * evidence is undecided (naming the boot).
 */

/** What a boot configuration is the only way to show. */
export type Aspect = 'GICv2' | 'GICv3' | 'a GIC' | 'ACPI' | 'device tree' | 'firmware';

/** The clauses each aspect exists to prove, v2 and v1 (docs/boot.md has the table). */
export const PROVES: Record<Aspect, readonly string[]> = {
  GICv2: ['V2-PLAT-GICV2'],
  GICv3: ['V2-PLAT-GICV3'],
  'a GIC': ['V1-PLAT-GIC'],
  ACPI: ['V2-HW-ACPI-COMPLETE'],
  'device tree': ['V2-HW-DT-COMPLETE', 'V1-HW-DT-COMPLETE'],
  firmware: ['V2-FW-UEFI', 'V1-FW-UEFI'],
};

export function aspectsOf(b: Pick<PlannedBoot, 'gic' | 'acpi'>): Aspect[] {
  return [b.gic === 2 ? 'GICv2' : 'GICv3', 'a GIC', b.acpi ? 'ACPI' : 'device tree', 'firmware'];
}

export interface BootOutcome {
  plan: Pick<PlannedBoot, 'name' | 'gic' | 'acpi'>;
  label: string;
  failure: BootFailure | null;
}

/**
 * What a failed boot blames. A refusal or a crash of the hypervisor blames
 * the configuration (GIC version, description mode); a boot in which no OS
 * started blames the firmware, and, when another configuration did start an
 * OS with the same firmware, the configuration too. Nothing is blamed that a
 * boot which started an OS has shown, nor the firmware when the image itself
 * failed a mandatory clause (`imageExplainsNoOs`: a broken image also starts
 * no OS).
 */
export function blamedAspects(failed: BootOutcome, all: BootOutcome[], imageExplainsNoOs: boolean): Aspect[] {
  const f = failed.failure;
  if (!f || f.kind === 'no-evidence') return [];
  const started = all.filter((b) => b.failure === null || b.failure.kind === 'no-evidence');
  const shown = new Set(started.flatMap((b) => aspectsOf(b.plan)));
  const config = aspectsOf(failed.plan).filter((a) => a !== 'firmware' && !shown.has(a));
  if (f.kind === 'hypervisor-refused' || f.kind === 'hypervisor-failed') return config;
  if (imageExplainsNoOs) return [];
  return shown.has('firmware') ? config : ['firmware'];
}

/**
 * The failed boot's run, in place of its evidence run: `unjudged` is the
 * selection evaluated without input (every evidence clause "needs" skips,
 * waivers applied). Blamed clauses FAIL unless waived; evidence clauses
 * become undecided, naming the boot; the rest stay as they are.
 */
export function failedBootRun(failed: BootOutcome, blamed: Aspect[], unjudged: Result[]): LabelledRun {
  const f = failed.failure!;
  const blamedIds = new Map(blamed.flatMap((a) => PROVES[a].map((id) => [id, a] as const)));
  const said = f.hypervisorMessage ? ` The hypervisor said: ${f.hypervisorMessage.replace(/\n/g, ' | ')}` : '';
  const lastSerial = f.serialTail.split('\n').filter((l) => l.trim()).slice(-3).join(' | ');
  const serial = lastSerial ? ` Last lines on the UART: ${lastSerial}` : ' Nothing reached the UART.';
  const results = unjudged.map((r): Result => {
    if (r.status === 'waived' || r.status === 'manual') return r;
    const aspect = blamedIds.get(r.id);
    if (aspect !== undefined) {
      const why = aspect === 'firmware'
        ? 'no boot of this run started an operating system, so the firmware never started the image\'s loader'
        : `no boot with ${aspect} started an operating system, so the VM this clause needs could not be run`;
      return {
        ...r,
        status: 'fail',
        message: `${f.reason}; ${why}.${said}${serial}`,
        probe: 'host.boot',
        observed: { boot: failed.plan.name, failure: { ...f } },
        expected: null,
      };
    }
    if ((r.status === 'skip' || r.status === 'undecided') && r.probe !== null && probeEntry(r.probe)?.input === 'evidence') {
      return { ...r, status: 'undecided', message: `undecided: ${f.reason}, so it gave no evidence to judge this clause by.${said}`, observed: { boot: failed.plan.name, failure: { ...f } } };
    }
    return r;
  });
  return { label: failed.label, results };
}
