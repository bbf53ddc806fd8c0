/**
 * The built-in spec snapshots `npm run build` writes: a run that reads one
 * must see exactly what the YAML loader gives, and a snapshot that no
 * longer matches its YAML files must never be used.
 */
import t from 'tap';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpec, resolveSpecDir } from '../../requirements/spec-load.js';
import { readSnapshot, snapshotOf, snapshotPath, specDirDigest } from '../../requirements/spec-snapshot.js';

for (const name of ['vmspec-v2', 'vmspec-v1']) {
  t.test(`${name}: the snapshot reads back as the full load`, async (t) => {
    const dir = resolveSpecDir(name);
    const full = loadSpec(dir);
    t.same(full.issues, []);
    const work = mkdtempSync(join(tmpdir(), 'vmspec-snap-'));
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    const file = join(work, `${name}.json`);
    writeFileSync(file, snapshotOf(full.spec!));
    t.same(readSnapshot(dir, file), full.spec, 'identical SpecSet: ids, order, sections, sources, expectations');
    if (existsSync(snapshotPath(dir))) t.same(readSnapshot(dir), full.spec, 'the snapshot the build wrote is current');
  });
}

t.test('a stale or foreign snapshot is never used', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'vmspec-snap-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const root = join(work, 'spec');
  const dir = join(root, 'vmspec-v2');
  cpSync(resolveSpecDir('vmspec-v2'), dir, { recursive: true });
  const file = join(work, 'snap.json');
  writeFileSync(file, snapshotOf(loadSpec(dir).spec!));
  t.ok(readSnapshot(dir, file, root), 'used while the YAML is unchanged');
  t.notOk(readSnapshot(dir, file), 'never for a directory outside the built-in spec root');
  const before = specDirDigest(dir);
  appendFileSync(join(dir, '02-vm-image-format.yaml'), '\n# edited\n');
  t.not(specDirDigest(dir), before, 'any byte changes the digest');
  t.equal(readSnapshot(dir, file, root), undefined, 'an edited spec file makes the snapshot stale');
  writeFileSync(file, '{not json');
  t.equal(readSnapshot(dir, file, root), undefined, 'a damaged snapshot is ignored');
});
