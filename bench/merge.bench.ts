import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchContext, Row } from './harness.js';
import { CLI } from './images.js';
import { buildRun } from '../test/fixtures/results-builder.js';
import { compareRoutes, type Route } from './routes.js';

const FILES = 1000;

/**
 * `vmspec report merge` of 1,000 results files (one per target, every v2
 * clause in each, as results-builder makes them), whole CLI: read, schema-check, merge, render.
 * Peer: `jq -s .`, which only reads and concatenates the same files.
 */
async function run(ctx: BenchContext): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-bench-merge-'));
  try {
    const base = buildRun();
    const files = Array.from({ length: FILES }, (_, i) => {
      const f = join(dir, `target-${String(i).padStart(4, '0')}.json`);
      writeFileSync(f, JSON.stringify({ ...base, target: { ...base.target, path: `/images/target-${i}.qcow2` } }, null, 2));
      return f;
    });
    return measure(ctx, dir, files);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measure(ctx: BenchContext, dir: string, files: string[]): Row[] {
  const jq: Route = { name: 'jq -s .', steps: [['jq', '-s', '.', ...files]] };
  const merges: Route[] = (['json', 'html'] as const).map((f) => ({ name: f, steps: [[process.execPath, CLI, 'report', 'merge', ...files, '--format', f, '-o', join(dir, `merged.${f}`)]] }));
  const rounds = Math.min(ctx.rounds, 5);
  ctx.log(`merge: ${FILES} files, ${merges.length + 1} routes × ${rounds} rounds, interleaved…`);
  const times = compareRoutes([jq, ...merges], rounds);
  return merges.map((m) => ({ what: `merge ${FILES} results files: ${m.name}`, vmspec: times.get(m.name)!, peer: { name: 'jq -s . (read + concatenate)', result: times.get(jq.name)! }, target: { kind: 'absolute', maxMs: 2000 } }));
}

export default { title: 'merge', run } satisfies Bench;
