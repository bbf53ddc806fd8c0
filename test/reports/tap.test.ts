import t from 'tap';
import { Parser, type Result as TapResult } from 'tap-parser';
import { renderTap, tapDescription } from '../../reports/tap.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { buildRun, HOSTILE } from '../fixtures/results-builder.js';

interface Parsed {
  final: { ok: boolean; count: number; pass: number; fail: number; skip: number; plan: { start: number; end: number } };
  asserts: TapResult[];
  extra: string[];
  version?: number;
}

function parse(text: string): Promise<Parsed> {
  return new Promise((resolve) => {
    const asserts: TapResult[] = [];
    const extra: string[] = [];
    let version: number | undefined;
    const p = new Parser((final) => resolve({ final: final as unknown as Parsed['final'], asserts, extra, ...(version !== undefined ? { version } : {}) }));
    p.on('assert', (a: TapResult) => asserts.push(a));
    p.on('extra', (e: string) => extra.push(e));
    p.on('version', (v: number) => (version = v));
    p.end(text);
  });
}

const spec = loadSpecOrThrow('vmspec-v2');
const run = buildRun({ hostile: true });
const tap = renderTap(run, spec);

t.test('a TAP 14 parser reads back the counts', async (t) => {
  const { final, asserts, extra, version } = await parse(tap);
  t.equal(version, 14, 'TAP version 14');
  t.has(final.plan, { start: 1, end: run.results.length }, 'plan 1..N');
  t.equal(final.count, run.results.length, 'one test point per requirement: no injected test points');
  t.equal(final.fail, run.summary.fail + run.summary.error, 'fail and error are not ok');
  t.equal(final.skip, run.summary.skip + run.summary.manual, 'skip and manual are # SKIP');
  t.equal(final.pass, run.results.length - final.fail, 'everything else is ok (waived included)');
  t.same(extra, [], 'no stray output the parser could not place');
  t.notOk(final.ok, 'the stream fails overall');
  const ids = asserts.map((a) => a.id);
  t.same(ids, Array.from({ length: run.results.length }, (_, i) => i + 1), 'test points numbered in order');
});

t.test('diagnostics: message, observed, expected, ref', async (t) => {
  const { asserts } = await parse(tap);
  const failing = asserts.filter((a) => !a.ok);
  t.ok(failing.length >= 3);
  for (const a of failing) {
    const d = a.diag as Record<string, unknown>;
    t.type(d.message, 'string', `${a.name}: message`);
    t.ok(d.ref && typeof d.ref === 'object', 'ref');
    t.ok(['fail', 'error'].includes(String(d.severity)), 'severity');
  }
  const gpt = failing.find((a) => a.name.startsWith('V2-IMG-GPT '))!;
  const d = gpt.diag as { message: string; observed: Record<string, unknown>; expected: { expect: string[] }; ref: { label: string; section: string; page: number }; mismatches: unknown[]; observedTruncated?: string };
  t.match(d.message, HOSTILE.script, 'the hostile message survives as data');
  t.ok(d.expected.expect.includes('gpt.present = true'), 'expectations in words');
  t.same(d.ref, { spec: 'vmspec-v2', section: 'VM Image Format', label: 'IMG-2', page: 3 });
  t.ok(Array.isArray((d.observed as { manyItems: unknown[] }).manyItems), 'observed facts are there');
  t.ok((d.observed as { manyItems: unknown[] }).manyItems.length <= 31, 'and bounded');
  t.match(d.observedTruncated, /shortened/, 'saying so');
  t.ok(d.mismatches.length >= 1);
  const waived = asserts.find((a) => a.ok && /# waived:/.test(a.name));
  t.ok(waived, 'waived clauses are ok with a "# waived" comment');
  t.ok((waived!.diag as { waiver?: { justification: string } }).waiver?.justification, 'and their waiver in the diagnostics');
  const manual = asserts.find((a) => typeof a.skip === 'string' && a.skip.startsWith('manual:'));
  t.ok(manual, 'manual clauses are SKIP with the procedure');
});

t.test('hostile text cannot forge TAP lines', async (t) => {
  const stray = tap.split('\n').filter((line) => !(line === '' || /^(TAP version 14|1\.\.\d+|# .*|  .*|(ok|not ok) \d+ - .*)$/.test(line)));
  t.same(stray, [], 'every line is a version, plan, comment, test point or indented diagnostic');
  const points = tap.split('\n').filter((l) => /^(ok|not ok) \d+ /.test(l));
  t.equal(points.length, run.results.length, 'exactly one test point per requirement');
  t.notMatch(tap, /^not ok 99/m, 'the injected test point is not a test point');
  t.equal(tapDescription('a # SKIP b \\ c\nnot ok 5'), 'a \\# SKIP b \\\\ c not ok 5');
  // eslint-disable-next-line no-control-regex
  t.notMatch(tap, /[\u0000-\u0008\u000b-\u001f]/, 'no raw control characters');
});

t.test('an all-pass run is ok', async (t) => {
  const ok = buildRun({});
  for (const r of ok.results) if (r.status !== 'manual') r.status = 'pass';
  const { final } = await parse(renderTap(ok, spec));
  t.ok(final.ok);
  t.equal(final.fail, 0);
});
