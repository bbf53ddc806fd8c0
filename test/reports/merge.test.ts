import t from 'tap';
import { spawnSync } from 'node:child_process';
import { marked } from 'marked';
import { mergeRuns, renderMerge } from '../../reports/merge.js';
import { loadSpecOrThrow } from '../../runner/spec-load.js';
import { verify } from '../../runner/verify.js';
import type { Selection } from '../../runner/results.js';
import { buildRun, HOSTILE } from '../fixtures/results-builder.js';

const spec = loadSpecOrThrow('vmspec-v2');

function runs() {
  const a = buildRun({ statuses: { 'V2-IMG-GPT': 'pass', 'V2-IMG-ESP-TYPE': 'fail' }, target: { path: '/img/debian.qcow2', sha256: '11'.repeat(32) } });
  const b = buildRun({ statuses: { 'V2-IMG-GPT': 'fail', 'V2-IMG-ESP-TYPE': 'pass' }, target: { path: '/img/fedora.raw', sha256: '22'.repeat(32) } });
  const c = buildRun({ statuses: { 'V2-IMG-GPT': 'waived' }, target: { path: '/other/debian.qcow2', sha256: '33'.repeat(32) } });
  b.results = b.results.filter((r) => r.id !== 'V2-IMG-CONTAINER');
  return [a, b, c];
}

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
