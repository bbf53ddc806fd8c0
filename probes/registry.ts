import type { Probe } from './types.js';
import { PROBE_TABLE } from './table.js';

/**
 * Every probe, loaded: the eager view of probes/table.ts, for what needs
 * them all (`spec lint` checks params and fact paths against their schemas,
 * `probe list`). Runs use the table and load only what they need.
 */
export const PROBES: readonly Probe[] = await Promise.all(PROBE_TABLE.map((e) => e.load()));

const byName = new Map(PROBES.map((p) => [p.name, p]));

export function findProbe(name: string): Probe | undefined {
  return byName.get(name);
}
