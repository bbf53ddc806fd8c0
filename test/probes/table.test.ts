/**
 * The probe table (probes/table.ts, generated from the *.probe.ts files at
 * build) is the one list of probes: it must name every probe file's probe,
 * and runs must load only the probe modules their clauses need.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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
 * Run the built CLI with a module hook that records every probe chunk it
 * resolves: the bundle (build/bundle.ts) puts the probes of one input kind in
 * one chunk, dist/bundle/probes-<input>-HASH.js, so `loaded` lists input kinds.
 */
function probeModulesLoadedBy(args: string[]): { status: number | null; loaded: string[]; stderr: string } {
  const work = mkdtempSync(join(tmpdir(), 'vmspec-probe-trace-'));
  try {
    const trace = join(work, 'trace');
    const hook = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (/\\/dist\\/bundle\\/probes-[a-z]+-[A-Z0-9]+\\.js$/.test(r.url)) appendFileSync(${JSON.stringify(trace)}, r.url + '\\n');
  return r;
}`;
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const r = vmspec(args, { env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(register)}` } });
    let loaded: string[] = [];
    try {
      loaded = [...new Set(readFileSync(trace, 'utf8').trim().split('\n'))].map((u) => /\/probes-([a-z]+)-/.exec(u)![1]!).sort();
    } catch {
      // nothing was loaded: no trace file
    }
    return { status: r.status, loaded, stderr: r.stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

t.test('probe modules load lazily: none for --version, only image probes for an image run', async (t) => {
  const version = probeModulesLoadedBy(['--version']);
  t.equal(version.status, 0, version.stderr);
  t.same(version.loaded, [], '`vmspec --version` loads no probe');

  const img = buildGptDisk([{ type: 'EF00', sizeMiB: 8, name: 'EFI system' }], { label: 'probe-table' });
  const run = probeModulesLoadedBy(['verify', img, '--format', 'json']);
  t.ok(run.status === 0 || run.status === 1, run.stderr);
  t.same(run.loaded, ['image'], 'the image probes are loaded, no evidence or host probe');

  const list = probeModulesLoadedBy(['probe', 'list']);
  t.same(list.loaded, [...new Set(PROBE_TABLE.map((e) => e.input))].sort(), '`probe list` loads them all');
});
