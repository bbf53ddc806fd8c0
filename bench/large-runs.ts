import type { RunWithWaivers } from '../engine/waivers.js';
import { summarise, exitCodeFor } from '../engine/results.js';
import { buildRun } from '../test/fixtures/results-builder.js';

/**
 * A realistic run scaled to `count` results: the results-builder run over
 * the real v2 spec (every status, matcher-made mismatches), its results
 * repeated with ids made unique (-R1, -R2, ...).
 */
export function largeRun(count: number): RunWithWaivers {
  const base = buildRun();
  const results = Array.from({ length: count }, (_, i) => {
    const r = base.results[i % base.results.length]!;
    const copy = Math.floor(i / base.results.length);
    return copy === 0 ? r : { ...r, id: `${r.id}-R${copy}` };
  });
  return { ...base, results, summary: summarise(results), exitCode: exitCodeFor(results) };
}
