import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marked } from 'marked';
import { renderHtml } from '../../reports/html.js';
import { md } from '../../reports/markdown.js';
import { buildSpecModel, diffSpecs, renderSpec, renderSpecDiff } from '../../reports/spec-render.js';
import { describe } from '../../requirements/expect.js';
import { loadSpecOrThrow, resolveSpecDir } from '../../requirements/spec-load.js';
import { buildRun } from '../fixtures/results-builder.js';

const v2 = loadSpecOrThrow('vmspec-v2');
const v1 = loadSpecOrThrow('vmspec-v1');

t.test('the spec as HTML: sections, requirements, how each is checked, clause and page', async (t) => {
  const html = renderSpec(v2, 'html');
  const sections = [...html.matchAll(/<h2>([^<]+) <small>\(p(\d+)\)<\/small><\/h2>/g)].map((m) => `${m[1]} p${m[2]}`);
  t.same(sections, v2.sections.map((s) => `${s.title} p${s.page}`), 'sections in order with pages');
  for (const r of v2.requirements) {
    t.ok(html.includes(`<code>${r.id}</code>`), `${r.id} is there`);
  }
  const gpt = v2.requirements.find((r) => r.id === 'V2-IMG-GPT')!;
  t.ok(html.includes(`expects ${describe(gpt.expect![0]!)}`), 'expectations in words');
  t.ok(html.includes(`probe <code>${gpt.probe}</code>`), 'the probe');
  const backup = v2.requirements.find((r) => r.id === 'V2-IMG-GPT-BACKUP')!;
  t.ok(html.includes(`applies when ${describe(backup.when![0]!)}`), '`when` in words');
  t.match(html, /<span class="label">Checked by hand:<\/span>/, 'manual procedures');
  t.match(html, /<dt>Clause<\/dt><dd>IMG-2, p3<\/dd>/, 'clause label and page');
  t.match(html, /<section id="inventory">[\s\S]*ARCH-1/, 'clause inventory');
  t.match(html, /Defined in spec\/vmspec-v2\/02-vm-image-format\.yaml:\d+/, 'where each requirement is written');
});

