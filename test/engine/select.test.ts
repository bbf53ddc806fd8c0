import t from 'tap';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { select, SelectionError } from '../../engine/select.js';
import type { Selection } from '../../engine/results.js';

const spec = loadSpecOrThrow('vmspec-v2');
const none: Selection = { profile: null, only: [], section: [], level: [], target: [], tags: [] };
const ids = (s: Partial<Selection>) => select(spec.requirements, { ...none, ...s }).map((r) => r.id);

t.test('no selection keeps every requirement in spec order', async (t) => {
  t.same(ids({}), spec.requirements.map((r) => r.id));
});

t.test('--only takes ids and globs, case-insensitively', async (t) => {
  t.same(ids({ only: ['V2-IMG-GPT'] }), ['V2-IMG-GPT']);
  const imgGpt = ids({ only: ['v2-img-gpt*'] });
  t.ok(imgGpt.length >= 4 && imgGpt.every((i) => i.startsWith('V2-IMG-GPT')));
  t.throws(() => ids({ only: ['V2-NOPE'] }), SelectionError);
});

t.test('--section, --level, --target, --tags narrow together', async (t) => {
  const fmt = ids({ section: ['image format'] });
  t.ok(fmt.length > 5 && fmt.every((i) => i.startsWith('V2-IMG-')));
  const must = select(spec.requirements, { ...none, level: ['MUST'] });
  t.ok(must.every((r) => r.level === 'MUST'));
  const mandatory = select(spec.requirements, { ...none, level: ['mandatory'] });
  t.ok(mandatory.every((r) => r.mandatory) && mandatory.length >= must.length);
  const both = select(spec.requirements, { ...none, target: ['image'], level: ['should not'] });
  t.ok(both.length >= 1 && both.every((r) => r.target === 'image' && r.level === 'SHOULD NOT'));
  t.ok(ids({ tags: ['gpt'] }).includes('V2-IMG-GPT'));
  t.throws(() => ids({ level: ['MAYBE'] }), /not a level/);
  t.throws(() => ids({ target: ['cloud'] }), /not a target/);
  t.throws(() => ids({ tags: ['nonexistent-tag'] }), /no requirement has this tag/);
  t.throws(() => ids({ section: ['Appendix Z'] }), /no section matches/);
});

t.test('profiles are named selections', async (t) => {
  const image = select(spec.requirements, { ...none, profile: 'image' });
  t.ok(image.length > 0 && image.every((r) => r.target === 'image' || r.target === 'guest'), 'the whole image: its own clauses and its OS');
  t.ok(image.some((r) => r.target === 'guest'));
  const hyp = select(spec.requirements, { ...none, profile: 'hypervisor' });
  t.ok(hyp.every((r) => r.target === 'hypervisor' || r.target === 'firmware'));
  t.equal(select(spec.requirements, { ...none, profile: 'all' }).length, spec.requirements.length);
  t.throws(() => select(spec.requirements, { ...none, profile: 'nope' }), /unknown profile "nope"; known profiles: all, guest, hypervisor, image/);
});
