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
import { readSnapshot, snapshotOf, snapshotPath, yamlFiles } from '../../requirements/spec-snapshot.js';

for (const name of ['vmspec-v2', 'vmspec-v1']) {
  t.test(`${name}: the snapshot reads back as the full load`, async (t) => {
    const dir = resolveSpecDir(name);
    const full = loadSpec(dir);
    t.same(full.issues, []);
    const work = mkdtempSync(join(tmpdir(), 'vmspec-snap-'));
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    const file = join(work, `${name}.snapshot`);
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
  const file = join(work, 'snap.snapshot');
  writeFileSync(file, snapshotOf(loadSpec(dir).spec!));
  t.ok(readSnapshot(dir, file, root), 'used while the YAML is unchanged');
  t.notOk(readSnapshot(dir, file), 'never for a directory outside the built-in spec root');
  const before = yamlFiles(dir);
  appendFileSync(join(dir, '02-vm-image-format.yaml'), '\n# edited\n');
  t.notOk(Buffer.from(yamlFiles(dir)['02-vm-image-format.yaml']!).equals(before['02-vm-image-format.yaml']!), 'the edit is read');
  t.equal(readSnapshot(dir, file, root), undefined, 'an edited spec file makes the snapshot stale');
  writeFileSync(join(dir, '02-vm-image-format.yaml'), before['02-vm-image-format.yaml']!);
  t.ok(readSnapshot(dir, file, root), 'used again once the file reads as before');
  writeFileSync(join(dir, 'zz-extra.yaml'), '# a new file\n');
  t.equal(readSnapshot(dir, file, root), undefined, 'a new *.yaml file in the directory makes it stale');
  rmSync(join(dir, 'zz-extra.yaml'));
  rmSync(join(dir, '02-vm-image-format.yaml'));
  t.equal(readSnapshot(dir, file, root), undefined, 'a removed file makes it stale');
  writeFileSync(join(dir, '02-vm-image-format.yaml'), before['02-vm-image-format.yaml']!);
  writeFileSync(file, '{not json');
  t.equal(readSnapshot(dir, file, root), undefined, 'a damaged snapshot is ignored');
  const whole = snapshotOf(loadSpec(dir).spec!);
  writeFileSync(file, whole.subarray(0, whole.length - 1));
  t.equal(readSnapshot(dir, file, root), undefined, 'a snapshot cut short in its source bytes is ignored');
  const flipped = Buffer.from(whole);
  flipped[flipped.length - 2]! ^= 0x20;
  writeFileSync(file, flipped);
  t.equal(readSnapshot(dir, file, root), undefined, 'a snapshot whose recorded bytes differ from the files is not used');
  writeFileSync(file, whole);
  t.ok(readSnapshot(dir, file, root), 'the intact snapshot is');
});

t.test('a snapshot of a spec that takes checks from another goes stale when that spec changes', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'vmspec-snap-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const root = join(work, 'spec');
  for (const name of ['vmspec-v1', 'vmspec-v2']) cpSync(resolveSpecDir(name), join(root, name), { recursive: true });
  const v1 = join(root, 'vmspec-v1');
  const file = join(work, 'v1.snapshot');
  writeFileSync(file, snapshotOf(loadSpec(v1).spec!));
  t.ok(readSnapshot(v1, file, root), 'used while both specs are unchanged');
  appendFileSync(join(root, 'vmspec-v2', 'spec.yaml'), '\n# edited\n');
  t.equal(readSnapshot(v1, file, root), undefined, 'an edit to vmspec-v2 makes vmspec-v1\'s snapshot stale');
});
