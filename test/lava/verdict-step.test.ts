import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verdictScript } from '../../lava/verdict-script.js';
import { testCaseNames } from '../../lava/names.js';
import type { RunResults } from '../../engine/results.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { vmspec } from '../cli/cli-runner.js';
import { repoRoot } from '../fixtures/cache.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';

/**
 * The verdict step run for real, as LAVA's docker test shell would run it:
 * sh, curl against an HTTP store (GET the bundle, PUT the results), the
 * built vmspec CLI on a bundle made by the real collector. Only LAVA's two
 * reporting helpers are stand-ins, recording what they were asked to
 * report. Needs `npm run build`.
 */

const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'vmspec-lava-verdict-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// The artefact store: GET serves files, PUT stores them (as a lab's store does).
const stored = new Map<string, Buffer>();
const server: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const key = req.url ?? '';
    if (req.method === 'PUT') {
      stored.set(key, Buffer.concat(chunks));
      res.writeHead(201).end();
    } else if (req.method === 'GET' && stored.has(key)) {
      res.writeHead(200).end(stored.get(key));
    } else res.writeHead(404).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => server.close(() => r())));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// LAVA's helpers, recording their arguments; vmspec is the built CLI.
const bin = join(work, 'bin');
mkdirSync(bin);
const calls = join(work, 'calls.log');
for (const helper of ['lava-test-case', 'lava-test-reference']) {
  writeFileSync(join(bin, helper), `#!/bin/sh\necho "${helper} $*" >> '${calls}'\n`);
  chmodSync(join(bin, helper), 0o755);
}
writeFileSync(join(bin, 'vmspec'), `#!/bin/sh\nexec '${process.execPath}' '${join(repoRoot, 'bin', 'vmspec.js')}' "$@"\n`);
chmodSync(join(bin, 'vmspec'), 0o755);

const spec = loadSpecOrThrow('vmspec-v2');
const ids = spec.requirements.filter((r) => r.probe?.startsWith('evidence.') || r.id === 'V2-IMG-GPT' || r.id === 'V2-PLAT-AARCH32').map((r) => r.id);
const cases = testCaseNames(ids);

async function runStep(t: Test, name: string, bundleUrl: string, resultsUrl: string): Promise<Map<string, string[]>> {
  writeFileSync(calls, '');
  const script = join(work, `${name}.sh`);
  writeFileSync(script, verdictScript({ bundleUrl, resultsUrl, spec: 'vmspec-v2', slug: name, cases }));
  const r = await exec('sh', [script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  t.equal(r.stderr.includes('lava-test-case') && r.stderr.includes('not found'), false, 'helpers found on PATH');
  const out = new Map<string, string[]>();
  for (const line of readFileSync(calls, 'utf8').split('\n').filter(Boolean)) {
    const [helper, caseName, ...rest] = line.split(' ');
    out.set(`${helper} ${caseName}`, rest);
  }
  return out;
}

const LAVA_RESULT: Record<string, string> = { pass: 'pass', fail: 'fail', skip: 'skip', manual: 'skip', waived: 'skip', error: 'unknown' };

t.test('a collected bundle: one LAVA result per requirement, equal to vmspec\'s own verdict', async (t) => {
  const bundle = evidenceBundle('acpiGicv3', RECIPES.acpiGicv3 as BundleRecipe);
  stored.set('/run-1/cell.tar', readFileSync(bundle.tar));
  // The reference verdicts: vmspec run directly on the same bundle.
  const direct = vmspec(['verify', '--evidence', bundle.tar, '--only', ids.join(','), '--format', 'json']);
  const run = JSON.parse(direct.stdout) as RunResults;
  t.equal(run.results.length, ids.length, 'vmspec judged every selected requirement');

  const got = await runStep(t, 'cell', `${base}/run-1/cell.tar`, `${base}/run-1/cell.json`);
  t.same(got.get('lava-test-case vmspec-fetch-bundle'), ['--result', 'pass']);
  t.same(got.get('lava-test-case vmspec-verify'), ['--result', 'pass', '--measurement', String(run.exitCode), '--units', 'exit-code']);
  const statuses = new Set<string>();
  for (const r of run.results) {
    statuses.add(r.status);
    t.same(got.get(`lava-test-case ${cases.get(r.id)}`), ['--result', LAVA_RESULT[r.status]], `${r.id} (${r.status})`);
  }
  t.ok(statuses.has('pass') && statuses.has('skip') && statuses.has('manual'), `the bundle exercises several statuses: ${[...statuses].join(', ')}`);
  const perRequirement = [...got.keys()].filter((k) => k.startsWith('lava-test-case v2-'));
  t.equal(perRequirement.length, ids.length, 'exactly one case per requirement');

  const uploaded = stored.get('/run-1/cell.json');
  t.ok(uploaded, 'results PUT beside the bundle');
  const results = JSON.parse(uploaded!.toString('utf8')) as RunResults;
  t.same(results.results.map((r) => [r.id, r.status]), run.results.map((r) => [r.id, r.status]), 'the uploaded results are the verdicts reported');
  t.match(results.target, { path: /cell\.tar$/ }, 'the results name the bundle by the job slug (the merge column)');
  t.same(got.get('lava-test-case vmspec-upload-results'), ['--result', 'pass']);
  t.same(got.get('lava-test-reference vmspec-results'), ['--result', 'pass', '--reference', `${base}/run-1/cell.json`]);
});

t.test('a failing clause is a LAVA fail', async (t) => {
  const bundle = evidenceBundle('spcr16550', RECIPES.spcr16550 as BundleRecipe);
  stored.set('/run-1/tty0.tar', readFileSync(bundle.tar));
  const got = await runStep(t, 'tty0', `${base}/run-1/tty0.tar`, `${base}/run-1/tty0.json`);
  t.same(got.get('lava-test-case v2-plat-uart'), ['--result', 'fail'], 'an SPCR naming a 16550 fails the UART clause');
  t.same(got.get('lava-test-case vmspec-verify')!.slice(0, 4), ['--result', 'pass', '--measurement', '1'], 'vmspec exit 1: a mandatory clause failed');
});

t.test('no bundle: every requirement unknown, never a verdict', async (t) => {
  const got = await runStep(t, 'missing', `${base}/run-1/missing.tar`, `${base}/run-1/missing.json`);
  t.same(got.get('lava-test-case vmspec-fetch-bundle'), ['--result', 'fail']);
  t.same(got.get('lava-test-case vmspec-verify'), ['--result', 'fail']);
  for (const id of ids) t.same(got.get(`lava-test-case ${cases.get(id)}`), ['--result', 'unknown'], id);
  t.notOk(stored.has('/run-1/missing.json'), 'nothing uploaded');
  t.notOk(got.has('lava-test-case vmspec-upload-results'));
});

t.test('a bundle that is not one: vmspec refuses it, requirements unknown', async (t) => {
  stored.set('/run-1/junk.tar', Buffer.from('<html>404 from a proxy</html>\n'));
  const got = await runStep(t, 'junk', `${base}/run-1/junk.tar`, `${base}/run-1/junk.json`);
  t.same(got.get('lava-test-case vmspec-fetch-bundle'), ['--result', 'pass']);
  t.same(got.get('lava-test-case vmspec-verify'), ['--result', 'fail']);
  for (const id of ids) t.same(got.get(`lava-test-case ${cases.get(id)}`), ['--result', 'unknown'], id);
});
