import { loadSpecOrThrow } from '../requirements/spec-load.js';
import { render, REPORT_FORMATS } from '../reports/render.js';
import { renderText } from '../reports/text.js';
import { timeSync, type Bench, type BenchContext, type Row } from './harness.js';
import { largeRun } from './large-runs.js';

const COUNT = 10_000;

/** Rendering one run of 10,000 results in every format, in process (the first sample includes template compilation). */
async function run(ctx: BenchContext): Promise<Row[]> {
  const spec = loadSpecOrThrow('vmspec-v2');
  const big = largeRun(COUNT);
  const rounds = Math.min(ctx.rounds, 5);
  ctx.log(`render: ${COUNT} results, ${REPORT_FORMATS.length + 1} formats × ${rounds} rounds…`);
  const rows: Row[] = [];
  let size = 0;
  rows.push({ what: `render ${COUNT} results: text`, vmspec: timeSync(rounds, () => { size = renderText(big, { colour: false, verbose: true }).length; }), target: { kind: 'absolute', maxMs: 1000 } });
  rows[rows.length - 1]!.note = `${(size / 2 ** 20).toFixed(1)} MiB`;
  for (const f of REPORT_FORMATS) {
    const t = timeSync(rounds, () => { size = render(big, f, spec).length; });
    rows.push({ what: `render ${COUNT} results: ${f}`, vmspec: t, target: { kind: 'absolute', maxMs: 1000 }, note: `${(size / 2 ** 20).toFixed(1)} MiB` });
  }
  return rows;
}

export default { title: 'render', run } satisfies Bench;
