import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { marked } from 'marked';
import { Parser, type Result as TapResult } from 'tap-parser';
import { mergeRuns, renderMerge, MERGE_FORMATS } from '../../reports/merge.js';
import { repoRoot } from '../fixtures/cache.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { verify } from '../../engine/verify.js';
import type { Selection } from '../../engine/results.js';
import { buildRun, HOSTILE } from '../fixtures/results-builder.js';

const spec = loadSpecOrThrow('vmspec-v2');

function runs() {
  const a = buildRun({ statuses: { 'V2-IMG-GPT': 'pass', 'V2-IMG-ESP-TYPE': 'fail' }, target: { path: '/img/debian.qcow2', sha256: '11'.repeat(32) } });
  const b = buildRun({ statuses: { 'V2-IMG-GPT': 'fail', 'V2-IMG-ESP-TYPE': 'pass' }, target: { path: '/img/fedora.raw', sha256: '22'.repeat(32) } });
  const c = buildRun({ statuses: { 'V2-IMG-GPT': 'waived' }, target: { path: '/other/debian.qcow2', sha256: '33'.repeat(32) } });
  b.results = b.results.filter((r) => r.id !== 'V2-IMG-CONTAINER');
  return [a, b, c];
}

t.test('boot runs of one image on different hypervisors get columns named by both', async (t) => {
  const [a, b] = runs();
  const onKvm = { ...a!, target: b!.target, environment: { hypervisor: 'QEMU 7.2.22 (KVM)' } };
  const onTcg = { ...a!, target: b!.target, environment: { hypervisor: 'QEMU 7.2.22 (TCG)' } };
  const m = mergeRuns([{ run: onKvm }, { run: onTcg }, { run: b! }], spec);
  t.same(m.columns.map((x) => x.label), ['fedora.raw · QEMU 7.2.22 (KVM)', 'fedora.raw · QEMU 7.2.22 (TCG)', 'fedora.raw']);
});

t.test('targets × clauses matrix', async (t) => {
  const [a, b, c] = runs();
  const m = mergeRuns([{ run: a!, source: 'a.json' }, { run: b!, source: 'b.json' }, { run: c! }], spec);
  t.same(m.columns.map((x) => x.label), ['debian.qcow2', 'fedora.raw', 'debian.qcow2 (2)'], 'column labels are file names, made unique');
  t.same(m.sections.map((s) => s.title), spec.sections.map((s) => s.title), 'rows grouped by section in spec order');
  const rows = m.sections.flatMap((s) => s.rows);
  t.same(rows.map((r) => r.id), spec.requirements.map((r) => r.id), 'one row per clause, in spec order');
  const cell = (id: string, i: number) => rows.find((r) => r.id === id)!.cells[i]?.status ?? null;
  t.equal(cell('V2-IMG-GPT', 0), 'pass');
  t.equal(cell('V2-IMG-GPT', 1), 'fail');
  t.equal(cell('V2-IMG-GPT', 2), 'waived');
  t.equal(cell('V2-IMG-ESP-TYPE', 0), 'fail');
  t.equal(cell('V2-IMG-ESP-TYPE', 1), 'pass');
  t.equal(cell('V2-IMG-CONTAINER', 1), null, 'not checked in that run: empty cell');
  t.same(m.columns[0]!.summary, a!.summary);
  t.same(m.warnings, []);

  const json = JSON.parse(renderMerge(m, 'json')) as typeof m;
  t.equal(json.columns.length, 3);
  t.equal(json.sections[1]!.rows.find((r) => r.id === 'V2-IMG-GPT')!.cells[1]!.status, 'fail');

  const mdOut = renderMerge(m, 'md');
  t.match(mdOut, /\| V2-IMG-GPT Disk is partitioned with GPT \| IMG-2 \| MUST \| \*\*PASS\*\* \| \*\*FAIL\*\* \| \*\*WAIVED\*\* \|/);
  t.match(mdOut, /\| V2-IMG-CONTAINER .* \| \*\*[A-Z]+\*\* \| — \| \*\*[A-Z]+\*\* \|/);

  const html = renderMerge(m, 'html');
  t.match(html, /<th title="\/img\/fedora\.raw">2: fedora\.raw<\/th>/);
  t.match(html, /<tr data-id="V2-IMG-GPT">.*?PASS.*?FAIL.*?WAIVED/);
  t.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'sha256-[^']+'; script-src 'none'/, 'no script at all in the merged page');
});

t.test('different specs are warned about; rows match by id', async (t) => {
  const v1 = buildRun({ spec: 'vmspec-v1' });
  const v2 = buildRun({ spec: 'vmspec-v2' });
  const m = mergeRuns([{ run: v1 }, { run: v2 }]);
  t.match(m.warnings[0], /the runs checked different specs \(vmspec-v1 1\.0; vmspec-v2 2\.0\)/);
  t.equal(m.sections.flatMap((s) => s.rows).length, v1.results.length + v2.results.length);
});

