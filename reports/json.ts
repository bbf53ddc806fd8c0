import type { RunWithWaivers } from '../engine/waivers.js';

/**
 * The results JSON exactly as the core wrote it (schema/results.schema.json),
 * plus waiver data: `results[].waiver` and `warnings` when waivers were applied.
 * Nothing is truncated here: this is the complete record the other formats shorten.
 */
export function renderJson(run: RunWithWaivers): string {
  return `${JSON.stringify(run, null, 2)}\n`;
}
