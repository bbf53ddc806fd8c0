import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderText } from '../../reports/text.js';
import { explainErrors, validator } from '../../requirements/schemas.js';
import { SelectionError } from '../../engine/select.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { applyWaivers, idsNotToRun, isExpired, loadWaivers, NOT_RUN_MESSAGE, notRunResult, parseWaivers, runHypervisor, WaiverError, type RunWithWaivers, type Waiver } from '../../engine/waivers.js';
import { buildRun } from '../fixtures/results-builder.js';

const NOW = new Date('2025-06-15T12:00:00Z');

/** A run where V2-IMG-GPT and V2-IMG-ESP-TYPE fail (mandatory), V2-IMG-GPT-BACKUP passes, V2-IMG-GPT-LAYOUT errors. */
function run(): RunWithWaivers {
  const r = buildRun({
    statuses: { 'V2-IMG-GPT': 'fail', 'V2-IMG-ESP-TYPE': 'fail', 'V2-IMG-GPT-BACKUP': 'pass', 'V2-IMG-GPT-LAYOUT': 'error', 'V2-IMG-GPT-PMBR': 'pass', 'V2-IMG-ESP-BOOT-FILE': 'pass', 'V2-IMG-BOOTAA64-UEFI-APP': 'pass', 'V2-IMG-BOOTARM-PATH': 'pass', 'V2-IMG-ESP-FAT32': 'pass', 'V2-IMG-BOOTAA64-PATH': 'pass', 'V2-IMG-BOOTARM-UEFI-APP': 'pass', 'V2-IMG-CONTAINER': 'pass' },
    target: { path: '/srv/images/debian-12-genericcloud-arm64.qcow2', sha256: 'cd'.repeat(32) },
  });
  r.results = r.results.filter((x) => x.id.startsWith('V2-IMG-'));
  r.results.forEach((x) => {
    if (x.waiver) delete x.waiver;
  });
  return r;
}

function waivers(yaml: string): Waiver[] {
  return parseWaivers(yaml, 'waivers.yaml');
}

const valid = (r: RunWithWaivers) => {
  const v = validator('results');
  const ok = v(JSON.parse(JSON.stringify(r)));
  return ok ? [] : explainErrors(v.errors).map((p) => p.message);
};

t.test('parse: fields, defaults and where each waiver was written', async (t) => {
  const w = waivers(`# accepted deviations
waivers:
  - id: V2-IMG-GPT
    justification: >
      The image is built by a tool that writes an MBR; GPT migration is planned.
    owner: images-team
    expires: 2025-12-31
    ticket: IMG-42
  - id: "V2-IMG-ESP-*"
    justification: ESP is FAT16 on this small test image
    owner: qa
    expires: "2025-07-01"
    target: "*-genericcloud-*.qcow2"
`);
  t.equal(w.length, 2);
  t.same(w[0], {
    id: 'V2-IMG-GPT',
    justification: 'The image is built by a tool that writes an MBR; GPT migration is planned.',
    owner: 'images-team',
    expires: '2025-12-31',
    ticket: 'IMG-42',
    runs: true,
    source: { file: 'waivers.yaml', line: 3, column: 5 },
  });
  t.equal(w[1]!.target, '*-genericcloud-*.qcow2');
  t.equal(w[1]!.source.line, 9);
});

