import type { Probe, ProbeInputKind } from './types.js';
import { PROBE_TABLE } from './table.generated.js';

/**
 * Every probe by name and input, with a loader that imports its module
 * only when called: runs load just the probes their clauses need (an
 * image-only run never loads the evidence probes; `vmspec --version` loads
 * none), and lint and `probe list` load them all (probes/registry.ts).
 *
 * The table itself is generated from the `*.probe.ts` files by
 * build/probe-table.ts at `npm run build` (and `npm run typecheck`), so a
 * new probe is one new file: nothing else lists it.
 */
export interface ProbeEntry {
  readonly name: string;
  readonly input: ProbeInputKind;
  load(): Promise<Probe>;
}

export { PROBE_TABLE };

const byName = new Map(PROBE_TABLE.map((e) => [e.name, e]));

export function probeEntry(name: string): ProbeEntry | undefined {
  return byName.get(name);
}
