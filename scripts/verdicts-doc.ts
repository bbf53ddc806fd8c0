/** Regenerate docs/verdicts.md from the fault matrix data: `npx tsx scripts/verdicts-doc.ts`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/fixtures/cache.js';
import { renderVerdictsDoc } from '../test/verdicts/doc.js';

const out = join(repoRoot, 'docs', 'verdicts.md');
writeFileSync(out, renderVerdictsDoc());
console.log(`wrote ${out}`);
