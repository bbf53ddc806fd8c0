import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadSpec, resolveSpecDir } from '../requirements/spec-load.js';
import { SPEC_SNAPSHOT_DIR, snapshotOf, snapshotPath } from '../requirements/spec-snapshot.js';

/**
 * Build step (`npm run build`): snapshot the built-in specs (requirements/spec-snapshot.ts).
 * A spec with problems gets no snapshot: runs then load (and report) it in full.
 */
rmSync(SPEC_SNAPSHOT_DIR, { recursive: true, force: true }); // no snapshot of an earlier build's format or spec is left
mkdirSync(SPEC_SNAPSHOT_DIR, { recursive: true });
for (const name of ['vmspec-v2', 'vmspec-v1']) {
  const dir = resolveSpecDir(name);
  const { spec, issues } = loadSpec(dir);
  if (!spec || issues.length) {
    process.stderr.write(`spec snapshot: ${name} has ${issues.length} problem(s); not snapshotted (run vmspec spec lint)\n`);
    continue;
  }
  const out = snapshotPath(dir);
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, snapshotOf(spec));
  renameSync(tmp, out);
}