t.test('the spec as Markdown', async (t) => {
  const out = renderSpec(v1, 'md');
  t.match(out, /^# VM System Specification for ARM Processors 1\.0 \(vmspec-v1\)/m);
  for (const s of v1.sections) t.ok(out.includes(`## ${md(s.title)} (p${s.page})`), s.title);
  t.match(out, /^### V1-IMG-GPT: /m);
  t.match(out, /- \*\*Checked by\*\* probe image\.partition-table:/);
  t.match(out, /^ {2}- expects gpt\.present = true$/m);
  t.match(out, /- \*\*Checked by hand:\*\* /);
  const html = marked.parse(out, { async: false }) as string;
  t.ok((html.match(/<h3>/g) ?? []).length === v1.requirements.length, 'one heading per requirement');
});

t.test('a spec editor changes a clause: the rendered spec and the next report show it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-spec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(resolveSpecDir('vmspec-v2'), dir, { recursive: true });
  const file = join(dir, '02-vm-image-format.yaml');
  const yaml = readFileSync(file, 'utf8');
  // Edit V2-IMG-GPT as an editor would: prefix its paraphrase, extend its title.
  const at = yaml.indexOf('- id: V2-IMG-GPT\n');
  const block = yaml.slice(at, yaml.indexOf('\n  - id:', at + 1));
  const editedBlock = block
    .replace(/(\n {4}text: >\n {6})/, '$1EDITED <b>by the editor</b>: ')
    .replace(/\n {4}title: ([^\n]+)/, (_m, title: string) => `\n    title: "${title} <script>x</script>"`);
  const edited = yaml.replace(block, editedBlock);
  t.not(edited, yaml, 'the edit applies');
  writeFileSync(file, edited);
  const spec = loadSpecOrThrow(dir);
  t.not(spec.sha256, v2.sha256, 'the spec hash changes');

  const specHtml = renderSpec(spec, 'html');
  t.match(specHtml, /EDITED &lt;b&gt;by the editor&lt;\/b&gt;: /, 'the rendered spec shows the edit, escaped');
  t.match(specHtml, / &lt;script&gt;x&lt;\/script&gt;<\/h3>/);
  t.notMatch(specHtml, /<b>by|<script>x/);
  t.match(renderSpec(spec, 'md'), /EDITED &lt;b&gt;by the editor&lt;/);

  const run = buildRun({ spec });
  const report = renderHtml(run, spec);
  t.match(report, /EDITED &lt;b&gt;by the editor&lt;\/b&gt;/, 'the next report carries the new paraphrase');
  t.ok(report.includes(spec.sha256), 'and the new spec hash');
  t.match(renderHtml(run, v2), /The spec files changed since this run/, 'rendering that run with the old spec says the spec differs');

  const d = diffSpecs(v2, spec);
  t.same(d.changed.map((c) => [c.newId, c.changes.map((x) => x.field)]), [['V2-IMG-GPT', ['title', 'text']]], 'spec diff sees exactly the edit');
  t.equal(d.added.length + d.removed.length, 0);
});

t.test('spec diff v1 → v2: matched by id without prefix, then by clause label', async (t) => {
  const d = diffSpecs(v1, v2);
  t.ok(d.changed.some((c) => c.oldId === 'V1-IMG-GPT' && c.newId === 'V2-IMG-GPT' && c.matchedBy === 'id'), 'V1-IMG-GPT ↔ V2-IMG-GPT');
  const gpt = d.changed.find((c) => c.newId === 'V2-IMG-GPT')!;
  t.ok(gpt.changes.some((c) => c.field === 'text'), 'its paraphrase changed');
  t.ok(d.added.some((c) => c.id === 'V2-ARCH-PSCI' && c.label === 'ARCH-4'), 'ARCH-4 (PSCI) is new in v2');
  t.ok(d.removed.length > 0);
  const all = new Set([...d.added.map((c) => c.id), ...d.changed.map((c) => c.newId)]);
  t.equal(all.size + d.unchanged, v2.requirements.length, 'every v2 requirement is accounted for');
  t.equal(d.removed.length + d.changed.length + d.unchanged, v1.requirements.length, 'every v1 requirement is accounted for');

  const text = renderSpecDiff(d, 'text');
  t.match(text, /^Added \(\d+\):/m);
  t.match(text, /^Removed \(\d+\):/m);
  t.match(text, /^Changed \(\d+\):/m);
  t.match(text, /~ V1-IMG-GPT → V2-IMG-GPT/);
  t.match(text, /Summary: \d+ added, \d+ removed, \d+ changed, \d+ unchanged/);
  t.match(renderSpecDiff(d, 'md'), /^## Changed \(\d+\)/m);
  t.same(JSON.parse(renderSpecDiff(d, 'json')).old, { id: 'vmspec-v1', version: '1.0', sha256: v1.sha256 });
});

t.test('pairing by clause label when ids differ', async (t) => {
  const a = structuredClone(v2);
  const b = structuredClone(v2);
  const renamed = b.requirements.find((r) => r.id === 'V2-IMG-ESP-FAT32')!;
  renamed.id = 'V2-IMG-ESP-FILESYSTEM';
  const d = diffSpecs(a, b);
  const c = d.changed.find((x) => x.newId === 'V2-IMG-ESP-FILESYSTEM');
  t.ok(c, 'the renamed requirement is paired');
  t.equal(c?.matchedBy, 'label');
  t.equal(c?.oldId, 'V2-IMG-ESP-FAT32');
  t.same(d.added, []);
  t.same(d.removed, []);
});

t.test('model counts', async (t) => {
  const m = buildSpecModel(v2);
  t.equal(m.counts.requirements, v2.requirements.length);
  t.equal(m.counts.automated + m.counts.manual, v2.requirements.length);
  t.same(m.labels.map((l) => l.label), v2.labels);
  t.ok(m.labels.every((l) => l.ids.length > 0), 'every clause label is cited');
});
