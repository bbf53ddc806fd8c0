/**
 * `report merge` columns of runs that differ only in firmware or machine
 * options say what differs, from results files the tool wrote itself
 * (vmspec verify --evidence on bundles from the real collector), and old
 * results files (no `undecided` anywhere) still merge and render.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeRuns } from '../../reports/merge.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';
import { buildRun } from '../fixtures/results-builder.js';
import { vmspec } from '../cli/cli-runner.js';

const spec = loadSpecOrThrow('vmspec-v2');
const dir = mkdtempSync(join(tmpdir(), 'vmspec-merge-labels-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A results file written by `vmspec verify --evidence` (the file name is the same for every bundle: "bundle"). */
function resultsOf(name: string, recipe: BundleRecipe): string {
  const out = join(dir, `${name}.json`);
  const r = vmspec(['verify', '--evidence', evidenceBundle(name, recipe).dir, '--format', 'json', '--output', out]);
  t.ok(r.status === 0 || r.status === 1, `${name}: verify wrote results (${r.stderr})`);
  return out;
}

t.test('runs that differ only in firmware, or in the description booted, name it', async (t) => {
  const edk2 = resultsOf('acpiGicv2', RECIPES.acpiGicv2 as BundleRecipe);
  const uboot = resultsOf('acpiGicv2-uboot', { ...(RECIPES.acpiGicv2 as BundleRecipe), firmware: { vendor: 'Das U-Boot', revision: '2.10' } });
  const dt = resultsOf('dtGicv2', RECIPES.dtGicv2 as BundleRecipe);

  const two = vmspec(['report', 'merge', edk2, uboot, '--format', 'md']);
  t.equal(two.status, 0, two.stderr);
  t.match(two.stdout, /bundle · firmware EDK II UEFI 2\.70/);
  t.match(two.stdout, /bundle · firmware Das U-Boot UEFI 2\.10/);
  t.notMatch(two.stdout, /bundle \(2\)/, 'no bare numbering');
  t.notMatch(two.stdout, /· ACPI/, 'what is the same is not repeated');

  const three = vmspec(['report', 'merge', edk2, uboot, dt, '--format', 'md']);
  t.equal(three.status, 0, three.stderr);
  for (const label of ['bundle · firmware EDK II UEFI 2.70 · ACPI', 'bundle · firmware Das U-Boot UEFI 2.10 · ACPI', 'bundle · firmware EDK II UEFI 2.70 · DT']) {
    t.ok(three.stdout.includes(label), `column "${label}"`);
  }

  const same = vmspec(['report', 'merge', edk2, edk2, '--format', 'md']);
  t.match(same.stdout, /bundle \(2\)/, 'identical runs are still numbered apart');
});

t.test('boot runs that differ in machine options name the options', async (t) => {
  const base = buildRun({ statuses: { 'V2-IMG-GPT': 'pass' }, target: { path: '/img/disk.img', sha256: '11'.repeat(32) } });
  const env = (qemuArgs: string[], accelerator: string) => ({ hypervisor: 'QEMU 7.2.22 (TCG)', accelerator, machine: { memoryMiB: 1024, cpus: 2, qemuArgs } });
  const boots = [{ name: 'boot 1', acpi: true, gic: 2 }, { name: 'boot 2', acpi: true, gic: 3 }];
  const plain = { ...base, environment: env([], 'tcg'), boot: { boots } };
  const el2 = { ...base, environment: env(['-machine', 'virtualization=on'], 'tcg'), boot: { boots } };
  const m = mergeRuns([{ run: plain }, { run: el2 }], spec);
  t.same(m.columns.map((c) => c.label), ['disk.img · QEMU 7.2.22 (TCG) · no extra QEMU arguments', 'disk.img · QEMU 7.2.22 (TCG) · -machine virtualization=on']);
});

t.test('results files written before `undecided` existed still merge and render', async (t) => {
  const run = buildRun({ statuses: { 'V2-IMG-GPT': 'pass', 'V2-IMG-ESP-TYPE': 'fail' }, target: { path: '/img/old.raw', sha256: '33'.repeat(32) } });
  const old = JSON.parse(JSON.stringify(run)) as { summary: Record<string, number>; results: { status: string }[] };
  delete old.summary.undecided;
  t.notOk(old.results.some((r) => r.status === 'undecided'));
  const file = join(dir, 'old.json');
  writeFileSync(file, JSON.stringify(old));
  const text = vmspec(['report', 'render', file, '--format', 'text']);
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /Summary: \d+ pass, \d+ fail, \d+ skip, \d+ error, \d+ waived, \d+ manual — exit/);
  t.notMatch(text.stdout, /undecided/, 'no undecided count for a run that has none');
  const merged = vmspec(['report', 'merge', file, file, '--format', 'junit']);
  t.equal(merged.status, 0, merged.stderr);
  t.match(merged.stdout, /<testsuites /);
  t.ok(readFileSync(file, 'utf8').length > 0);
});
