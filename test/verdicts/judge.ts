/** One verification of a matrix input with the real engine (engine/verify.ts, what `vmspec verify` runs). */
import { verify } from '../../engine/verify.js';
import type { Result } from '../../engine/results.js';
import { loadSpecOrThrow, type SpecSet } from '../../requirements/spec-load.js';
import type { SpecId } from './faults.js';
import type { VerdictInput } from './inputs.js';

const specs = new Map<SpecId, SpecSet>();

export interface Verdicts {
  /** Clause ids by status, sorted. */
  fail: string[];
  pass: string[];
  error: string[];
  results: Result[];
}

export async function judge(input: VerdictInput, specId: SpecId): Promise<Verdicts> {
  let spec = specs.get(specId);
  if (!spec) {
    spec = loadSpecOrThrow(specId);
    specs.set(specId, spec);
  }
  const run = await verify({ spec, selection: { profile: null, only: [], section: [], level: [], target: [], tags: [] }, ...input });
  const ids = (s: Result['status']) => run.results.filter((r) => r.status === s).map((r) => r.id).sort();
  return { fail: ids('fail'), pass: ids('pass'), error: run.results.filter((r) => r.status === 'error').map((r) => `${r.id}: ${r.message}`), results: run.results };
}
