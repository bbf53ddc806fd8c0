/**
 * The verdict with `undecided`: exit 4 only for a mandatory clause, after
 * 1 (a mandatory failure) and 3 (a probe error); a pass that becomes
 * undecided is a regression in `report diff`. Results are shells of the
 * real spec's clauses (engine/results.ts resultShell), statuses as the
 * evaluator gives them.
 */
import t from 'tap';
import { EXIT, resultShell, verdictOf, type Result, type Status } from '../../engine/results.js';
import { diffExitCode, diffRuns } from '../../reports/diff.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { buildRun } from '../fixtures/results-builder.js';

const spec = loadSpecOrThrow('vmspec-v2');
const req = (id: string) => spec.requirements.find((r) => r.id === id)!;
const must = req('V2-GUEST-GICV3');
const recommended = req('V2-GUEST-VIRTIO-PCI');
const other = req('V2-IMG-GPT');
t.ok(must.mandatory && !recommended.mandatory && other.mandatory, 'the clauses are what the test needs');

const runOf = (...pairs: [typeof must, Status][]): Result[] => pairs.map(([r, s]) => resultShell(r, s, s));

t.test('exit codes: 1 > 3 > 4 > 0; undecided SHOULD-level clauses leave the exit alone', async (t) => {
  t.equal(verdictOf(runOf([must, 'undecided'], [other, 'pass'])).exitCode, EXIT.undecided);
  t.equal(EXIT.undecided, 4);
  t.equal(verdictOf(runOf([must, 'undecided'], [other, 'fail'])).exitCode, EXIT.failed, 'a mandatory failure comes first');
  t.equal(verdictOf(runOf([must, 'undecided'], [recommended, 'error'])).exitCode, EXIT.probeError, 'then a probe error');
  t.equal(verdictOf(runOf([recommended, 'undecided'], [other, 'pass'])).exitCode, EXIT.ok, 'an undecided RECOMMENDED clause does not change the exit');
  t.equal(verdictOf(runOf([must, 'skip'], [other, 'pass'])).exitCode, EXIT.ok, 'not applicable is not undecided');
  t.same(verdictOf(runOf([must, 'undecided'], [recommended, 'undecided'], [other, 'skip'])).summary, { pass: 0, fail: 0, skip: 1, error: 0, waived: 0, manual: 0, undecided: 2 });
});

t.test('report diff: pass → undecided is a regression, undecided → pass a fix', async (t) => {
  const before = buildRun({ statuses: { 'V2-GUEST-GICV3': 'pass' } });
  const after = { ...before, results: before.results.map((r) => (r.id === 'V2-GUEST-GICV3' ? { ...r, status: 'undecided' as const } : r)) };
  const d = diffRuns(before, after);
  t.same(d.regressions.map((c) => `${c.id}: ${c.from} → ${c.to}`), ['V2-GUEST-GICV3: pass → undecided']);
  t.equal(diffExitCode(d), 1);
  const back = diffRuns(after, before);
  t.same(back.fixes.map((c) => c.id), ['V2-GUEST-GICV3']);
  t.equal(diffExitCode(back), 0);
});
