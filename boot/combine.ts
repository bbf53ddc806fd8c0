import type { Result, Status } from '../engine/results.js';

/**
 * One verdict per clause from several runs of the same selection: the
 * static image check, each boot's in-guest evidence and the host's own
 * record. A clause fails if any run shows it failing (a GICv3 boot cannot
 * excuse a GICv2 failure); otherwise an error stands; otherwise one pass
 * decides (PLAT-5's GICv2 clause passes on the GICv2 boot and is not
 * applicable on the GICv3 one). Every run's verdict is kept in `runs`.
 */
export interface RunVerdict {
  run: string;
  status: Status;
  message: string;
}

export interface CombinedResult extends Result {
  runs: RunVerdict[];
}

export interface LabelledRun {
  label: string;
  results: Result[];
}

// undecided ranks below pass (one pass decides) and above skip (one run where the clause applies but was not decided outweighs one where it does not apply).
const RANK: Record<Status, number> = { fail: 5, error: 4, waived: 3, pass: 2, undecided: 1.5, manual: 1, skip: 0 };

/** "needs a disk image …" verdicts (skip or undecided) mean the run could not look at all: any other verdict says more. */
const NOT_GIVEN = /^needs /;
const rank = (r: Result): number => (NOT_GIVEN.test(r.message) ? -1 : RANK[r.status]);

export function combineRuns(order: string[], runs: LabelledRun[]): CombinedResult[] {
  const byRun = runs.map((r) => ({ label: r.label, byId: new Map(r.results.map((x) => [x.id, x])) }));
  return order.map((id) => {
    const seen = byRun.flatMap(({ label, byId }) => {
      const r = byId.get(id);
      return r ? [{ label, r }] : [];
    });
    if (seen.length === 0) throw new Error(`internal: clause ${id} was in no run`);
    const decisive = pickDecisive(seen);
    const verdicts: RunVerdict[] = seen.map(({ label, r }) => ({ run: label, status: r.status, message: r.message }));
    const several = seen.filter((s) => s.r.status === decisive.r.status).length;
    const prefix = seen.length > 1 && decisive.r.status !== 'manual' ? `${decisive.label}${several > 1 && decisive.r.status === 'pass' ? ` (and ${several - 1} more)` : ''}: ` : '';
    return { ...decisive.r, message: `${prefix}${decisive.r.message}`, runs: verdicts };
  });
}

function pickDecisive(seen: { label: string; r: Result }[]): { label: string; r: Result } {
  let best = seen[0]!;
  for (const s of seen) {
    if (rank(s.r) > rank(best.r)) best = s;
  }
  return best;
}
