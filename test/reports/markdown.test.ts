import t from 'tap';
import { marked } from 'marked';
import { fence, md, renderMarkdown } from '../../reports/markdown.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { buildRun, HOSTILE, HOSTILE_ALL } from '../fixtures/results-builder.js';

const spec = loadSpecOrThrow('vmspec-v2');
const run = buildRun({ hostile: true });
const out = renderMarkdown(run, spec);
// marked passes raw HTML through untouched (GFM): anything that survived our escaping would show here.
const html = marked.parse(out, { gfm: true, async: false }) as string;

const ALLOWED_TAGS = new Set(['h1', 'h2', 'h3', 'h4', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li', 'strong', 'em', 'code', 'pre', 'blockquote', 'br', 'hr']);

t.test('no raw HTML from untrusted strings survives a GFM renderer', async (t) => {
  const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase()));
  t.same([...tags].filter((x) => !ALLOWED_TAGS.has(x)), [], `only Markdown's own elements: ${[...tags].join(' ')}`);
  t.notMatch(html, /<a\s/i, 'no link from untrusted text (the [link](javascript:…) payload is inert)');
  t.notMatch(html, /<img/i);
  t.notMatch(html, /<script/i);
  t.notMatch(html.replace(/="[^"]*"/g, '=""'), /<[a-z][^<>]*\son[a-z]+=/i, 'no event handler attribute');
  t.match(html, /&lt;script&gt;window\.__vmspecPwned/, 'the payload is shown as text');
});

t.test('tables keep their shape: pipes and newlines in cells are escaped', async (t) => {
  const tables = [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((m) => m[1]!);
  t.ok(tables.length > 5);
  for (const tb of tables) {
    const rows = [...tb.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => (m[1]!.match(/<t[hd][ >]/g) ?? []).length);
    t.ok(rows.every((n) => n === rows[0]), `every row has ${rows[0]} cells`);
  }
  const clauseRow = /\| \*\*FAIL\*\* \| V2-IMG-GPT \|/.test(out);
  t.ok(clauseRow, 'the clause table lists the failing clause');
});

t.test('code fences cannot be closed by their content', async (t) => {
  const body = 'x ``` y\n````\nz';
  const f = fence(body, 'json');
  t.ok(f.startsWith('`````json\n'), 'fence longer than any backtick run inside');
  const rendered = marked.parse(f, { async: false }) as string;
  t.equal((rendered.match(/<pre>/g) ?? []).length, 1);
  t.match(rendered, /````/);
  // A report whose observed facts hold backtick runs: they stay verbatim inside one code block.
  const r = buildRun({});
  const failing = r.results.find((x) => x.status === 'fail')!;
  failing.observed = { note: 'a ``` b ```` c <script>' };
  const rep = renderMarkdown(r, spec);
  t.ok(rep.includes('"note": "a ``` b ```` c <script>"'), 'backticks and markup inside facts are kept verbatim in code blocks');
  t.ok(rep.includes('`````json\n{\n  "note"'), 'with a fence longer than the longest run');
  const repHtml = marked.parse(rep, { async: false }) as string;
  t.match(repHtml, /<code class="language-json">\{\n  &quot;note&quot;: &quot;a ``` b ```` c &lt;script&gt;&quot;\n\}\n<\/code>/);
});

t.test('md() escaping', async (t) => {
  t.equal(md('<b>x</b>'), '&lt;b&gt;x&lt;/b&gt;');
  t.equal(md('a|b'), 'a\\|b');
  t.equal(md('`x`'), '\\`x\\`');
  t.equal(md('[l](javascript:x)'), '\\[l\\](javascript:x)');
  t.equal(md('see https://x.example/a'), 'see https\\://x.example/a', 'no autolink');
  t.equal(md('1. not a list'), '1\\. not a list');
  t.equal(md('- not a list'), '\\- not a list');
  t.equal(md('line\nbreak\ttab'), 'line break tab');
  t.equal(md('bell\u0007'), 'bell\\\\x07', 'control characters are made visible, then the backslash escaped');
  t.equal(md('\ud800'), '\ufffd');
  t.ok(md(HOSTILE.longLine).length < 5000, 'long lines are cut');
  t.match(md(HOSTILE.longLine), /truncated/);
  const rendered = marked.parseInline(md(HOSTILE_ALL)) as string;
  t.notMatch(rendered, /<(?!br)[a-z]/i, 'an inline hostile string renders to text only');
});

t.test('content: summary, sections, details, manual checks, matrix', async (t) => {
  t.match(out, /^# Compliance report: VM System Specification for ARM Processors 2\.0/m);
  t.match(out, /\*\*Exit code 1:\*\*/);
  t.match(out, /^## Summary/m);
  t.match(out, /^### By level/m);
  for (const s of spec.sections) t.ok(out.includes(`### ${md(s.title)}`), `section ${s.title}`);
  t.match(out, /^#### FAIL V2-IMG-GPT/m, 'details for a failure');
  t.match(out, /\*\*Waived\*\* by /, 'waiver shown');
  t.match(out, /^## Manual checks/m);
  t.match(out, /^## Traceability matrix/m);
  t.match(out, /Observed facts \(shortened for display/);
  t.match(out, /> \[!WARNING\]/, 'warnings from the run');
});
