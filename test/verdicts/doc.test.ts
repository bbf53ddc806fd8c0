/** docs/verdicts.md is the rendering of the fault matrix data (regenerate: npx tsx scripts/verdicts-doc.ts). */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/cache.js';
import { FAULTS } from './faults.js';
import { renderVerdictsDoc } from './doc.js';

t.test('the committed doc equals the one generated from the data', async (t) => {
  const committed = readFileSync(join(repoRoot, 'docs', 'verdicts.md'), 'utf8');
  t.equal(committed, renderVerdictsDoc(), 'docs/verdicts.md is stale: run `npx tsx scripts/verdicts-doc.ts`');
});

t.test('every fault appears in the doc with its clauses', async (t) => {
  const doc = renderVerdictsDoc();
  for (const f of FAULTS) {
    t.ok(doc.includes(`\`${f.id}\``), `${f.id} listed`);
    for (const ids of Object.values(f.fails)) for (const id of ids) t.ok(doc.includes(`\`${id}\``), `${f.id}: ${id} shown`);
  }
  t.ok(FAULTS.filter((f) => !f.refused).length >= 25, 'at least 25 real faults fail clauses');
});
