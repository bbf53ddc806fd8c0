import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobYaml } from '../../lava/emit.js';
import { inlineDefinition, writeFileStep } from '../../lava/inline-definition.js';
import type { GeneratedJob } from '../../lava/job.js';
import { VERDICT_IMAGE_FILES } from '../../lava/verdict-step.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { lavaCommonMissing, SYSTEM_PYTHON } from './lava-validator.js';
import { labJobs, referenceMatrix } from './reference-matrix.js';
import { cachedDir } from '../fixtures/cache.js';

/**
 * The verdict step's inline definition fits in what LAVA keeps of a result.
 *
 * When a test definition ends, the dispatcher logs a `lava` suite result
 * whose "repository" is the whole inline definition
 * (lava_dispatcher/actions/test/shell.py, TestShellAction.signal_end_run).
 * The server stores yaml_dump() of that result as the test case's metadata
 * and, past 4096 bytes, strips it and appends "Result metadata is too long"
 * to the job's failure comment
 * (lava_results_app/dbutils.py map_scanned_results: `if len(metadata) > 4096`).
 * Here that result is built as signal_end_run builds it, from the job YAML as
 * the server reads it, and measured with LAVA's own yaml_dump
 * (lava_common.compat, the function dbutils imports).
 */

const LAVA_RESULT_METADATA_CAP = 4096;
const DBUTILS = '/usr/lib/python3/dist-packages/lava_results_app/dbutils.py';

