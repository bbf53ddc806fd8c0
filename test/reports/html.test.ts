import t from 'tap';
import { createHash } from 'node:crypto';
import { renderHtml } from '../../reports/html.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { buildRun, HOSTILE } from '../fixtures/results-builder.js';

const spec = loadSpecOrThrow('vmspec-v2');
const hostile = buildRun({ hostile: true });
const html = renderHtml(hostile, spec);

t.test('self-contained: no external asset, inline CSS and script allowed by hash only', async (t) => {
  t.notMatch(html, /<link\b/i, 'no stylesheet links');
  // Attribute values are quoted and their quotes escaped, so blanking them leaves only real markup.
  const markup = html.replace(/="[^"]*"/g, '=""');
  t.notMatch(markup, /<[a-z][^<>]*\ssrc\s*=/i, 'no element with a src attribute');
  t.notMatch(markup, /<[a-z][^<>]*\son[a-z]+\s*=/i, 'no event-handler attribute');
  t.notMatch(html, /<[a-z][^<>]*\shref\s*=\s*"(?!#)/i, 'every link is an in-page anchor');
  t.notMatch(html, /@import|url\(/i, 'CSS loads nothing');
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  t.ok(csp, 'a Content-Security-Policy is set');
  t.match(csp!, /default-src 'none'/);
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
  const hash = (s: string) => `sha256-${createHash('sha256').update(s).digest('base64')}`;
  t.ok(csp!.includes(`style-src '${hash(style)}'`), 'the inline style is allowed by its hash');
  t.ok(csp!.includes(`script-src '${hash(script)}'`), 'the inline script is allowed by its hash');
  t.equal(html.match(/<script/gi)?.length, 1, 'one script element: the report\'s own');
  t.match(style, /@media print/, 'print CSS');
});

t.test('hostile strings are escaped everywhere', async (t) => {
  t.notOk(html.includes(HOSTILE.script), 'no raw <script> payload');
  t.notOk(html.includes('<img'), 'no raw <img');
  t.notOk(html.includes('<svg'), 'no raw <svg');
  t.notOk(html.includes('<iframe'), 'no raw <iframe');
  t.notOk(html.includes('<b>'), 'no raw <b>');
  t.match(html, /&lt;script&gt;window\.__vmspecPwned/, 'the payload appears escaped');
  t.match(html, /onerror=&quot;window/, 'attribute quotes are escaped');
  // eslint-disable-next-line no-control-regex
  t.notMatch(html, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/, 'no raw control characters');
  t.notMatch(html, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/, 'no lone surrogates');
  t.ok(html.includes('[truncated: '), 'truncated values say so');
  t.ok(html.length < 2_000_000, `bounded size (${html.length} characters) despite huge observed values`);
  t.ok(!html.includes('W'.repeat(20_000)), 'the 20 000-character line is cut');
});

t.test('metadata, summary, sections in spec order, clause details, matrix', async (t) => {
  t.match(html, /Spec sha256<\/th><td><code>[0-9a-f]{64}<\/code>/);
  t.match(html, /Target sha256<\/th><td><code>(ab){32}<\/code>/);
  t.match(html, /environment<\/th>/, 'extra run metadata (firmware, QEMU) is shown');
  t.match(html, /Exit code 1: a MUST\/SHALL clause failed/);
  for (const s of ['pass', 'fail', 'skip', 'error', 'waived', 'manual']) t.match(html, new RegExp(`data-summary-status="${s}"`), `summary row for ${s}`);
  t.match(html, /<h3>By level<\/h3>/);

  const sectionOrder = [...html.matchAll(/<section class="spec-section" id="section-\d+-[^"]*">\s*<h3>([^<]+?)(?: <small>|<\/h3>)/g)].map((m) => m[1]);
  t.same(sectionOrder.slice(0, spec.sections.length), spec.sections.map((s) => s.title), 'sections in spec order');
  const ids = [...html.matchAll(/<article class="clause" id="[^"]+" data-status="[a-z]+"[^>]*>\s*<div class="clause-head"><span[^>]*>[A-Z]+<\/span><h4><a class="id" href="#[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);
  t.same(ids.slice(0, spec.requirements.length), spec.requirements.map((r) => r.id), 'clauses in spec order');

  const gpt = spec.requirements.find((r) => r.id === 'V2-IMG-GPT')!;
  t.ok(html.includes(gpt.text.replace(/'/g, '&#39;')), 'paraphrase from the spec');
  t.match(html, /Manual procedure:/);
  t.match(html, /Remediation:/);
  t.match(html, /<span class="label">Waived<\/span> by waiver <code>V2-/, 'waiver data');
  t.match(html, /Known firmware limitation|Accepted: /, 'waiver justification');
  t.match(html, /<table class="mismatches">/, 'mismatch table');
  t.match(html, /<table class="facts">[\s\S]*?expects/, 'expected vs observed table');
  t.match(html, /All observed facts/);
  t.match(html, /<table class="matrix">/, 'traceability matrix');
  t.match(html, /rowspan="\d+">VM Image Format<\/td>/, 'matrix groups by section');
});

t.test('partial selection: the matrix lists clauses not selected', async (t) => {
  const run = buildRun({});
  run.results = run.results.filter((r) => r.target === 'image');
  const out = renderHtml(run, spec);
  t.match(out, /not selected/);
  t.match(out, /Requirements marked “not selected” were outside this run/);
});

t.test('without the spec the report still stands, and says what is missing', async (t) => {
  const out = renderHtml(buildRun({}));
  t.match(out, /The spec was not available/);
  t.notMatch(out, /class="paraphrase"/);
  t.match(out, /<article class="clause"/);
});

t.test('a changed spec is noted', async (t) => {
  const run = buildRun({});
  run.spec.sha256 = '0'.repeat(64);
  t.match(renderHtml(run, spec), /The spec files changed since this run/);
});
