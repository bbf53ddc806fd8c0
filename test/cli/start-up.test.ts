/**
 * What a start of the built CLI loads: Node's own modules cost start-up time
 * (node:crypto with node:stream behind it ~3 ms, node:zlib ~2 ms,
 * node:child_process ~3 ms, node:perf_hooks ~1 ms), so a verify of a raw
 * image must load none of them (bytes/lazy-builtins.ts, engine/clock.ts, the
 * commander patch in build/bundle.ts), while the runs that need one still
 * load it. `process.moduleLoadList` is Node's own record of what it loaded.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../fixtures/cache.js';
import { buildGptDisk, toQcow2 } from '../fixtures/disk-builder.js';

const EXPENSIVE = ['crypto', 'zlib', 'child_process', 'perf_hooks'];
/** What process.stdout brings (node:net for a pipe, node:tty for a device), which cli/stdout.ts spares json output. */
const STDOUT_STREAM = ['stream', 'net', 'tty'];

/** The public built-in modules (`NativeModule x`) a run of the CLI loaded, and how it exited. */
function builtinsLoadedBy(args: string[], stdout: 'pipe' | 'ignore' = 'pipe'): { status: number | null; stderr: string; loaded: Set<string> } {
  const work = mkdtempSync(join(tmpdir(), 'vmspec-start-up-'));
  try {
    const hook = join(work, 'hook.cjs');
    const out = join(work, 'loaded.json');
    writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));\n`);
    // A plain environment, set by env(1): the test runner instruments the children it sees spawned
    // (@tapjs/processinfo adds its loader through NODE_OPTIONS), which would load more at start.
    const env = [`PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, `HOME=${process.env.HOME ?? '/root'}`, `NODE_OPTIONS=--require ${hook}`];
    const r = spawnSync('/usr/bin/env', ['-i', ...env, process.execPath, join(repoRoot, 'bin', 'vmspec.js'), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', stdout, 'pipe'] });
    const list = JSON.parse(readFileSync(out, 'utf8')) as string[];
    const loaded = new Set(list.flatMap((m) => (m.startsWith('NativeModule ') && !m.includes('internal/') ? [m.slice('NativeModule '.length)] : [])));
    return { status: r.status, stderr: r.stderr, loaded };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const raw = buildGptDisk([{ type: 'EF00', sizeMiB: 8, name: 'EFI system' }], { label: 'start-up' });

t.test('a verify of a raw image loads none of the expensive built-ins', async (t) => {
  const run = builtinsLoadedBy(['verify', raw, '--format', 'json']);
  t.ok(run.status === 0 || run.status === 1 || run.status === 4, run.stderr);
  for (const m of EXPENSIVE) t.notOk(run.loaded.has(m), `node:${m} is not loaded`);
  t.ok(run.loaded.has('fs'), 'the list is read (node:fs is there)');
  for (const [stdout, what] of [['pipe', 'a pipe'], ['ignore', '/dev/null']] as const) {
    const json = builtinsLoadedBy(['verify', raw, '--format', 'json'], stdout);
    for (const m of STDOUT_STREAM) t.notOk(json.loaded.has(m), `json to ${what}: node:${m} is not loaded`);
  }
  const text = builtinsLoadedBy(['verify', raw]);
  t.notOk(text.loaded.has('tty'), 'text to a pipe: colour is decided without node:tty');
});

t.test('the runs that need one still load it', async (t) => {
  const qcow2 = builtinsLoadedBy(['verify', toQcow2(raw, { compressed: true }), '--format', 'json']);
  t.ok(qcow2.status === 0 || qcow2.status === 1 || qcow2.status === 4, qcow2.stderr);
  t.ok(qcow2.loaded.has('zlib'), 'a compressed qcow2 loads node:zlib');
  t.notOk(qcow2.loaded.has('crypto'), 'but not node:crypto');

  const digest = builtinsLoadedBy(['verify', raw, '--format', 'json', '--sha256']);
  t.ok(digest.loaded.has('crypto'), '--sha256 loads node:crypto');
  t.ok(digest.loaded.has('stream'), '(and node:stream behind it: the stream checks above can fail)');

  const html = builtinsLoadedBy(['verify', raw, '--format', 'html']);
  t.ok(html.loaded.has('crypto'), 'an html report (CSP hashes) loads node:crypto');
});
