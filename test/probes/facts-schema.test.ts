/**
 * probes/facts-schema.ts: the one way to write facts schemas. The builders
 * make the JSON Schemas spec lint walks, and defineProbe ties a probe's
 * `run` to its schema's type. The drift cases below are compile errors:
 * `npm run typecheck` fails if any of them stops being one.
 */
import t from 'tap';
import { Ajv } from 'ajv';
import { arr, bool, dict, enumOf, type Exactly, type FactsOf, int, intEnum, narr, NO_PARAMS, nobj, nstr, obj, sparseObj, str, strEnum } from '../../probes/facts-schema.js';
import { defineProbe, Memo } from '../../probes/types.js';
import { schemaAt } from '../../requirements/lint.js';

const facts = obj({
  name: str('a name'),
  size: int({ minimum: 0 }),
  kind: enumOf(['a', 'b', null]),
  tags: arr(str()),
  extra: narr(str()),
  by: dict(obj({ on: bool() })),
  inner: nobj({ x: nstr() }),
  sparse: sparseObj({ v: intEnum([2, 3]), w: strEnum(['p']) }),
});

t.test('builders write closed objects whose every property is required, and lint walks them', async (t) => {
  t.same(facts.required, ['name', 'size', 'kind', 'tags', 'extra', 'by', 'inner', 'sparse']);
  t.equal(facts.additionalProperties, false);
  t.same(obj({ a: str() }, 'why'), { type: 'object', additionalProperties: false, required: ['a'], properties: { a: { type: 'string' } }, description: 'why' });
  t.same(int({ minimum: 0, description: 'bytes' }), { type: 'integer', minimum: 0, description: 'bytes' });
  t.same(NO_PARAMS, { type: 'object', additionalProperties: false, properties: {} }, 'the one empty params schema');
  t.notOk('required' in sparseObj({ a: str() }), 'a sparse object requires nothing');
  for (const path of ['name', 'by.anything.on', 'inner.x', 'tags.0', 'sparse.v']) t.ok(schemaAt(facts, path), `lint finds ${path}`);
  t.notOk(schemaAt(facts, 'inner.y'));

  const validate = new Ajv({ strict: false }).compile(facts);
  const good: FactsOf<typeof facts> = { name: 'n', size: 1, kind: null, tags: [], extra: null, by: { k: { on: true } }, inner: null, sparse: { v: 3 } };
  t.ok(validate(good), 'a value of the facts type is valid');
  t.notOk(validate({ ...good, surprise: 1 }), 'a property the schema does not list is not');
  t.notOk(validate({ ...good, sparse: { v: 4 } }), 'an integer outside the enum is not');
});

t.test('the facts type follows the schema', async (t) => {
  const same: Exactly<FactsOf<typeof facts>, {
    name: string; size: number; kind: 'a' | 'b' | null; tags: string[]; extra: string[] | null;
    by: { [key: string]: { on: boolean } }; inner: { x: string | null } | null; sparse: { v?: 2 | 3; w?: 'p' };
  }> = true;
  t.ok(same);
});

t.test('defineProbe refuses a run that drifts from the schema (compile errors, kept by @ts-expect-error)', async (t) => {
  const small = obj({ a: int(), b: str() });
  const base = { summary: 'test', input: 'image', params: NO_PARAMS } as const;
  const ok = defineProbe({ ...base, name: 'test.ok', facts: small, run: () => ({ a: 1, b: 'x' }) });
  // @ts-expect-error: a property of the schema is missing from what run returns
  defineProbe({ ...base, name: 'test.missing', facts: small, run: () => ({ a: 1 }) });
  // @ts-expect-error: a property has another type than the schema's
  defineProbe({ ...base, name: 'test.type', facts: small, run: () => ({ a: 1, b: true }) });
  // @ts-expect-error: a null the schema does not allow
  defineProbe({ ...base, name: 'test.null', facts: small, run: () => ({ a: null, b: 'x' }) });
  // @ts-expect-error: a hand-written schema has no facts type
  defineProbe({ ...base, name: 'test.plain', facts: { type: 'object' }, run: () => ({}) });
  t.same(await ok.run({ memo: new Memo() }, {}), { a: 1, b: 'x' });
});
