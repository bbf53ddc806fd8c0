/**
 * The fault matrix (test/verdicts/faults.ts, docs/verdicts.md): every
 * baseline passes what it declares and fails exactly its known failures;
 * every fault fails exactly its baseline's failures plus its own clauses,
 * under every spec, with no probe errors. A fault that breaks an unrelated
 * clause, or stops breaking its own, fails here.
 * Costs: `fast` always; `boot` (a real QEMU boot, cached) unless VMSPEC_SKIP_BOOT or
 * QEMU/AAVMF are missing; `slow` only with VMSPEC_SLOW_TESTS=1.
 */
import t from 'tap';
import { BASELINES, FAULTS, SPECS, type Baseline, type Cost, type SpecId } from './faults.js';
import { realBootUnavailable, referenceImage } from './inputs.js';
import { UnsupportedError } from '../../bytes/errors.js';
import { judge, type Verdicts } from './judge.js';
import { fastFixturesUnavailable } from '../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable();
/** Real boots need QEMU, AAVMF and the reference image (built from Debian packages, cached). */
let bootUnavailable = realBootUnavailable();
if (!bootUnavailable && !unavailable) {
  try {
    await referenceImage();
  } catch (e) {
    if (!(e instanceof UnsupportedError)) throw e;
    bootUnavailable = `cannot build the reference image here: ${e.message}`;
  }
}
const baselineRuns = new Map<string, Verdicts>();

async function baselineVerdicts(b: Baseline, spec: SpecId): Promise<Verdicts> {
  const key = `${b.id}:${spec}`;
  let v = baselineRuns.get(key);
  if (!v) {
    v = await judge(await b.build(), spec);
    baselineRuns.set(key, v);
  }
  return v;
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

function skipReason(cost: Cost): string | false {
  if (unavailable) return unavailable;
  if (cost === 'slow' && !process.env.VMSPEC_SLOW_TESTS) return 'slow: set VMSPEC_SLOW_TESTS=1';
  if (cost !== 'fast') return bootUnavailable;
  return false;
}

for (const b of Object.values(BASELINES) as Baseline[]) {
  t.test(`baseline ${b.id}: ${b.title}`, { skip: skipReason(b.cost ?? 'fast') }, async (t) => {
    for (const spec of SPECS) {
      const v = await baselineVerdicts(b, spec);
      t.same(v.error, [], `${spec}: no probe errors`);
      t.same(v.fail, sorted(b.fails[spec]), `${spec}: fails exactly ${b.fails[spec].join(', ') || 'nothing'}`);
      const notPassing = b.passes[spec].filter((id) => !v.pass.includes(id));
      t.same(notPassing, [], `${spec}: passes ${b.passes[spec].length} declared clauses`);
    }
  });
}

for (const f of FAULTS) {
  const b = BASELINES[f.baseline] as Baseline;
  t.test(`fault ${f.id}: ${f.title}`, { skip: skipReason(f.cost) || skipReason(b.cost ?? 'fast') }, async (t) => {
    const input = await f.build();
    for (const spec of SPECS) {
      if (f.refused) {
        await t.rejects(judge(input, spec), { name: 'UnsupportedError', message: f.refused }, `${spec}: refused, with the reason`);
        t.same(f.fails[spec], [], `${spec}: a refused input declares no failing clause`);
        continue;
      }
      const base = await baselineVerdicts(b, spec);
      const overlap = f.fails[spec].filter((id) => base.fail.includes(id));
      t.same(overlap, [], `${spec}: its clauses pass on the baseline (${b.id}), so the fault is what fails them`);
      const v = await judge(input, spec);
      t.same(v.error, [], `${spec}: no probe errors`);
      const expected = sorted([...b.fails[spec], ...f.fails[spec]]);
      const tolerated = f.knownFalseFailures?.clauses[spec] ?? [];
      const falseFailures = v.fail.filter((id) => tolerated.includes(id) && !expected.includes(id));
      if (falseFailures.length) t.comment(`${f.id} ${spec}: known false failures still present: ${falseFailures.join(', ')} (${f.knownFalseFailures?.why})`);
      t.same(v.fail.filter((id) => !falseFailures.includes(id)), expected, `${spec}: fails exactly ${f.fails[spec].join(', ') || 'nothing more than its baseline'}`, {
        results: v.results.filter((r) => r.status === 'fail' && !expected.includes(r.id)).map((r) => ({ id: r.id, message: r.message })),
      });
    }
  });
}
