import { evidenceBundle, RECIPES } from '../test/fixtures/evidence-bundles.js';
import { timingOf, type Bench, type BenchContext, type Row } from './harness.js';
import { CLI } from './images.js';
import { compareRoutes, type Route } from './routes.js';

/**
 * Judging a real evidence bundle (the real collector's output for QEMU virt
 * under AAVMF: ACPI, GICv2), as a directory and as a tar. "Evaluation" is
 * the run's own `durationMs`: from verify() start to results (open, manifest
 * check, every probe, verdicts), in a fresh process each time, so it is the
 * cold cost a CLI user pays, without Node's start and the spec load.
 */
async function run(ctx: BenchContext): Promise<Row[]> {
  ctx.log('evidence: bundle acpiGicv2 (real collect.sh on a fake guest root, cached)…');
  const bundle = evidenceBundle('acpiGicv2', RECIPES.acpiGicv2);
  const node: Route = { name: 'node -e 0', steps: [[process.execPath, '-e', '0']] };
  const evaluated = new Map<string, number[]>();
  const cli = (what: string, path: string): Route => {
    evaluated.set(what, []);
    return {
      name: what,
      steps: [[process.execPath, CLI, 'verify', '--evidence', path, '--format', 'json']],
      okExit: [0, 1, 4],
      capture: (out) => evaluated.get(what)!.push((JSON.parse(out) as { durationMs: number }).durationMs),
    };
  };
  const routes = [cli('bundle directory', bundle.dir), cli('bundle tar', bundle.tar)];
  ctx.log(`evidence: ${routes.length + 1} routes × ${ctx.rounds} rounds, interleaved…`);
  const times = compareRoutes([node, ...routes], ctx.rounds);
  const rows: Row[] = [];
  for (const r of routes) {
    rows.push({ what: `evidence evaluation: ${r.name} (verify() in a fresh CLI process, its durationMs)`, vmspec: timingOf(evaluated.get(r.name)!), target: { kind: 'absolute', maxMs: 100 } });
    rows.push({ what: `evidence: vmspec verify --evidence (${r.name}), whole CLI`, vmspec: times.get(r.name)!, peer: { name: node.name, result: times.get(node.name)! }, target: { kind: 'none' } });
  }
  return rows;
}

export default { title: 'evidence', run } satisfies Bench;
