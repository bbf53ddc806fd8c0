/**
 * The probe table (probes/table.ts, generated from the *.probe.ts files at
 * build) is the one list of probes: it must name every probe file's probe,
 * and runs must load only the probe modules their clauses need.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Module, { SourceMap, type SourceMapPayload } from 'node:module';
import { PROBE_TABLE, probeEntry } from '../../probes/table.js';
import { PROBES } from '../../probes/registry.js';
import { buildGptDisk } from '../fixtures/disk-builder.js';
import { repoRoot } from '../fixtures/cache.js';
import { vmspec } from '../cli/cli-runner.js';

function probeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? probeFiles(join(dir, d.name)) : d.name.endsWith('.probe.ts') ? [join(dir, d.name)] : [],
  );
}

t.test('every *.probe.ts file has its probe in the table, loaded by the entry', async (t) => {
  const files = probeFiles(join(repoRoot, 'probes'));
  t.equal(PROBE_TABLE.length, files.length, 'one entry per probe file (stale? run `npm run build`)');
  for (const file of files) {
    const exported = Object.values(await import(pathToFileURL(file).href) as Record<string, unknown>)
      .filter((v): v is { name: string; input: string } => typeof v === 'object' && v !== null && 'run' in v && 'name' in v);
    t.equal(exported.length, 1, `${file}: exports one probe`);
    const probe = exported[0]!;
    const entry = probeEntry(probe.name);
    t.ok(entry, `${probe.name} is in the table`);
    t.equal(entry?.input, probe.input, `${probe.name}: input ${probe.input}`);
    t.equal(await entry?.load(), probe, `${probe.name}: the entry loads this file's probe`);
  }
  t.equal(new Set(PROBE_TABLE.map((e) => e.name)).size, PROBE_TABLE.length, 'names are unique');
  t.same(PROBES.map((p) => p.name), PROBE_TABLE.map((e) => e.name), 'the eager registry is the table, loaded');
});

/**
 * The probe modules whose code a run of the built CLI executes. The bundle
 * (build/bundle.ts) is one CommonJS file whose dynamically imported modules
 * are initialised only when imported; V8's own coverage (NODE_V8_COVERAGE)
 * lists the functions that ran, and the bundle's source map names the source
 * file of each. Returned: the probe table inputs of the *.probe.ts files run.
 */
/** Each *.probe.ts file's probe input kind. */
const inputOf = new Map(await Promise.all(probeFiles(join(repoRoot, 'probes')).map(async (file) => {
  const probe = Object.values(await import(pathToFileURL(file).href) as Record<string, { input?: string; run?: unknown }>).find((v) => typeof v?.run === 'function');
  return [file, probe?.input ?? '?'] as const;
})));

function probeInputsRunBy(args: string[]): { status: number | null; loaded: string[]; stderr: string } {
  const work = mkdtempSync(join(tmpdir(), 'vmspec-probe-trace-'));
  try {
    const r = vmspec(args, { env: { NODE_V8_COVERAGE: work } });
    const bundle = join(repoRoot, 'dist', 'bundle', 'main.cjs');
    const scripts = readdirSync(work).flatMap((f) => (JSON.parse(readFileSync(join(work, f), 'utf8')) as Coverage).result);
    const script = scripts.find((s) => s.url === pathToFileURL(bundle).href);
    if (!script) return { status: r.status, loaded: [], stderr: r.stderr }; // the bundle never ran
    const source = Module.wrap(readFileSync(bundle, 'utf8'));
    const lineStarts = [0];
    for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineStarts.push(i + 1);
    const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as SourceMapPayload);
    const loaded = new Set<string>();
    for (const fn of script.functions) {
      const range = fn.ranges[0];
      if (!range || range.count === 0) continue;
      let line = lineStarts.length - 1;
      while (lineStarts[line]! > range.startOffset) line--;
      // The bundle runs inside Module.wrap's function header, which the map does not know.
      const column = range.startOffset - lineStarts[line]! - (line === 0 ? Module.wrap('').indexOf('\n') : 0);
      if (column < 0) continue;
      const file = (map.findEntry(line, column) as { originalSource?: string }).originalSource;
      const input = file && inputOf.get(resolve(dirname(bundle), file));
      if (input) loaded.add(input);
    }
    return { status: r.status, loaded: [...loaded].sort(), stderr: r.stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface Coverage { result: { url: string; functions: { ranges: { startOffset: number; count: number }[] }[] }[] }

t.test('probe modules load lazily: none for --version, only image probes for an image run', async (t) => {
  const version = probeInputsRunBy(['--version']);
  t.equal(version.status, 0, version.stderr);
  t.same(version.loaded, [], '`vmspec --version` loads no probe');

  const img = buildGptDisk([{ type: 'EF00', sizeMiB: 8, name: 'EFI system' }], { label: 'probe-table' });
  const run = probeInputsRunBy(['verify', img, '--format', 'json']);
  t.ok(run.status === 0 || run.status === 1, run.stderr);
  t.same(run.loaded, ['image'], 'the image probes are loaded, no evidence or host probe');

  const list = probeInputsRunBy(['probe', 'list']);
  t.same(list.loaded, [...new Set(PROBE_TABLE.map((e) => e.input))].sort(), '`probe list` loads them all');
});
