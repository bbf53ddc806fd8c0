import t, { type Test } from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { bundleVerdictStep, consoleVerdictStep, VERDICT_COMMAND, VERDICT_IMAGE_FILES } from '../../lava/verdict-step.js';
import { STEP_CASES, testCaseNames } from '../../lava/names.js';
import type { RunResults } from '../../engine/results.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { vmspec } from '../cli/cli-runner.js';
import { repoRoot } from '../fixtures/cache.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';
import { lavaCommonMissing, SYSTEM_PYTHON } from './lava-validator.js';

/**
 * The verdict step run for real, as LAVA's docker test shell runs it: the
 * job's one run step, through sh, calling the vmspec-lava-verdict the
 * verdict image ships (lava/verdict-image/); its HTTP client against a store
 * (GET the bundle, PUT the results) or the job log fetcher against a server
 * serving a LAVA log; the built vmspec CLI on a bundle made by the real
 * collector. Only LAVA's two reporting helpers are stand-ins, recording
 * what they were asked to report. Needs `npm run build`.
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
// As the image installs it: a symlink on PATH to the shipped script (which finds the fetcher beside itself).
symlinkSync(join(VERDICT_IMAGE_FILES, 'vmspec-lava-verdict.sh'), join(bin, VERDICT_COMMAND));

const spec = loadSpecOrThrow('vmspec-v2');
const ids = spec.requirements.filter((r) => r.probe?.startsWith('evidence.') || r.id === 'V2-IMG-GPT' || r.id === 'V2-PLAT-AARCH32').map((r) => r.id);
const cases = testCaseNames(ids);

async function runStep(t: Test, name: string, bundleUrl: string, resultsUrl: string): Promise<Map<string, string[]>> {
  return runLine(t, bundleVerdictStep({ bundleUrl, resultsUrl, spec: 'vmspec-v2', slug: name, cases }));
}

/** The job's run step through sh, as LAVA's run script holds it. */
async function runLine(t: Test, line: string, env: Record<string, string> = {}): Promise<Map<string, string[]>> {
  writeFileSync(calls, '');
  const tmp = mkdtempSync(join(work, 'tmp-'));
  const r = await exec('sh', ['-c', line], { env: { ...process.env, ...env, TMPDIR: tmp, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  t.equal(r.stderr.includes('lava-test-case') && r.stderr.includes('not found'), false, 'helpers found on PATH');
  t.same(readdirSync(tmp), [], 'the step leaves nothing in TMPDIR');
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

t.test('the verdict image\'s userland (busybox, node, no curl): the bundle step still fetches, judges and uploads', async (t) => {
  // As scripts/lava-verdict-image.sh builds the image: busybox's applets, node, bash, vmspec; curl is not there.
  const image = join(work, 'image-bin');
  mkdirSync(image, { recursive: true });
  const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
  t.ok(busybox, 'busybox is installed (scripts/install-system-packages.sh)');
  for (const applet of spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) symlinkSync(busybox, join(image, applet));
  symlinkSync(process.execPath, join(image, 'node'));
  for (const f of ['lava-test-case', 'lava-test-reference', 'vmspec', VERDICT_COMMAND]) symlinkSync(join(bin, f), join(image, f));
  t.notOk(spawnSync('sh', ['-c', 'command -v curl'], { env: { PATH: image } }).status === 0, 'no curl on the image\'s PATH');

  const bundle = evidenceBundle('acpiGicv3', RECIPES.acpiGicv3 as BundleRecipe);
  stored.set('/run-2/cell.tar', readFileSync(bundle.tar));
  const run = JSON.parse(vmspec(['verify', '--evidence', bundle.tar, '--only', ids.join(','), '--format', 'json']).stdout) as RunResults;
  writeFileSync(calls, '');
  const line = bundleVerdictStep({ bundleUrl: `${base}/run-2/cell.tar`, resultsUrl: `${base}/run-2/cell.json`, spec: 'vmspec-v2', slug: 'cell', cases });
  const tmp = mkdtempSync(join(work, 'tmp-'));
  const r = await exec(join(image, 'sh'), ['-c', line], { env: { PATH: image, TMPDIR: tmp, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  t.notMatch(r.stderr, /not found/, `every command found: ${r.stderr}`);
  t.same(readdirSync(tmp), [], 'the step leaves nothing in TMPDIR (busybox mktemp)');
  const got = new Map(readFileSync(calls, 'utf8').split('\n').filter(Boolean).map((l) => { const [h, c, ...rest] = l.split(' '); return [`${h} ${c}`, rest] as const; }));
  t.same(got.get('lava-test-case vmspec-fetch-bundle'), ['--result', 'pass'], 'GET without curl');
  for (const x of run.results) t.same(got.get(`lava-test-case ${cases.get(x.id)}`), ['--result', LAVA_RESULT[x.status]], `${x.id} (${x.status})`);
  t.same(got.get('lava-test-case vmspec-upload-results'), ['--result', 'pass'], 'PUT without curl');
  const uploaded = JSON.parse(stored.get('/run-2/cell.json')!.toString('utf8')) as RunResults;
  t.same(uploaded.results.map((x) => [x.id, x.status]), run.results.map((x) => [x.id, x.status]), 'the stored results are vmspec\'s');
});

t.test('the HTTP client: a 404 is a failure with no file kept, a usage error exits 2', async (t) => {
  const client = join(VERDICT_IMAGE_FILES, 'vmspec-lava-http.cjs');
  const out = join(work, 'http-404.tar');
  // Async: the store runs in this process, so a synchronous spawn would block it.
  const r = await exec(process.execPath, [client, 'get', `${base}/nowhere.tar`, out]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  t.equal(r.code, 1);
  t.match(r.stderr, /GET .*nowhere\.tar: HTTP 404/);
  t.notOk(existsSync(out), 'no file for a failed GET');
  t.equal(spawnSync(process.execPath, [client, 'get', 'file:///etc/passwd', out]).status, 2, 'only http(s)');
  t.equal(spawnSync(process.execPath, [client, 'post', 'a', 'b']).status, 2);
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

// The LAVA server's log API for the console step: GET /api/v0.2/jobs/ID/logs/ serves a log LAVA's own dump() wrote.
const logs = new Map<string, string>();
const lavaServer: Server = createServer((req, res) => {
  const body = logs.get(req.url ?? '');
  if (body === undefined) res.writeHead(404).end();
  else res.end(body);
});
await new Promise<void>((r) => lavaServer.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => lavaServer.close(() => r())));
const lavaUrl = `http://127.0.0.1:${(lavaServer.address() as AddressInfo).port}/`;

/** A job log as LAVA serves it: one dump() record per line (lava_common/log.py), the console lines at level target. */
function lavaLog(consoleLines: string[]): string {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', `
import json, sys
from lava_common.log import dump
print("- " + dump({"dt": "2023-01-01T00:00:00", "lvl": "info", "msg": "start: 1 tmpfs-deploy"}))
for m in json.load(sys.stdin):
    print("- " + dump({"dt": "2023-01-01T00:00:00", "lvl": "target", "msg": m}))
`], { input: JSON.stringify(consoleLines), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`lava_common.log dump: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

t.test('a console job: the frame in the job\'s own log, one LAVA result per requirement', { skip: lavaCommonMissing() }, async (t) => {
  const bundle = evidenceBundle('acpiGicv3', RECIPES.acpiGicv3 as BundleRecipe);
  const tar = readFileSync(bundle.tar);
  const sha = createHash('sha256').update(tar).digest('hex');
  // As collect.sh --console prints it, amid other console output.
  const frame = ['vmspec-init: kernel 6.1.0', `-----BEGIN VMSPEC EVIDENCE size=${tar.length} sha256=${sha}-----`, ...tar.toString('base64').match(/.{1,76}/g)!, '-----END VMSPEC EVIDENCE-----', 'reboot: Power down'];
  logs.set('/api/v0.2/jobs/42/logs/', lavaLog(frame));
  const run = JSON.parse(vmspec(['verify', '--evidence', bundle.tar, '--only', ids.join(','), '--format', 'json']).stdout) as RunResults;

  const line = consoleVerdictStep({ lavaUrl, spec: 'vmspec-v2', slug: 'reference-aavmf-gicv3-acpi-worker', cases });
  const got = await runLine(t, line, { LAVA_JOB_ID: '42' });
  t.same(got.get(`lava-test-case ${STEP_CASES.fetchLog}`), ['--result', 'pass'], 'the frame came from the log API');
  t.same(got.get('lava-test-case vmspec-verify'), ['--result', 'pass', '--measurement', String(run.exitCode), '--units', 'exit-code']);
  for (const r of run.results) t.same(got.get(`lava-test-case ${cases.get(r.id)}`), ['--result', LAVA_RESULT[r.status]], `${r.id} (${r.status})`);
  t.equal([...got.keys()].filter((k) => k.startsWith('lava-test-case v2-')).length, ids.length, 'exactly one case per requirement');
  t.notOk(got.has('lava-test-case vmspec-upload-results'), 'a console job uploads nothing');
});

t.test('a console job whose frame is corrupt: vmspec refuses it, every requirement unknown', { skip: lavaCommonMissing() }, async (t) => {
  logs.set('/api/v0.2/jobs/43/logs/', lavaLog([`-----BEGIN VMSPEC EVIDENCE size=3 sha256=${'0'.repeat(64)}-----`, 'QUJD', '-----END VMSPEC EVIDENCE-----']));
  const got = await runLine(t, consoleVerdictStep({ lavaUrl, spec: 'vmspec-v2', slug: 'cell', cases }), { LAVA_JOB_ID: '43' });
  t.same(got.get(`lava-test-case ${STEP_CASES.fetchLog}`), ['--result', 'pass'], 'the log had a complete frame');
  t.same(got.get('lava-test-case vmspec-verify'), ['--result', 'fail']);
  for (const id of ids) t.same(got.get(`lava-test-case ${cases.get(id)}`), ['--result', 'unknown'], id);
});

t.test('an image without the command: the step still tells LAVA vmspec-verify failed', async (t) => {
  const line = consoleVerdictStep({ lavaUrl, spec: 'vmspec-v2', slug: 'cell', cases });
  const helpersOnly = join(work, 'helpers-only');
  mkdirSync(helpersOnly, { recursive: true });
  writeFileSync(join(helpersOnly, 'lava-test-case'), readFileSync(join(bin, 'lava-test-case')));
  chmodSync(join(helpersOnly, 'lava-test-case'), 0o755);
  writeFileSync(calls, '');
  const r = spawnSync('sh', ['-c', line], { env: { PATH: `${helpersOnly}:/usr/bin:/bin` }, encoding: 'utf8' });
  t.equal(r.status, 0, 'the fallback reported');
  t.match(r.stderr, /vmspec-lava-verdict: (not found|command not found)/, 'the shell names the missing command');
  t.same(readFileSync(calls, 'utf8').trim().split('\n'), ['lava-test-case vmspec-verify --result fail']);
});

t.test('the shipped script: case names as lava/names.ts makes them, usage errors exit 2, shellcheck clean', async (t) => {
  const script = join(VERDICT_IMAGE_FILES, 'vmspec-lava-verdict.sh');
  for (const specName of ['vmspec-v2', 'vmspec-v1']) {
    const all = loadSpecOrThrow(specName).requirements.map((r) => r.id);
    const names = testCaseNames(all);
    // The script's case_name(), called on every id of the spec.
    const r = spawnSync('sh', ['-c', `eval "$(sed -n '/^case_name() {/,/^}/p' "$0")"; for id in "$@"; do case_name "$id"; done`, script, ...all], { encoding: 'utf8' });
    t.same(r.stdout.trim().split('\n'), [...names.values()], `${specName}: every id's case name equals testCaseName()`);
  }
  for (const args of [[], ['console'], ['bundle', 'a', 'b', 'c', 'd'], ['other', 'a', 'b', 'c', 'd'], ['console', 'u', 'vmspec-v2', 'BAD SLUG', 'V2-X'], ['console', 'u', 'vmspec-v2', 'cell', "V2-X;rm"]]) {
    t.equal(spawnSync('sh', [script, ...args]).status, 2, `usage error: ${JSON.stringify(args)}`);
  }
  const text = readFileSync(script, 'utf8');
  for (const m of text.matchAll(/(?:result|lava-test-reference) (vmspec-[a-z-]+)/g)) t.ok((Object.values(STEP_CASES) as string[]).includes(m[1]!), `${m[1]} is a declared step case`);
  const sc = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', script], { encoding: 'utf8' });
  if (sc.error) t.comment(`shellcheck not run: ${sc.error.message}`);
  else t.equal(sc.status, 0, `shellcheck: ${sc.stdout}`);
});
