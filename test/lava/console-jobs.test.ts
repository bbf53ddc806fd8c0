import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobYaml } from '../../lava/emit.js';
import { CONSOLE_MARKS, GUEST_NAMESPACE, VERDICT_NAMESPACE, type LavaJob } from '../../lava/job.js';
import { VERDICT_IMAGE_FILES } from '../../lava/verdict-step.js';
import type { InlineDefinition } from '../../lava/inline-definition.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { lavaCommonMissing, lavaValidate, SYSTEM_PYTHON } from './lava-validator.js';
import { labJobs, referenceMatrix } from './reference-matrix.js';

/**
 * Jobs for images without a login shell (collects: console): what a stock
 * lab runs with no docker, no login and no artefact store. LAVA's own
 * validator accepts them; the monitors' Python regexes match the lines the
 * real init.sh and collect.sh print (read from those files) and not others.
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-lava-console-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const spec = loadSpecOrThrow('vmspec-v2');
const jobs = labJobs({ matrix: referenceMatrix(), specName: 'vmspec-v2', spec });

t.test('one console job per cell, with nothing a stock lab lacks', async (t) => {
  t.same(jobs.map((j) => j.slug), ['reference-aavmf-gicv2-acpi-worker', 'reference-aavmf-gicv2-dt-worker', 'reference-aavmf-gicv3-acpi-worker', 'reference-aavmf-gicv3-dt-worker']);
  for (const j of jobs) {
    t.equal(j.collects, 'console');
    t.equal(j.bundleUrl, undefined, 'nothing is uploaded');
    const text = JSON.stringify(j.definition);
    for (const absent of ['docker', 'auto_login', 'definitions', 'evidence', 'guestfs_interface']) t.notOk(text.includes(`"${absent}"`), `${j.slug}: no ${absent}`);
    const images = (j.definition.actions[0]!.deploy as { images: Record<string, unknown> }).images;
    t.same(Object.keys(images), ['firmware_code', 'firmware_vars', 'disk']);
    t.equal(j.metadata['vmspec.collects'], 'console');
  }
  t.equal(jobs[1]!.definition.context.machine, 'virt,gic-version=2,acpi=off');
  t.equal(jobs[2]!.definition.context.machine, 'virt,gic-version=3');
});

t.test("LAVA's validator accepts the console jobs and rejects a monitor without a pattern", { skip: lavaCommonMissing() }, async (t) => {
  const paths = jobs.map((j) => {
    const p = join(work, j.fileName);
    writeFileSync(p, jobYaml(j.definition, 'test'));
    return p;
  });
  const broken = structuredClone(jobs[0]!.definition) as LavaJob;
  const monitors = (broken.actions[2]!.test as { monitors: Record<string, unknown>[] }).monitors;
  delete monitors[0]!.pattern;
  const bad = join(work, 'broken.yaml');
  writeFileSync(bad, jobYaml(broken, 'broken'));
  const verdicts = lavaValidate([...paths, bad]);
  for (const v of verdicts.slice(0, -1)) t.ok(v.ok, `${v.path}: ${v.error ?? 'valid'}`);
  t.notOk(verdicts.at(-1)!.ok, 'a monitor without a pattern is refused');
});

/** Does Python's re (as LAVA's pexpect uses it) find the pattern in the text? Returns the named groups. */
function pyMatch(pattern: string, text: string): Record<string, string> | null {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import json,re,sys; m=re.search(sys.argv[1], sys.argv[2]); print(json.dumps(m.groupdict() if m else None))', pattern, text], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, string> | null;
}

