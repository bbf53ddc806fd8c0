/**
 * `sameCheckAs`: a v1 clause whose check is a v2 clause's names that clause
 * instead of copying it. The check is taken at load, so a v1 verdict is the
 * v2 verdict under v1's id; lint refuses references that do not resolve,
 * clauses that name a check and write one out, and copies that do not name.
 */
import t from 'tap';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintSpec } from '../../requirements/lint.js';
import { specRoot } from '../../package/paths.js';
import { loadSpec } from '../../requirements/spec-load.js';
import { readSnapshot, snapshotOf } from '../../requirements/spec-snapshot.js';
import type { RunResults } from '../../engine/results.js';
import { buildGptDisk } from '../fixtures/disk-builder.js';
import { vmspec } from '../cli/cli-runner.js';

const V1_IMG = '02-image-format.yaml';

/** Copies of both built-in specs side by side (v1's references find v2 beside it), with edits applied. */
function seeded(t: { teardown: (fn: () => void) => void }, edits: { spec: 'vmspec-v1' | 'vmspec-v2'; file: string; edit: (s: string) => string }[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'vmspec-same-check-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const name of ['vmspec-v1', 'vmspec-v2']) cpSync(join(specRoot, name), join(root, name), { recursive: true });
  for (const e of edits) {
    const path = join(root, e.spec, e.file);
    const before = readFileSync(path, 'utf8');
    const after = e.edit(before);
    if (after === before) throw new Error(`seed did not change ${e.file}`);
    writeFileSync(path, after);
  }
  return root;
}

const lineOf = (path: string, needle: string) => readFileSync(path, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;

t.test('the built-in v1 clauses that name a v2 clause have exactly its check', async (t) => {
  const v1 = loadSpec(join(specRoot, 'vmspec-v1'));
  const v2 = loadSpec(join(specRoot, 'vmspec-v2'));
  t.same([...v1.issues, ...v2.issues], []);
  const named = v1.spec!.requirements.filter((r) => r.sameCheckAs);
  t.ok(named.length >= 20, `${named.length} v1 clauses take a v2 check`);
  for (const r of named) {
    const source = v2.spec!.requirements.find((x) => x.id === r.sameCheckAs!.id)!;
    t.equal(r.sameCheckAs!.spec, 'vmspec-v2');
    t.same({ probe: r.probe, params: r.params, when: r.when, expect: r.expect }, { probe: source.probe, params: source.params, when: source.when, expect: source.expect }, `${r.id}: the check of ${source.id}`);
    t.not(r.text, source.text, `${r.id}: keeps its own text`);
  }
});

t.test('a v1 verdict is the v2 verdict of the clause it names (real image, built CLI)', async (t) => {
  const img = buildGptDisk([
    { type: '8300', sizeMiB: 4, name: 'data' },
    { type: 'EF00', sizeMiB: 8, name: 'EFI system' },
  ], { label: 'same-check' });
  const run = (spec: string) => JSON.parse(vmspec(['verify', img, '--spec', spec, '--format', 'json']).stdout) as RunResults;
  const v1 = run('vmspec-v1');
  const v2 = new Map(run('vmspec-v2').results.map((r) => [r.id, r]));
  const named = loadSpec(join(specRoot, 'vmspec-v1')).spec!.requirements.filter((r) => r.sameCheckAs);
  let judged = 0;
  for (const r of named) {
    const found = v1.results.find((x) => x.id === r.id);
    if (!found) {
      // The default selection follows the input (an image): both specs leave the same evidence-only checks out.
      t.notOk(v2.has(r.sameCheckAs!.id), `${r.id} and ${r.sameCheckAs!.id} are both left out of an image run`);
      continue;
    }
    const mine = found;
    const theirs = v2.get(r.sameCheckAs!.id)!;
    t.same({ status: mine.status, message: mine.message, probe: mine.probe, observed: mine.observed, expected: mine.expected }, { status: theirs.status, message: theirs.message, probe: theirs.probe, observed: theirs.observed, expected: theirs.expected }, `${r.id} = ${theirs.id}: ${mine.status}`);
    if (mine.status === 'pass' || mine.status === 'fail') judged++;
  }
  t.ok(judged >= 5, `${judged} of them judged on the image, not skipped`);
});

t.test('an edit of the named v2 clause is the v1 clause\'s check too (no drift)', async (t) => {
  const before = loadSpec(join(specRoot, 'vmspec-v1')).spec!;
  const root = seeded(t, [{ spec: 'vmspec-v2', file: '02-vm-image-format.yaml', edit: (s) => s.replace('      - fact: gpt.primary.entriesCrc.valid\n        equals: true\n', '      - fact: gpt.primary.entriesCrc.valid\n        equals: false\n') }]);
  const after = loadSpec(join(root, 'vmspec-v1'));
  t.same(after.issues, []);
  t.match(after.spec!.requirements.find((r) => r.id === 'V1-IMG-GPT')!.expect?.find((e) => e.fact === 'gpt.primary.entriesCrc.valid'), { equals: false });
  t.not(after.spec!.sha256, before.sha256, 'v1\'s sha256 covers the v2 files its checks come from');

  const v1 = join(root, 'vmspec-v1');
  const file = join(root, 'snap.json');
  writeFileSync(file, snapshotOf(after.spec!));
  t.ok(readSnapshot(v1, file, root), 'v1\'s snapshot is used while neither spec changed');
  appendFileSync(join(root, 'vmspec-v2', '02-vm-image-format.yaml'), '\n# edited\n');
  t.equal(readSnapshot(v1, file, root), undefined, 'an edit of v2 makes v1\'s snapshot stale');
});

t.test('lint: seeded mistakes in sameCheckAs are caught with file:line and a plain reason', async (t) => {
  const REF = '    sameCheckAs: { spec: vmspec-v2, id: V2-IMG-GPT }';
  const cases: { name: string; edit: (s: string) => string; needle: string; message: RegExp }[] = [
    { name: 'no such clause', edit: (s) => s.replace(REF, REF.replace('V2-IMG-GPT', 'V2-IMG-GTP')), needle: 'V2-IMG-GTP', message: /V1-IMG-GPT: sameCheckAs vmspec-v2 V2-IMG-GTP: vmspec-v2 has no clause V2-IMG-GTP/ },
    { name: 'no such spec', edit: (s) => s.replace(REF, REF.replace('vmspec-v2', 'vmspec-v9')), needle: 'vmspec-v9', message: /no spec directory "vmspec-v9"/ },
    { name: 'this spec', edit: (s) => s.replace(REF, '    sameCheckAs: { spec: vmspec-v1, id: V1-IMG-GPT-PMBR }'), needle: 'V1-IMG-GPT-PMBR }', message: /names this spec/ },
    { name: 'a manual clause', edit: (s) => s.replace(REF, REF.replace('V2-IMG-GPT', 'V2-ARCH-SBSA-SBBR')), needle: 'V2-ARCH-SBSA-SBBR', message: /V2-ARCH-SBSA-SBBR is a manual clause/ },
    { name: 'names a check and writes one out', edit: (s) => s.replace(REF, `${REF}\n    probe: image.partition-table`), needle: REF.trim(), message: /"sameCheckAs" takes probe, params, needs, when and expect from the clause it names; remove "probe"/ },
    { name: 'names a check and is manual', edit: (s) => s.replace(REF, `${REF}\n    manual: check the partition table by hand`), needle: REF.trim(), message: /remove "manual"/ },
    {
      name: 'copies a v2 check without naming it',
      edit: (s) => s.replace(REF, '    probe: image.partition-table\n    expect:\n      - fact: otherLabel\n        exists: false\n        because: the disk carries another partition label (otherLabel.name says which); the spec needs GPT\n      - fact: gpt.present\n        equals: true\n      - fact: gpt.primary.headerCrc.valid\n        equals: true\n      - fact: gpt.primary.entriesCrc.valid\n        equals: true'),
      needle: 'id: V1-IMG-GPT',
      message: /V1-IMG-GPT: writes out the check of vmspec-v2 V2-IMG-GPT .*sameCheckAs: \{ spec: vmspec-v2, id: V2-IMG-GPT \}/,
    },
  ];
  for (const c of cases) {
    const root = seeded(t, [{ spec: 'vmspec-v1', file: V1_IMG, edit: c.edit }]);
    const { issues } = lintSpec(join(root, 'vmspec-v1'));
    const hit = issues.find((i) => c.message.test(i.message));
    t.ok(hit, `${c.name}: reported (got: ${issues.map((i) => i.message).join(' | ')})`);
    if (!hit) continue;
    t.match(hit.file, /02-image-format\.yaml$/, `${c.name}: names the file`);
    const want = lineOf(join(root, 'vmspec-v1', V1_IMG), c.needle);
    t.ok(hit.line > 0 && hit.line <= want && want - hit.line < 20, `${c.name}: line ${hit.line} near ${want}`);
  }
});

t.test('a clause that names a clause which itself names one is refused (references are one step)', async (t) => {
  const root = seeded(t, [{ spec: 'vmspec-v2', file: '02-vm-image-format.yaml', edit: (s) => s.replace(/(  - id: V2-IMG-GPT\n[\s\S]*?)    probe: image\.partition-table\n    expect:\n      - fact: otherLabel\n        exists: false\n        because: [^\n]*\n      - fact: gpt\.present\n        equals: true\n      - fact: gpt\.primary\.headerCrc\.valid\n        equals: true\n      - fact: gpt\.primary\.entriesCrc\.valid\n        equals: true\n/, '$1    sameCheckAs: { spec: vmspec-v1, id: V1-IMG-GPT-PMBR }\n') }]);
  const { issues } = lintSpec(join(root, 'vmspec-v1'));
  t.ok(issues.some((i) => /V1-IMG-GPT: sameCheckAs vmspec-v2 V2-IMG-GPT: V2-IMG-GPT itself takes its check from vmspec-v1 V1-IMG-GPT-PMBR/.test(i.message)), issues.map((i) => i.message).join(' | '));
});
