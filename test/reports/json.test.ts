import t from 'tap';
import { render, REPORT_FORMATS } from '../../reports/render.js';
import { explainErrors, validator } from '../../requirements/schemas.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { applyWaivers, parseWaivers } from '../../engine/waivers.js';
import { buildRun } from '../fixtures/results-builder.js';

const validate = validator('results');
const problems = (v: unknown) => (validate(v) ? [] : explainErrors(validate.errors).map((p) => p.message));

t.test('json: the results unchanged, plus waiver data, valid against the schema (ajv)', async (t) => {
  const run = buildRun({ hostile: true });
  const out = render(run, 'json');
  const back = JSON.parse(out) as unknown;
  t.same(back, JSON.parse(JSON.stringify(run)), 'nothing added, removed or truncated');
  t.same(problems(back), []);
  t.ok(out.includes('\\ud800'), 'lone surrogates survive as JSON escapes (the JSON is the complete record)');

  const plain = buildRun({ statuses: { 'V2-IMG-GPT': 'fail' } });
  const waived = applyWaivers(plain, parseWaivers('waivers:\n  - { id: V2-IMG-GPT, justification: j, owner: o, expires: 2999-12-31 }\n  - { id: NOPE, justification: j, owner: o, expires: 2999-12-31 }\n', 'w.yaml'), new Date());
  const json = JSON.parse(render(waived, 'json')) as typeof waived;
  t.same(problems(json), [], 'waiver and warnings are part of the schema');
  t.equal(json.results.find((r) => r.id === 'V2-IMG-GPT')!.waiver?.justification, 'j');
  t.equal(json.warnings?.length, 1);
});

t.test('the schema refuses a malformed waiver record (extended, not loosened)', async (t) => {
  const run = JSON.parse(JSON.stringify(buildRun({}))) as { results: Record<string, unknown>[]; warnings?: unknown };
  run.results[0]!.waiver = { id: 'x' };
  t.match(problems(run).join('\n'), /missing required field "justification"/);
  delete run.results[0]!.waiver;
  run.warnings = [1];
  t.match(problems(run).join('\n'), /warnings\.0: must be string/);
});

t.test('every format renders from the same results, with or without the spec', async (t) => {
  const spec = loadSpecOrThrow('vmspec-v2');
  const run = buildRun({ hostile: true });
  for (const f of REPORT_FORMATS) {
    t.ok(render(run, f, spec).length > 1000, `${f} with the spec`);
    t.ok(render(run, f).length > 1000, `${f} without it`);
  }
});
