import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { addReportOptions, parseReportTargets, prepareReports } from '../../cli/options.js';
import { finishReports } from '../../cli/output.js';
import { addReportCommands } from '../../cli/report.js';
import { addSpecRenderCommands } from '../../cli/spec.js';
import { explainErrors, validator } from '../../requirements/schemas.js';
import { SelectionError } from '../../engine/select.js';
import { SpecError } from '../../requirements/spec-load.js';
import { buildRun, HOSTILE } from '../fixtures/results-builder.js';
import { redirectStdout } from '../../cli/stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'vmspec-report-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const p = (f: string) => join(dir, f);

/** The report commands as the CLI will mount them, with errors mapped to exit codes as cli/main.ts does. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const program = new Command('vmspec').exitOverride().configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  addReportCommands(program);
  addSpecRenderCommands(program.command('spec'));
  redirectStdout((text) => (stdout += text));
  process.exitCode = undefined;
  let code = 0;
  try {
    await program.parseAsync(['node', 'vmspec', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) code = 2;
    else if (e instanceof SelectionError || e instanceof SpecError) {
      stderr += e.message;
      code = 2;
    } else throw e;
  } finally {
    redirectStdout(undefined);
    process.exitCode = undefined;
  }
  return { code, stdout, stderr };
}

const run = buildRun({ hostile: true });
writeFileSync(p('run.json'), JSON.stringify(run, null, 2));
const old = buildRun({ statuses: { 'V2-IMG-GPT': 'pass' } });
const now = buildRun({ statuses: { 'V2-IMG-GPT': 'fail' }, target: { path: '/img/other.raw' } });
writeFileSync(p('old.json'), JSON.stringify(old));
writeFileSync(p('new.json'), JSON.stringify(now));

t.test('report render: every format, to a file or standard output', async (t) => {
  const html = await cli(['report', 'render', p('run.json'), '--format', 'html', '--output', p('out/report.html')]);
  t.equal(html.code, 0, html.stderr);
  t.match(readFileSync(p('out/report.html'), 'utf8'), /<!DOCTYPE html>[\s\S]*Traceability matrix/);
  t.notOk(existsSync(`${p('out/report.html')}.tmp-${process.pid}`), 'written atomically (no temp file left)');

  const xml = await cli(['report', 'render', p('run.json'), '-o', p('out/report.xml')]);
  t.equal(xml.code, 0);
  t.match(readFileSync(p('out/report.xml'), 'utf8'), /^<\?xml[\s\S]*<testsuites/, 'format inferred from the .xml extension: junit');

  const mdOut = await cli(['report', 'render', p('run.json'), '--format', 'md']);
  t.match(mdOut.stdout, /^# Compliance report/);
  const tap = await cli(['report', 'render', p('run.json'), '--format', 'tap']);
  t.match(tap.stdout, /^TAP version 14\n/);
  const json = await cli(['report', 'render', p('run.json'), '--format', 'json']);
  t.same(JSON.parse(json.stdout), JSON.parse(JSON.stringify(run)), 'json: the results unchanged');
  const bad = await cli(['report', 'render', p('run.json'), '--format', 'pdf']);
  t.equal(bad.code, 2, 'unknown format: usage error');
});

t.test('report render validates the results file first, with clear errors', async (t) => {
  writeFileSync(p('broken.json'), '{\n  "schemaVersion": 1,\n  "tool": {\n}\n,,');
  const a = await cli(['report', 'render', p('broken.json')]);
  t.equal(a.code, 2);
  t.match(a.stderr, /broken\.json:\d+:\d+: not valid JSON/);
  const wrong = JSON.parse(JSON.stringify(old)) as { results: { status: string }[]; spec: { sha256: string } };
  wrong.results[0]!.status = 'maybe';
  wrong.spec.sha256 = 'nope';
  writeFileSync(p('wrong.json'), JSON.stringify(wrong));
  const b = await cli(['report', 'render', p('wrong.json')]);
  t.equal(b.code, 2);
  t.match(b.stderr, /wrong\.json is not a vmspec results file/);
  t.match(b.stderr, /results\.0\.status: must be one of "pass", "fail"/);
  t.match(b.stderr, /spec\.sha256: "nope" does not have the expected form/);
  const c = await cli(['report', 'render', p('missing.json')]);
  t.equal(c.code, 2);
  t.match(c.stderr, /missing\.json: cannot read/);
});

t.test('report render --waivers applies waivers and recomputes the verdict', async (t) => {
  writeFileSync(p('w.yaml'), 'waivers:\n  - id: V2-IMG-GPT\n    justification: accepted for the test\n    owner: qa\n    expires: 2999-01-01\n  - id: V2-NOTHING-*\n    justification: stale\n    owner: qa\n    expires: 2999-01-01\n');
  const r = await cli(['report', 'render', p('new.json'), '--format', 'json', '--waivers', p('w.yaml')]);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as typeof now;
  t.equal(out.results.find((x) => x.id === 'V2-IMG-GPT')!.status, 'waived');
  t.match(out.warnings?.[0], /V2-NOTHING-\*.* matches no clause/);
  const v = validator('results');
  t.ok(v(out), JSON.stringify(explainErrors(v.errors)));
  writeFileSync(p('bad.yaml'), 'waivers:\n  - id: V2-IMG-GPT\n    owner: qa\n    expires: 2999-01-01\n');
  const bad = await cli(['report', 'render', p('new.json'), '--waivers', p('bad.yaml')]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /bad\.yaml:2:5: waivers\.0: missing required field "justification"/);
});

t.test('report diff: exit 1 on regressions, 0 otherwise', async (t) => {
  const r = await cli(['report', 'diff', p('old.json'), p('new.json')]);
  t.equal(r.code, 1);
  t.match(r.stdout, /Regressions \(\d+\):[\s\S]*V2-IMG-GPT/);
  const back = await cli(['report', 'diff', p('new.json'), p('old.json'), '--format', 'json']);
  t.equal(back.code, 0);
  t.ok(JSON.parse(back.stdout).fixes.some((c: { id: string }) => c.id === 'V2-IMG-GPT'));
  const mdOut = await cli(['report', 'diff', p('old.json'), p('new.json'), '--format', 'md', '-o', p('diff.md')]);
  t.equal(mdOut.code, 1);
  t.match(readFileSync(p('diff.md'), 'utf8'), /^# vmspec report diff/);
});

t.test('report merge: a matrix in html, md, json', async (t) => {
  const r = await cli(['report', 'merge', p('old.json'), p('new.json'), p('run.json'), '--format', 'md']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /\| V2-IMG-GPT Disk is partitioned with GPT \| IMG-2 \| MUST \| \*\*PASS\*\* \| \*\*FAIL\*\* \| \*\*FAIL\*\* \|/);
  const html = await cli(['report', 'merge', p('old.json'), p('new.json'), '-o', p('matrix.html')]);
  t.equal(html.code, 0);
  t.match(readFileSync(p('matrix.html'), 'utf8'), /<table class="merge">/);
  const json = await cli(['report', 'merge', p('old.json'), p('new.json'), '--format', 'json']);
  t.equal(JSON.parse(json.stdout).columns.length, 2);
  t.notMatch(r.stdout, new RegExp(HOSTILE.script.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'hostile target paths are escaped');
});

t.test('spec render and spec diff', async (t) => {
  const html = await cli(['spec', 'render', '--format', 'html', '-o', p('spec.html')]);
  t.equal(html.code, 0);
  t.match(readFileSync(p('spec.html'), 'utf8'), /VM System Specification for ARM Processors 2\.0/);
  const mdOut = await cli(['spec', 'render', '--spec', 'vmspec-v1', '--format', 'md']);
  t.match(mdOut.stdout, /^# VM System Specification for ARM Processors 1\.0 \(vmspec-v1\)/);
  const d = await cli(['spec', 'diff', 'vmspec-v1', 'vmspec-v2']);
  t.equal(d.code, 0);
  t.match(d.stdout, /Added \(\d+\):[\s\S]*Removed \(\d+\):[\s\S]*Changed \(\d+\):/);
  const bad = await cli(['spec', 'diff', 'vmspec-v1', 'vmspec-v9']);
  t.equal(bad.code, 2, 'unknown spec: usage error');
});

t.test('--report FORMAT:FILE for verify: several formats at once, waivers first', async (t) => {
  t.same(parseReportTargets(['html:a.html', 'junit:b.xml', 'c.tap', 'json:d']), [
    { format: 'html', file: 'a.html' }, { format: 'junit', file: 'b.xml' }, { format: 'tap', file: 'c.tap' }, { format: 'json', file: 'd' },
  ]);
  t.throws(() => parseReportTargets(['pdf:x.pdf']), /unknown format "pdf"/);
  t.throws(() => parseReportTargets(['report']), /say the format as FORMAT:FILE/);
  t.throws(() => parseReportTargets(['html:x', 'md:x']), /x is named twice/);
  t.throws(() => prepareReports({ report: ['html:x.html'], waivers: p('bad.yaml') }), /bad\.yaml:2:5/, 'a bad waivers file fails before the run');

  const opts = addReportOptions(new Command('verify').exitOverride()).parse(['node', 'verify', '--report', 'html:a.html', '--report', 'junit:b.xml', '--waivers', 'w.yaml']).opts();
  t.same(opts, { report: ['html:a.html', 'junit:b.xml'], waivers: 'w.yaml' }, 'the options verify and boot get');

  const files = ['html', 'md', 'junit', 'tap', 'json'].map((f) => `${f}:${p(`all/report.${f}`)}`);
  const prepared = prepareReports({ report: files, waivers: p('w.yaml') });
  const result = await finishReports(now, prepared, undefined, new Date('2025-01-01T00:00:00Z'));
  t.equal(result.results.find((r) => r.id === 'V2-IMG-GPT')!.status, 'waived', 'waivers applied before writing');
  for (const f of ['html', 'md', 'junit', 'tap', 'json']) t.ok(existsSync(p(`all/report.${f}`)), `${f} written`);
  const json = JSON.parse(readFileSync(p('all/report.json'), 'utf8')) as typeof now;
  t.equal(json.exitCode, result.exitCode, 'every format tells the same verdict');
  t.match(readFileSync(p('all/report.tap'), 'utf8'), /# waived: accepted for the test/);
});