const work = mkdtempSync(join(tmpdir(), 'vmspec-lava-metadata-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** For each inline definition of each job file: len(yaml_dump(the end-of-definition result)), as the server computes it. */
const MEASURE = `
import json, sys, yaml
from lava_common.compat import yaml_dump
out = []
for path in sys.argv[1:]:
    job = yaml.safe_load(open(path))
    index = 0
    for action in job["actions"]:
        test = action.get("test", {})
        for d in test.get("definitions", []):
            if d.get("from") != "inline":
                continue
            # TestShellAction.signal_end_run: every key it sets for an inline definition,
            # with the widest values a real lab gives (job id, level, duration).
            result = {
                "definition": "lava",
                "case": "%d_%s" % (index, d["name"]),
                "uuid": "2147483647_10.10.10.10",
                "repository": d["repository"],
                "path": d["path"],
                "duration": "99999.99",
                "result": "pass",
                "revision": "unspecified",
                "namespace": test.get("namespace", "common"),
            }
            index += 1
            out.append({"path": path, "name": d["name"], "bytes": len(yaml_dump(result))})
print(json.dumps(out))
`;

interface Measured { path: string; name: string; bytes: number }
function measure(files: string[]): Measured[] {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', MEASURE, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measuring with lava_common.compat.yaml_dump failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Measured[];
}

function write(name: string, jobs: GeneratedJob[]): string[] {
  return jobs.map((j) => {
    const p = join(work, `${name}-${j.fileName}`);
    writeFileSync(p, jobYaml(j.definition, 'test'));
    return p;
  });
}

/** The lab's matrix and a cloud image (shell jobs), with the longest settings a real lab gives. */
function generate(specName: string, all: boolean): GeneratedJob[] {
  const spec = loadSpecOrThrow(specName);
  return labJobs({
    matrix: referenceMatrix(undefined, ['{ name: debian12, url: https://lab.example/debian-12-genericcloud-arm64.qcow2 }']),
    specName,
    spec,
    // The widest selection is every requirement of the spec: the longest id list the step carries.
    ...(all ? { requirements: spec.requirements } : {}),
    settings: {
      artifacts: 'https://artefacts.a-rather-long-lab-domain.example.org/vmspec/results/',
      runId: '20261202T161629Z-0123abcd',
      evidenceDisk: 'file:///srv/vmspec/evidence-disk.img',
      verdict: { image: 'registry.a-rather-long-lab-domain.example.org/vmspec/verdicts:0.1.0', local: false, lavaUrl: 'https://lava.a-rather-long-lab-domain.example.org:8443/' },
    },
  });
}

/**
 * lava_results_app/dbutils.py as Debian ships it: the installed file, or
 * the same file read from lava-server's .deb (`apt-get download`, cached),
 * so the check runs where the server is not installed, as on CI.
 */
function dbutilsSource(): string {
  if (existsSync(DBUTILS)) return readFileSync(DBUTILS, 'utf8');
  const dir = cachedDir('lava-server-dbutils', { v: 1 }, (d) => {
    const dl = spawnSync('apt-get', ['download', 'lava-server'], { cwd: d, encoding: 'utf8' });
    const deb = readdirSync(d).find((f) => f.endsWith('.deb'));
    if (dl.status !== 0 || !deb) throw new Error(`apt-get download lava-server failed: ${dl.stderr}`);
    const tar = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xO ".$2"', 'sh', join(d, deb), DBUTILS], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (tar.status !== 0 || !tar.stdout) throw new Error(`${DBUTILS} not found in ${deb}: ${tar.stderr}`);
    writeFileSync(join(d, 'dbutils.py'), tar.stdout);
    rmSync(join(d, deb));
  });
  return readFileSync(join(dir, 'dbutils.py'), 'utf8');
}

t.test('the cap is the one Debian\'s LAVA server applies', async (t) => {
  const source = dbutilsSource();
  t.match(source, /metadata = yaml_dump\(results\)\n\s+if len\(metadata\) > 4096:/, 'map_scanned_results measures yaml_dump(results) against 4096');
  t.match(source, /Result metadata is too long/);
});

t.test('every verdict definition stays well under the cap, whatever the selection', { skip: lavaCommonMissing() }, async (t) => {
  for (const specName of ['vmspec-v2', 'vmspec-v1']) {
    for (const all of [false, true]) {
      const jobs = generate(specName, all);
      const sizes = measure(write(`${specName}-${all}`, jobs)).filter((m) => m.name === 'vmspec-verdicts');
      t.equal(sizes.length, jobs.length, `${specName}: one verdict definition per job (console and shell)`);
      const largest = Math.max(...sizes.map((m) => m.bytes));
      t.ok(largest <= LAVA_RESULT_METADATA_CAP / 2, `${specName}, ${all ? 'every requirement' : 'the evidence clauses'}: largest result ${largest} bytes, at most half of LAVA's ${LAVA_RESULT_METADATA_CAP}`);
    }
  }
});

t.test('every shell job\'s guest definition stays well under the cap (the collector rides on the evidence disk)', { skip: lavaCommonMissing() }, async (t) => {
  const jobs = generate('vmspec-v2', true).filter((j) => j.collects === 'shell');
  t.ok(jobs.length > 0, 'the matrix has shell jobs');
  const sizes = measure(write('guest', jobs)).filter((m) => m.name === 'vmspec-collect');
  t.equal(sizes.length, jobs.length, 'one guest definition per shell job');
  const largest = Math.max(...sizes.map((m) => m.bytes));
  t.ok(largest <= LAVA_RESULT_METADATA_CAP / 2, `largest guest result ${largest} bytes, at most half of LAVA's ${LAVA_RESULT_METADATA_CAP}`);
});

t.test('the measure sees the guest definition that carried collect.sh inline as too long', { skip: lavaCommonMissing() }, async (t) => {
  // How the guest step travelled before the evidence disk carried it: the scripts as here-documents in the steps.
  const job = generate('vmspec-v2', false).find((j) => j.collects === 'shell')!;
  const carried = inlineDefinition('vmspec-collect', 'scripts carried inline', [
    writeFileStep('/tmp/vmspec-lava-guest.sh', job.scripts!.guest, 'VMSPEC_GUEST_SH_EOF'),
    'sh /tmp/vmspec-lava-guest.sh',
  ]);
  const definition = structuredClone(job.definition);
  (definition.actions[2]!.test as { definitions: unknown[] }).definitions = [carried];
  const p = join(work, 'carried-guest.yaml');
  writeFileSync(p, jobYaml(definition, 'test'));
  const [m] = measure([p]);
  t.ok(m!.bytes > LAVA_RESULT_METADATA_CAP, `${m!.bytes} bytes: LAVA would strip it ("Result metadata is too long")`);
});

t.test('the measure sees a definition that carries its scripts inline as too long', { skip: lavaCommonMissing() }, async (t) => {
  // How the verdict step travelled before the image shipped it: the scripts as here-documents in the steps.
  const [job] = generate('vmspec-v2', false);
  const carried = inlineDefinition('vmspec-verdicts', 'scripts carried inline', [
    writeFileStep('/tmp/vmspec-lava-job-log.cjs', readFileSync(join(VERDICT_IMAGE_FILES, 'vmspec-lava-job-log.cjs'), 'utf8'), 'VMSPEC_JOB_LOG_EOF'),
    writeFileStep('/tmp/vmspec-lava-verdict.sh', readFileSync(join(VERDICT_IMAGE_FILES, 'vmspec-lava-verdict.sh'), 'utf8'), 'VMSPEC_VERDICT_SH_EOF'),
    'sh /tmp/vmspec-lava-verdict.sh',
  ]);
  const definition = structuredClone(job!.definition);
  (definition.actions[3]!.test as { definitions: unknown[] }).definitions = [carried];
  const p = join(work, 'carried.yaml');
  writeFileSync(p, jobYaml(definition, 'test'));
  const [m] = measure([p]);
  t.ok(m!.bytes > LAVA_RESULT_METADATA_CAP, `${m!.bytes} bytes: LAVA would strip it ("Result metadata is too long")`);
});