t.test('the monitor patterns match what the reference guest prints', async (t) => {
  const init = readFileSync(join(import.meta.dirname, '../../boot/reference/init.sh'), 'utf8');
  const collect = readFileSync(join(import.meta.dirname, '../../probes/guest/collect.sh'), 'utf8');
  // The lines as the real scripts print them.
  t.match(init, /out\(\) \{\n  echo "\$1"/);
  t.match(init, /say\(\) \{\n  out "vmspec-init: \$\*"/);
  t.match(init, /say "kernel \$\(uname -r\)/);
  t.match(init, /finish "collect\.sh exited \$rc/);
  t.match(init, /out "VMSPEC-DONE rc=\$2"/);
  t.match(collect, /"-----BEGIN VMSPEC EVIDENCE size=\$c_size sha256=\$c_sum-----"/);
  t.match(collect, /"-----END VMSPEC EVIDENCE-----"/);

  const begin = `-----BEGIN VMSPEC EVIDENCE size=10240 sha256=${'ab'.repeat(32)}-----`;
  t.same(pyMatch(CONSOLE_MARKS.frame, `${begin}\r\n`), { result: 'BEGIN', test_case_id: 'EVIDENCE' });
  t.equal(pyMatch(CONSOLE_MARKS.frame, '-----BEGIN VMSPEC EVIDENCE size=10240 sha256=short-----'), null, 'a mangled frame header is no frame');
  t.same(pyMatch(CONSOLE_MARKS.done, 'VMSPEC-DONE rc=0\r\n'), { test_case_id: 'VMSPEC-DONE', result: '0' });
  t.same(pyMatch(CONSOLE_MARKS.done, 'VMSPEC-DONE rc=3\r\n'), { test_case_id: 'VMSPEC-DONE', result: '3' });
  for (const plain of [CONSOLE_MARKS.start, CONSOLE_MARKS.collected, CONSOLE_MARKS.frameEnd]) t.ok(pyMatch(plain, `${plain} 6.1.0\r\n`), `${plain} matches itself`);
  const fix = (jobs[0]!.definition.actions[2]!.test as { monitors: { fixupdict: Record<string, string> }[] }).monitors[1]!.fixupdict;
  t.equal(fix['0'], 'pass');
  t.equal(fix['1'], 'fail');
  t.equal(fix['255'], 'fail');
});

const withVerdicts = labJobs({ matrix: referenceMatrix(), specName: 'vmspec-v2', spec, settings: { verdict: { image: 'vmspec:latest', local: true, lavaUrl: 'http://lava.lab:8000/' } } });

t.test('with --lava-url: a docker verdict step in its own namespace, one test case per requirement', async (t) => {
  const requirements = spec.requirements.filter((r) => r.probe?.startsWith('evidence.'));
  for (const j of withVerdicts) {
    t.equal(j.definition.actions.length, 4);
    const step = j.definition.actions[3]!.test as { namespace: string; docker: unknown; definitions: InlineDefinition[] };
    t.equal(step.namespace, VERDICT_NAMESPACE, 'not the guest namespace: the guest deploy gets no overlay');
    t.same(step.docker, { image: 'vmspec:latest', local: true });
    for (const a of j.definition.actions.slice(0, 3)) t.equal((Object.values(a)[0] as { namespace?: string }).namespace, GUEST_NAMESPACE, 'the guest actions in their own namespace (LAVA: all or none)');
    // One line: the command the verdict image ships (run for real in test/lava/verdict-step.test.ts).
    t.same(step.definitions[0]!.repository.run.steps, [j.verdictStep]);
    t.equal(j.verdictStep, `vmspec-lava-verdict console 'http://lava.lab:8000/' 'vmspec-v2' '${j.slug}' '${requirements.map((r) => r.id).join(',')}' || lava-test-case vmspec-verify --result fail`, `${j.slug}: exactly the selection, in spec order`);
  }
});

t.test("LAVA's validator accepts the console jobs with the verdict step", { skip: lavaCommonMissing() }, async (t) => {
  const paths = withVerdicts.map((j) => {
    const p = join(work, `verdicts-${j.fileName}`);
    writeFileSync(p, jobYaml(j.definition, 'test'));
    return p;
  });
  for (const v of lavaValidate(paths)) t.ok(v.ok, `${v.path}: ${v.error ?? 'valid'}`);
});

t.test('the job log fetcher reads the console lines of a LAVA log as the server serves it', async (t) => {
  // A log written by LAVA's own dump() (lava_common.log), served at the REST API's path.
  const records = ['plain line', 'tab\there "quoted" back\\slash \x1b[0m é', '-----BEGIN VMSPEC EVIDENCE size=1 sha256=00-----', 'QQ==', '-----END VMSPEC EVIDENCE-----'];
  const dumped = spawnSync(SYSTEM_PYTHON, ['-c', `
import json, sys
from lava_common.log import dump
print("- " + dump({"dt": "2023-01-01T00:00:00", "lvl": "info", "msg": "not console"}))
for m in json.loads(sys.argv[1]):
    print("- " + dump({"dt": "2023-01-01T00:00:00", "lvl": "target", "msg": m}))
`, JSON.stringify(records)], { encoding: 'utf8' });
  t.equal(dumped.status, 0, dumped.stderr);
  const fetcher = join(VERDICT_IMAGE_FILES, 'vmspec-lava-job-log.cjs');
  const server = createServer((req, res) => {
    if (req.url === '/lava/api/v0.2/jobs/42/logs/') res.end(dumped.stdout);
    else res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const out = join(work, 'console.log');
  const run = await new Promise<number | null>((done) => spawn('node', [fetcher, `http://127.0.0.1:${port}/lava`, '42', out], { stdio: 'ignore' }).on('exit', done));
  t.equal(run, 0, 'the frame is complete: exit 0');
  t.equal(readFileSync(out, 'utf8'), `${records.join('\n')}\n`, 'the console lines, unescaped, without the other levels');
});
