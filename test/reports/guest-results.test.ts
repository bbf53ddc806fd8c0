import t from 'tap';
import { diffExitCode, diffRuns } from '../../reports/diff.js';
import { mergeRuns, renderMerge } from '../../reports/merge.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import type { Selection } from '../../engine/results.js';
import { verify } from '../../engine/verify.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';

// Diff and merge on real results from the guest suite: bundles made by the
// real collector over QEMU's own ACPI tables and device trees.
const spec = loadSpecOrThrow('vmspec-v2');
const selection: Selection = { profile: 'hypervisor', only: [], section: [], level: [], target: [], tags: [] };
const run = (name: keyof typeof RECIPES) => verify({ spec, selection, evidence: evidenceBundle(name, RECIPES[name] as BundleRecipe).dir });

t.test('a guest regression is found by diff and shown in the matrix', async (t) => {
  const good = await run('acpiGicv2');
  const noUart = await run('spcr16550');
  const uart = (r: typeof good) => r.results.find((x) => x.id === 'V2-PLAT-UART')!.status;
  t.equal(uart(good), 'pass');
  t.equal(uart(noUart), 'fail');

  const d = diffRuns(good, noUart);
  t.same(d.regressions.map((c) => c.id), ['V2-PLAT-UART'], 'exactly the console clause regressed');
  t.equal(diffExitCode(d), 1);
  t.equal(diffExitCode(diffRuns(noUart, good)), 0, 'the way back is a fix');

  const m = mergeRuns([{ run: good, source: 'good.json' }, { run: noUart, source: 'tty0.json' }], spec);
  t.equal(m.columns.length, 2);
  t.same(m.columns.map((c) => c.target.kind), ['evidence', 'evidence']);
  const row = m.sections.flatMap((s) => s.rows).find((r) => r.id === 'V2-PLAT-UART')!;
  t.same(row.cells.map((c) => c?.status ?? null), ['pass', 'fail']);
  for (const format of ['json', 'md', 'junit', 'tap', 'html'] as const) {
    t.ok(renderMerge(m, format).includes('V2-PLAT-UART'), `${format}: the clause is in the merged report`);
  }
});
