import t from 'tap';
import { spawnSync } from 'node:child_process';
import { diffExitCode, diffRuns, renderDiff, stripVersionPrefix } from '../../reports/diff.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { verify } from '../../engine/verify.js';
import type { Selection } from '../../engine/results.js';
import { buildRun, HOSTILE } from '../fixtures/results-builder.js';

const spec = loadSpecOrThrow('vmspec-v2');

t.test('classification: regressions, fixes, other changes, new and removed clauses', async (t) => {
  const old = buildRun({ statuses: { 'V2-IMG-GPT': 'pass', 'V2-IMG-GPT-BACKUP': 'pass', 'V2-IMG-ESP-TYPE': 'fail', 'V2-IMG-GPT-LAYOUT': 'error', 'V2-IMG-GPT-PMBR': 'skip', 'V2-IMG-CONTAINER': 'pass' } });
  const now = buildRun({ statuses: { 'V2-IMG-GPT': 'fail', 'V2-IMG-GPT-BACKUP': 'error', 'V2-IMG-ESP-TYPE': 'pass', 'V2-IMG-GPT-LAYOUT': 'pass', 'V2-IMG-GPT-PMBR': 'pass', 'V2-IMG-CONTAINER': 'pass' }, startedAt: '2025-05-02T12:00:00.000Z' });
  old.results = old.results.filter((r) => r.id !== 'V2-IMG-ESP-FAT32');
  now.results = now.results.filter((r) => r.id !== 'V2-IMG-BOOTARM-PATH');
  const d = diffRuns(old, now);
  t.same(d.regressions.map((c) => `${c.id}:${c.from}>${c.to}`).sort(), ['V2-IMG-GPT-BACKUP:pass>error', 'V2-IMG-GPT:pass>fail']);
  t.same(d.fixes.map((c) => `${c.id}:${c.from}>${c.to}`).sort(), ['V2-IMG-ESP-TYPE:fail>pass', 'V2-IMG-GPT-LAYOUT:error>pass']);
  t.ok(d.changed.some((c) => c.id === 'V2-IMG-GPT-PMBR' && c.from === 'skip' && c.to === 'pass'), 'skip → pass is a change, not a fix');
  t.same(d.added.map((c) => c.id), ['V2-IMG-ESP-FAT32']);
  t.same(d.removed.map((c) => c.id), ['V2-IMG-BOOTARM-PATH']);
  t.equal(d.unchanged + d.regressions.length + d.fixes.length + d.changed.length + d.removed.length, old.results.length);
  t.equal(diffExitCode(d), 1, 'regressions: exit 1');
  t.same(d.spec, { idChanged: false, versionChanged: false, sha256Changed: false });

  const text = renderDiff(d, 'text');
  t.match(text, /Regressions \(2\):/);
  t.match(text, /V2-IMG-GPT\s+MUST\s+pass → fail/);
  t.match(text, /Fixes \(2\):/);
  t.match(text, /New clauses \(1\):/);
  t.match(text, /Removed clauses \(1\):/);
  t.match(text, /Summary: 2 regressions, 2 fixes, \d+ other changes?, 1 new clause, 1 removed clause, \d+ unchanged — exit 1 \(regressions\)/);
  const json = JSON.parse(renderDiff(d, 'json')) as { regressions: unknown[]; exitCode: number };
  t.equal(json.regressions.length, 2);
  t.equal(json.exitCode, 1);
  const mdOut = renderDiff(d, 'md');
  t.match(mdOut, /^## Regressions \(2\)/m);
  t.match(mdOut, /\| V2-IMG-GPT \| MUST \| \*\*PASS\*\* \| \*\*FAIL\*\* \|/);
});

t.test('no regressions: exit 0; spec changes are reported', async (t) => {
  const a = buildRun({ statuses: { 'V2-IMG-GPT': 'fail' } });
  const b = buildRun({ statuses: { 'V2-IMG-GPT': 'pass' } });
  b.spec = { ...b.spec, version: '2.1', sha256: 'f'.repeat(64) };
  const d = diffRuns(a, b);
  t.equal(diffExitCode(d), 0);
  t.same(d.spec, { idChanged: false, versionChanged: true, sha256Changed: true });
  const text = renderDiff(d, 'text');
  t.match(text, /spec version changed: 2\.0 → 2\.1/);
  t.match(text, /spec files changed: sha256 [0-9a-f]{12}… → f{12}…/);
  t.match(text, /exit 0$/m);
});

t.test('a v1 run compares with a v2 run by id without the version prefix', async (t) => {
  t.equal(stripVersionPrefix('V1-IMG-GPT'), 'IMG-GPT');
  const v1 = buildRun({ spec: 'vmspec-v1', statuses: { 'V1-IMG-GPT': 'pass' } });
  const v2 = buildRun({ spec: 'vmspec-v2', statuses: { 'V2-IMG-GPT': 'fail' } });
  const d = diffRuns(v1, v2);
  const gpt = d.regressions.find((c) => c.id === 'V2-IMG-GPT');
  t.ok(gpt, 'V1-IMG-GPT pass → V2-IMG-GPT fail is a regression');
  t.equal(gpt?.oldId, 'V1-IMG-GPT');
  t.ok(d.spec.idChanged && d.spec.versionChanged);
  t.match(renderDiff(d, 'text'), /spec changed: vmspec-v1 → vmspec-v2/);
});

t.test('hostile strings stay inert in text and markdown diffs', async (t) => {
  const a = buildRun({ statuses: { 'V2-IMG-GPT': 'pass' } });
  const b = buildRun({ statuses: { 'V2-IMG-GPT': 'fail' } });
  const r = b.results.find((x) => x.id === 'V2-IMG-GPT')!;
  r.title = `${HOSTILE.img}${HOSTILE.controls}`;
  r.message = `${HOSTILE.script}\u001b[2J`;
  const text = renderDiff(diffRuns(a, b), 'text');
  // eslint-disable-next-line no-control-regex
  t.notMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/, 'no raw control characters reach the terminal');
  const mdOut = renderDiff(diffRuns(a, b), 'md');
  t.notMatch(mdOut, /<script|<img/);
});

const hasTools = ['sgdisk', 'mkfs.vfat', 'mcopy'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

t.test('real results from the image suite: a GPT image, then an MBR image', { skip: hasTools ? false : 'needs sgdisk, mkfs.vfat, mcopy (scripts/install-system-packages.sh)' }, async (t) => {
  const { gptEspThird, mbrDisk } = await import('../fixtures/disk-builder.js');
  const selection: Selection = { profile: 'image', only: [], section: [], level: [], target: [], tags: [] };
  const good = await verify({ spec, selection, image: gptEspThird() });
  const bad = await verify({ spec, selection, image: mbrDisk([{ type: 'ef', sizeMiB: 8 }]) });
  const d = diffRuns(good, bad);
  t.ok(d.regressions.some((c) => c.id === 'V2-IMG-GPT' && c.from === 'pass' && c.to === 'fail'), 'GPT pass → fail is a regression');
  t.equal(diffExitCode(d), 1);
  const back = diffRuns(bad, good);
  t.ok(back.fixes.some((c) => c.id === 'V2-IMG-GPT'), 'and the other way round, a fix');
  t.equal(diffExitCode(back), 0, 'fixes alone exit 0');
  t.equal(diffExitCode(diffRuns(good, good)), 0, 'a run against itself: no change');
  t.equal(diffRuns(good, good).unchanged, good.results.length);
});