t.test('hostile strings are inert in every merge format', async (t) => {
  const [a, b] = runs();
  b!.target.path = `/img/${HOSTILE.img}${HOSTILE.controls}`;
  b!.results[0]!.message = HOSTILE.script;
  b!.results[0]!.title = HOSTILE.svg;
  const m = mergeRuns([{ run: a! }, { run: b! }], spec);
  const html = renderMerge(m, 'html');
  t.notMatch(html, /<img|<svg|<script(?!>\(function)/i);
  const mdHtml = marked.parse(renderMerge(m, 'md'), { async: false }) as string;
  t.notMatch(mdHtml, /<img|<svg|<script/i);
});

const hasTools = ['sgdisk', 'mkfs.vfat', 'mcopy'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

t.test('real results from the image suite merge into one matrix', { skip: hasTools ? false : 'needs sgdisk, mkfs.vfat, mcopy' }, async (t) => {
  const { gptEspThird, mbrDisk, dataDisk } = await import('../fixtures/disk-builder.js');
  const selection: Selection = { profile: 'image', only: [], section: [], level: [], target: [], tags: [] };
  const images = [gptEspThird(), mbrDisk([{ type: 'ef', sizeMiB: 8 }]), dataDisk()];
  const results = await Promise.all(images.map((image) => verify({ spec, selection, image })));
  const m = mergeRuns(results.map((run) => ({ run })), spec);
  t.equal(m.columns.length, 3);
  const gpt = m.sections.flatMap((s) => s.rows).find((r) => r.id === 'V2-IMG-GPT')!;
  t.same(gpt.cells.map((c) => c?.status), ['pass', 'fail', 'pass']);
  t.equal(m.sections.flatMap((s) => s.rows).length, results[0]!.results.length, 'the same selection: the same rows');
});

const XSD = resolve(repoRoot, 'test', 'fixtures', 'junit.xsd');
const noXmllint = spawnSync('xmllint', ['--version']).status === 0 ? false : 'xmllint not found: apt-get install -y --no-install-recommends libxml2-utils';
const dir = mkdtempSync(join(tmpdir(), 'vmspec-merge-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Merge the three runs with hostile text in the second one. */
function hostileMerge() {
  const [a, b, c] = runs();
  const h = buildRun({ hostile: true, target: { path: '/img/fedora.raw', sha256: '22'.repeat(32) } });
  b!.results = h.results.filter((r) => r.id !== 'V2-IMG-CONTAINER');
  b!.target.path = `/img/${HOSTILE.img}${HOSTILE.controls}`;
  b!.results[0]!.message = `${HOSTILE.script} ${HOSTILE.tapBreak} ${HOSTILE.cdata}`;
  return { runs: [a!, b!, c!], m: mergeRuns([{ run: a!, source: 'a.json' }, { run: b!, source: `b${HOSTILE.svg}.json` }, { run: c! }], spec) };
}

t.test('merge is available in every format', async (t) => {
  t.same([...MERGE_FORMATS].sort(), ['html', 'json', 'junit', 'md', 'tap']);
});

t.test('merge as JUnit: one testsuite per target, a testcase per clause, valid against the XSD', { skip: noXmllint }, async (t) => {
  const { runs: rs, m } = hostileMerge();
  const file = join(dir, 'merge.xml');
  const xml = renderMerge(m, 'junit');
  writeFileSync(file, xml);
  const v = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  t.equal(v.status, 0, v.stderr);
  t.match(v.stderr, /validates/);
  const xpath = (expr: string) => execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
  t.equal(Number(xpath('count(/testsuites/testsuite)')), 3, 'one testsuite per target');
  t.same([1, 2, 3].map((i) => xpath(`string(/testsuites/testsuite[${i}]/@name)`)), m.columns.map((c) => c.label), 'named by the column label');
  for (const [i, run] of rs.entries()) {
    const suite = `/testsuites/testsuite[${i + 1}]`;
    t.equal(Number(xpath(`count(${suite}/testcase)`)), run.results.length, `suite ${i + 1}: a testcase per clause that run checked`);
    t.equal(Number(xpath(`count(${suite}/testcase/failure)`)), run.results.filter((r) => r.status === 'fail').length, `suite ${i + 1}: failures`);
    t.equal(Number(xpath(`count(${suite}/testcase/error)`)), run.results.filter((r) => r.status === 'error').length, `suite ${i + 1}: errors`);
    t.equal(Number(xpath(`count(${suite}/testcase/skipped[@type="waived"])`)), run.results.filter((r) => r.status === 'waived').length, `suite ${i + 1}: waived`);
    t.equal(Number(xpath(`string(${suite}/@tests)`)), run.results.length);
  }
  t.equal(Number(xpath('string(/testsuites/@tests)')), rs.reduce((a, r) => a + r.results.length, 0), 'totals add up');
  t.equal(xpath('string(/testsuites/testsuite[2]/testcase[starts-with(@name, "V2-IMG-GPT ")]/@classname)'), 'VM Image Format', 'classname = section');
  t.equal(xpath('string(/testsuites/testsuite[2]/properties/property[@name="target.sha256"]/@value)'), '22'.repeat(32), 'run properties per suite');
  t.equal(xpath('string(/testsuites/testsuite[3]/testcase[starts-with(@name, "V2-IMG-GPT ")]/skipped/@type)'), 'waived');
  t.match(xpath('string(/testsuites/testsuite[3]/testcase[starts-with(@name, "V2-IMG-GPT ")]/skipped/@message)'), /^waived: Known firmware limitation/, 'the justification');
  t.equal(Number(xpath('count(//script | //img | //svg | //iframe)')), 0, 'no element from untrusted text');
  t.ok(xpath('string(/testsuites/testsuite[2]/properties/property[@name="target.path"]/@value)').includes(HOSTILE.img.slice(0, 10)), 'hostile text comes back as text');
  t.notMatch(xml, /<!\[CDATA\[/);
  // eslint-disable-next-line no-control-regex
  t.notMatch(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
});

function parseTap(text: string): Promise<{ final: { ok: boolean; count: number; pass: number; fail: number; plan: { start: number; end: number } }; asserts: TapResult[]; extra: string[]; children: { name: string; asserts: TapResult[]; final: { ok: boolean; count: number; fail: number; skip: number } }[] }> {
  return new Promise((done) => {
    const asserts: TapResult[] = [];
    const extra: string[] = [];
    const children: { name: string; asserts: TapResult[]; final: { ok: boolean; count: number; fail: number; skip: number } }[] = [];
    const p = new Parser((final) => done({ final: final as never, asserts, extra, children }));
    p.on('assert', (a: TapResult) => asserts.push(a));
    p.on('extra', (e: string) => extra.push(e));
    p.on('child', (child: Parser) => {
      const entry = { name: '', asserts: [] as TapResult[], final: { ok: false, count: 0, fail: 0, skip: 0 } };
      children.push(entry);
      child.on('assert', (a: TapResult) => entry.asserts.push(a));
      child.on('extra', (e: string) => extra.push(e));
      child.on('complete', (f: typeof entry.final) => (entry.final = f));
      entry.name = child.name;
    });
    p.end(text);
  });
}

t.test('merge as TAP: one subtest per target, read back with tap-parser', async (t) => {
  const { runs: rs, m } = hostileMerge();
  const tap = renderMerge(m, 'tap');
  const { final, asserts, extra, children } = await parseTap(tap);
  t.same(extra, [], 'nothing the parser could not place');
  t.has(final.plan, { start: 1, end: 3 }, 'plan: one point per target');
  t.equal(final.count, 3);
  t.same(asserts.map((a) => a.name), m.columns.map((c) => c.label), 'parent points named by target');
  t.same(asserts.map((a) => a.ok), rs.map((r) => !r.results.some((x) => x.status === 'fail' || x.status === 'error')), 'a target is not ok when a clause failed or errored');
  t.equal(children.length, 3, 'three subtests');
  for (const [i, run] of rs.entries()) {
    const c = children[i]!;
    t.equal(c.final.count, run.results.length, `subtest ${i + 1}: one point per clause, none injected`);
    t.equal(c.final.fail, run.results.filter((r) => r.status === 'fail' || r.status === 'error').length, `subtest ${i + 1}: fail and error are not ok`);
    t.equal(c.final.skip, run.results.filter((r) => r.status === 'skip' || r.status === 'manual').length, `subtest ${i + 1}: skip and manual are SKIP`);
  }
  const gpt = children[1]!.asserts.find((a) => a.name.startsWith('V2-IMG-GPT '))!;
  t.notOk(gpt.ok);
  t.equal((gpt.diag as { severity: string }).severity, 'fail');
  const waived = children[2]!.asserts.find((a) => a.name.startsWith('V2-IMG-GPT '))!;
  t.ok(waived.ok, 'waived is ok');
  t.match((waived.diag as { waiver: string }).waiver, /Known firmware limitation/, 'with the waiver in the diagnostics');
  t.equal((asserts[1]!.diag as { 'target.sha256': string })['target.sha256'], '22'.repeat(32), 'the target in the parent point\'s diagnostics');
  const stray = tap.split('\n').filter((line) => !(line === '' || /^(TAP version 14|1\.\.\d+|# .*|(ok|not ok) \d+ - .*| {2}.*)$/.test(line)));
  t.same(stray, [], 'every top-level line is a version, plan, comment, test point or indented block');
  const inner = tap.split('\n').filter((l) => l.startsWith('    ') && !/^ {4}(1\.\.\d+|# .*|(ok|not ok) \d+ - .*| {2}.*)$/.test(l));
  t.same(inner, [], 'and so is every subtest line');
  t.notMatch(tap, /^\s*not ok 99/m, 'the injected test point is not a test point');
});
