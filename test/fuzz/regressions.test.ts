import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/cache.js';
import { checkCase, materialize, type Mutation, type Seed } from './harness.js';
import { TARGETS } from './targets/index.js';

/**
 * Replays every saved failing case in test/fixtures/regressions/: the JSON
 * the harness wrote when a property broke, plus a "bug" note and, where
 * the fixed behaviour is precise, "expect" ({ kind, message: regex }).
 * A case may carry its bytes as "hex", name a .bin file beside it
 * ("file"), or name a seed of its target plus mutations.
 */

interface Regression {
  target: string;
  bug: string;
  seed?: string;
  mutations?: Mutation[];
  fixup?: boolean;
  hex?: string;
  file?: string;
  expect?: { kind: string; message?: string };
}

const dir = join(repoRoot, 'test', 'fixtures', 'regressions');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
const seedCache = new Map<string, Seed[]>();

t.test('saved cases', async (t) => {
  t.comment(`${files.length} saved case(s) in test/fixtures/regressions/`);
  t.ok(Object.keys(TARGETS).length >= 10, 'every fuzz target can replay its cases');
});

for (const f of files) {
  t.test(f, async (t) => {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Regression;
    const make = TARGETS[r.target];
    if (!make) return t.fail(`${f}: unknown target "${r.target}" (known: ${Object.keys(TARGETS).join(', ')})`);
    t.ok(typeof r.bug === 'string' && r.bug.length > 0, `${f} says which bug it guards against`);
    const target = make();
    let bytes: Uint8Array;
    if (r.hex !== undefined) bytes = new Uint8Array(Buffer.from(r.hex, 'hex'));
    else if (r.file !== undefined) bytes = new Uint8Array(readFileSync(join(dir, r.file)));
    else {
      if (!seedCache.has(r.target)) seedCache.set(r.target, target.seeds());
      bytes = materialize(target, { seed: r.seed ?? '', mutations: r.mutations ?? [], fixup: r.fixup ?? false }, seedCache.get(r.target)!);
    }
    const o = checkCase(target, bytes);
    t.pass(`${r.target}: ${o.kind}${o.message ? ` (${o.message})` : ''} in ${o.ms.toFixed(1)} ms`);
    if (r.expect) {
      t.equal(o.kind, r.expect.kind, 'the fixed parser answers as expected');
      if (r.expect.message) t.match(o.message ?? '', new RegExp(r.expect.message), 'with the expected message');
    }
  });
}
