import type { Probe } from './types.js';
import { ALL_PROBES } from './registry.generated.js';

/**
 * Every probe, loaded: the eager view of probes/table.ts, for what needs
 * them all (`spec lint` checks params and fact paths against their schemas,
 * `probe list`). Runs use the table and load only what they need. Both lists
 * are generated from the `*.probe.ts` files (build/probe-table.ts); this one
 * imports them statically, so the bundle needs no top-level await.
 */
export const PROBES: readonly Probe[] = ALL_PROBES;

const byName = new Map(PROBES.map((p) => [p.name, p]));

export function findProbe(name: string): Probe | undefined {
  return byName.get(name);
}