t.test('bad files fail fast with file:line:column', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['syntax', 'waivers:\n  - id: V2-IMG-GPT\n    justification: "unterminated\n    owner: x\n', /waivers\.yaml:\d+:\d+: /],
    ['missing justification', 'waivers:\n  - id: V2-IMG-GPT\n    owner: x\n    expires: 2025-12-31\n', /waivers\.yaml:2:5: waivers\.0: missing required field "justification"/],
    ['blank justification', 'waivers:\n  - id: V2-IMG-GPT\n    justification: "   "\n    owner: x\n    expires: 2025-12-31\n', /waivers\.yaml:3:20: waivers\.0\.justification: must not be blank/],
    ['runs not a boolean', 'waivers:\n  - id: V2-IMG-GPT\n    justification: why\n    owner: x\n    runs: "no"\n', /waivers\.yaml:5:11: waivers\.0\.runs: must be boolean/],
    ['blank hypervisor', 'waivers:\n  - id: V2-IMG-GPT\n    justification: why\n    owner: x\n    hypervisor: ""\n', /waivers\.yaml:5:\d+: waivers\.0\.hypervisor: /],
    ['impossible date', 'waivers:\n  - id: V2-IMG-GPT\n    justification: why\n    owner: x\n    expires: 2025-02-30\n', /waivers\.yaml:5:14: waivers\.0\.expires: must match format "date"/],
    ['unknown field', 'waivers:\n  - id: V2-IMG-GPT\n    justification: why\n    owner: x\n    expires: 2025-12-31\n    expiry: 2026-01-01\n', /waivers\.yaml:6:\d+: .*unknown field "expiry"/],
    ['bad id', 'waivers:\n  - id: "V2 IMG; rm -rf"\n    justification: why\n    owner: x\n    expires: 2025-12-31\n', /waivers\.yaml:2:9: waivers\.0\.id: /],
    ['not a list', 'waivers: V2-IMG-GPT\n', /waivers\.yaml:1:10: waivers: must be array/],
    ['empty', '', /waivers\.yaml:1:1: the file is empty/],
    ['tag', 'waivers: !!js/function "x"\n', /waivers\.yaml:\d+:\d+: /],
  ];
  for (const [name, yaml, re] of cases) {
    let caught: unknown;
    try {
      waivers(yaml);
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof WaiverError && caught instanceof SelectionError, `${name}: a WaiverError, a usage error (exit 2)`);
    t.match((caught as Error | undefined)?.message, re, `${name}: ${(caught as Error | undefined)?.message}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-waivers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => loadWaivers(join(dir, 'missing.yaml')), /cannot read/);
  writeFileSync(join(dir, 'w.yaml'), 'waivers:\n  - id: X\n    owner: y\n    expires: 2025-01-01\n');
  t.throws(() => loadWaivers(join(dir, 'w.yaml')), /w\.yaml:2:5: waivers\.0: missing required field "justification"/);
});

t.test('an unexpired waiver turns fail into waived (never pass) and the run no longer fails', async (t) => {
  const before = run();
  t.equal(before.exitCode, 1);
  const w = waivers(`waivers:
  - { id: V2-IMG-GPT, justification: planned migration, owner: a, expires: 2025-12-31, ticket: T-1 }
  - { id: V2-IMG-ESP-*, justification: small test image, owner: b, expires: 2025-06-15 }
`);
  const after = applyWaivers(before, w, NOW);
  const gpt = after.results.find((r) => r.id === 'V2-IMG-GPT')!;
  t.equal(gpt.status, 'waived');
  t.same(gpt.waiver, { id: 'V2-IMG-GPT', justification: 'planned migration', owner: 'a', expires: '2025-12-31', ticket: 'T-1', source: 'waivers.yaml:2' });
  t.equal(gpt.message, before.results.find((r) => r.id === 'V2-IMG-GPT')!.message, 'the failure message is kept');
  t.equal(after.results.find((r) => r.id === 'V2-IMG-ESP-TYPE')!.status, 'waived', 'a glob covers ids; the expiry day itself still counts');
  t.equal(after.results.find((r) => r.id === 'V2-IMG-GPT-BACKUP')!.status, 'pass', 'a pass stays pass');
  t.equal(after.results.find((r) => r.id === 'V2-IMG-GPT-LAYOUT')!.status, 'error', 'an error is not waivable');
  t.equal(after.summary.waived, 2);
  t.equal(after.summary.fail, 0);
  t.equal(after.exitCode, 3, 'waived does not fail the run (the probe error still gives 3)');
  t.equal(before.results.find((r) => r.id === 'V2-IMG-GPT')!.status, 'fail', 'the input run is not modified');
  t.same(valid(after), [], 'the waived run is valid results JSON (waiver and warnings in the schema)');

  const noError = run();
  noError.results = noError.results.filter((r) => r.status !== 'error');
  t.equal(applyWaivers(noError, w, NOW).exitCode, 0, 'all failures waived: exit 0');
  const text = renderText(after, { colour: false });
  t.match(text, /WAIVED.*V2-IMG-GPT/);
  t.match(text, /waived: planned migration \(a, until 2025-12-31\)/, 'the text report shows the justification');
});

t.test('expired waivers are not applied and are listed; so are waivers that match nothing', async (t) => {
  const w = waivers(`waivers:
  - { id: V2-IMG-GPT, justification: old, owner: a, expires: 2025-06-14 }
  - { id: V2-PLAT-*, justification: not in this run, owner: b, expires: 2026-01-01 }
  - { id: V2-IMG-GPT-BACKUP, justification: stale, owner: c, expires: 2026-01-01 }
`);
  const after = applyWaivers(run(), w, NOW);
  t.equal(after.results.find((r) => r.id === 'V2-IMG-GPT')!.status, 'fail', 'expired: not applied');
  t.equal(after.exitCode, 1);
  t.equal(after.warnings?.length, 3);
  t.match(after.warnings![0], /waiver "V2-IMG-GPT" \(waivers\.yaml:2, owner a\) expired on 2025-06-14 and was not applied; still failing: V2-IMG-GPT/);
  t.match(after.warnings![1], /waiver "V2-PLAT-\*" \(waivers\.yaml:3, owner b\) matches no clause in this run/);
  t.match(after.warnings![2], /waiver "V2-IMG-GPT-BACKUP" .* was not needed: no clause it covers failed \(V2-IMG-GPT-BACKUP: pass\)/);
  t.same(valid(after), []);
});

t.test('expiry is the end of the given day, UTC', async (t) => {
  const w = { expires: '2025-06-30' };
  t.notOk(isExpired(w, new Date('2025-06-30T23:59:59.999Z')));
  t.ok(isExpired(w, new Date('2025-07-01T00:00:00.000Z')));
});

t.test('target scope: sha256 or a glob over the path or file name', async (t) => {
  const scoped = (target: string) => applyWaivers(run(), waivers(`waivers:\n  - { id: V2-IMG-GPT, justification: j, owner: o, expires: 2026-01-01, target: "${target}" }\n`), NOW);
  const status = (r: RunWithWaivers) => r.results.find((x) => x.id === 'V2-IMG-GPT')!.status;
  t.equal(status(scoped('cd'.repeat(32))), 'waived', 'matching sha256');
  t.equal(status(scoped('CD'.repeat(32))), 'waived', 'sha256 is case-insensitive');
  t.equal(status(scoped('ef'.repeat(32))), 'fail', 'other sha256');
  t.equal(status(scoped('debian-12-*')), 'waived', 'glob over the file name');
  t.equal(status(scoped('/srv/images/*')), 'waived', 'glob over the path');
  const other = scoped('ubuntu-*');
  t.equal(status(other), 'fail', 'glob that does not match');
  t.match(other.warnings![0], /matches no clause in this run for target "ubuntu-\*"/);
  const none = run();
  none.target = { kind: 'none', path: null, format: null, size: null, sha256: null };
  t.equal(applyWaivers(none, waivers('waivers:\n  - { id: V2-IMG-GPT, justification: j, owner: o, expires: 2026-01-01, target: "x.img" }\n'), NOW).results.find((x) => x.id === 'V2-IMG-GPT')!.status, 'fail', 'a scoped waiver does not apply without a target');
});

t.test('an empty waivers list changes nothing', async (t) => {
  const r = run();
  const after = applyWaivers(r, waivers('waivers: []\n'), NOW);
  t.same(after.results, r.results);
  t.equal(after.warnings, undefined);
});

t.test('expires is optional: a waiver without expiry applies until removed and says "no expiry"', async (t) => {
  const w = waivers(`waivers:
  - { id: V2-IMG-GPT, justification: permanent deviation, owner: a }
  - { id: V2-IMG-ESP-TYPE, justification: old, owner: b, expires: 2025-06-14 }
`);
  t.equal(w[0]!.expires, undefined, 'no expires field');
  t.notOk(isExpired(w[0]!, new Date('9999-12-31T23:59:59Z')), 'never expires');
  const after = applyWaivers(run(), w, NOW);
  const gpt = after.results.find((r) => r.id === 'V2-IMG-GPT')!;
  t.equal(gpt.status, 'waived', 'no expiry: applied');
  t.equal(gpt.waiver?.expires, 'no expiry', 'recorded as "no expiry"');
  t.equal(after.results.find((r) => r.id === 'V2-IMG-ESP-TYPE')!.status, 'fail', 'expired: not applied');
  t.equal(after.warnings?.length, 1, 'only the expired one is listed');
  t.match(after.warnings![0], /waiver "V2-IMG-ESP-TYPE" .* expired on 2025-06-14 and was not applied; still failing: V2-IMG-ESP-TYPE/);
  t.same(valid(after), [], 'valid results JSON');
  t.match(renderText(after, { colour: false }), /waived: permanent deviation \(a, no expiry\)/, 'the report says "no expiry"');
  const { renderMarkdown } = await import('../../reports/markdown.js');
  const { renderJunit } = await import('../../reports/junit.js');
  const { renderHtml } = await import('../../reports/html.js');
  t.match(renderMarkdown(after), /\*\*Waived\*\* by V2-IMG-GPT .*owner a, no expiry/);
  t.match(renderJunit(after), /waived: permanent deviation \(owner a, no expiry\)/);
  t.match(renderHtml(after), /Owner: a · no expiry/);
});

t.test('hypervisor scope: matched against environment.hypervisor or target.hypervisor; without it, not applied and warned', async (t) => {
  const w = waivers(`waivers:
  - { id: V2-IMG-GPT, justification: TCG lacks this, owner: a, hypervisor: "qemu-tcg*" }
  - { id: V2-IMG-ESP-TYPE, justification: j, owner: b }
`);
  const status = (r: RunWithWaivers, id = 'V2-IMG-GPT') => r.results.find((x) => x.id === id)!.status;

  const without = applyWaivers(run(), w, NOW);
  t.equal(runHypervisor(run()), null, 'this run records no hypervisor');
  t.equal(status(without), 'fail', 'no hypervisor information: a hypervisor-scoped waiver does not apply');
  t.equal(status(without, 'V2-IMG-ESP-TYPE'), 'waived', 'unscoped waivers still apply');
  t.equal(without.warnings?.length, 1);
  t.match(without.warnings![0], /waiver "V2-IMG-GPT" \(waivers\.yaml:2, owner a\) is scoped to hypervisor "qemu-tcg\*" but this run records no hypervisor \(no environment\.hypervisor or target\.hypervisor in the results\), so it was not applied to V2-IMG-GPT/);
  t.same(valid(without), []);

  const env = run() as RunWithWaivers & { environment?: unknown };
  env.environment = { hypervisor: 'QEMU-TCG 8.2', qemu: '8.2.0' };
  const withEnv = applyWaivers(env, w, NOW);
  t.equal(status(withEnv), 'waived', 'environment.hypervisor matches the glob (case-insensitive)');
  t.equal(withEnv.results.find((x) => x.id === 'V2-IMG-GPT')!.waiver?.hypervisor, 'qemu-tcg*', 'the scope is recorded');
  t.equal(withEnv.warnings, undefined);
  t.same(valid(withEnv), []);

  const tgt = run();
  (tgt.target as unknown as Record<string, unknown>).hypervisor = 'kvm';
  t.equal(runHypervisor(tgt), 'kvm', 'target.hypervisor is read too');
  const other = applyWaivers(tgt, w, NOW);
  t.equal(status(other), 'fail', 'another hypervisor: not applied');
  t.match(other.warnings![0], /waiver "V2-IMG-GPT" .* matches no clause in this run for hypervisor "qemu-tcg\*" \(run: "kvm"\)/);
});

t.test('runs: false: the clause is not evaluated and is waived even when it would pass', async (t) => {
  const w = waivers(`waivers:
  - { id: V2-IMG-GPT-BACKUP, justification: backup header check hangs on this firmware, owner: a, runs: false }
  - { id: V2-IMG-GPT, justification: planned, owner: b, runs: true }
  - { id: "V2-IMG-ESP-*", justification: expired, owner: c, expires: 2025-01-01, runs: false }
  - { id: V2-IMG-CONTAINER, justification: kvm only, owner: d, runs: false, hypervisor: kvm }
  - { id: V2-IMG-GPT-PMBR, justification: other image, owner: e, runs: false, target: "ubuntu-*" }
`);
  t.equal(w[0]!.runs, false);
  t.equal(w[1]!.runs, true);
  const r = run();
  const ids = r.results.map((x) => x.id);
  const scope = { target: r.target, hypervisor: null };
  t.same(idsNotToRun(ids, w, scope, NOW), ['V2-IMG-GPT-BACKUP'], 'only unexpired, in-scope runs:false waivers keep clauses from running');
  t.same(idsNotToRun(ids, w, { target: r.target, hypervisor: 'KVM' }, NOW), ['V2-IMG-CONTAINER', 'V2-IMG-GPT-BACKUP'].sort((a, b) => ids.indexOf(a) - ids.indexOf(b)), 'hypervisor-scoped when the hypervisor is known');
  t.same(idsNotToRun(ids, undefined, scope, NOW), [], 'no waivers: everything runs');
  t.same(idsNotToRun(ids, w, scope, new Date('2025-01-01T10:00:00Z')).sort(), ['V2-IMG-ESP-BOOT-FILE', 'V2-IMG-ESP-FAT32', 'V2-IMG-ESP-TYPE', 'V2-IMG-GPT-BACKUP'], 'before expiry, the glob covers its ids');

  // What the runner does: leave the ids out of evaluation and put a placeholder in their place.
  const spec = loadSpecOrThrow('vmspec-v2');
  const req = spec.requirements.find((x) => x.id === 'V2-IMG-GPT-BACKUP')!;
  const placeholder = notRunResult(req);
  t.equal(placeholder.status, 'skip');
  t.equal(placeholder.message, NOT_RUN_MESSAGE);
  t.equal(placeholder.observed, null, 'nothing observed: not evaluated');
  r.results = r.results.map((x) => (x.id === req.id ? placeholder : x));
  const after = applyWaivers(r, w, NOW);
  const backup = after.results.find((x) => x.id === 'V2-IMG-GPT-BACKUP')!;
  t.equal(backup.status, 'waived', 'reported waived');
  t.equal(backup.message, NOT_RUN_MESSAGE, 'saying it was not evaluated');
  t.same(backup.waiver, { id: 'V2-IMG-GPT-BACKUP', justification: 'backup header check hangs on this firmware', owner: 'a', expires: 'no expiry', runs: false, source: 'waivers.yaml:2' });
  t.equal(after.results.find((x) => x.id === 'V2-IMG-GPT')!.status, 'waived', 'runs: true converts a fail');
  t.notOk(after.results.find((x) => x.id === 'V2-IMG-GPT')!.waiver?.runs === false, 'and records no runs: false');
  t.equal(after.results.find((x) => x.id === 'V2-IMG-GPT-PMBR')!.status, 'pass', 'out-of-scope runs:false waiver: the clause ran and keeps its verdict');
  t.equal(after.results.find((x) => x.id === 'V2-IMG-CONTAINER')!.status, 'pass', 'hypervisor-scoped, no hypervisor recorded: runs and keeps its verdict');
  t.equal(after.results.find((x) => x.id === 'V2-IMG-ESP-TYPE')!.status, 'fail', 'expired runs:false waiver: not applied');
  t.notOk(after.warnings?.some((x) => /V2-IMG-GPT-BACKUP.*not needed/.test(x)), 'a runs:false waiver is never "not needed"');
  t.same(valid(after), []);
  t.match(renderText(after, { colour: false }), /waived: backup header check hangs on this firmware \(a, no expiry, not run\)/);

  // Applied after the fact to a run that did evaluate the clause: still waived, pass included.
  const posthoc = applyWaivers(run(), w, NOW);
  t.equal(posthoc.results.find((x) => x.id === 'V2-IMG-GPT-BACKUP')!.status, 'waived', 'a pass under runs: false is waived');
  const byDefault = applyWaivers(run(), waivers('waivers:\n  - { id: V2-IMG-GPT-BACKUP, justification: j, owner: o }\n'), NOW);
  t.equal(byDefault.results.find((x) => x.id === 'V2-IMG-GPT-BACKUP')!.status, 'pass', 'while the default (runs: true) leaves a pass alone');
});
