import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmspec } from '../cli/cli-runner.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';

// `report render --format text` prints what `verify` printed for the same run:
// results from real verify runs (bundles from the real collector over QEMU's
// own ACPI tables), through the built CLI.
const dir = mkdtempSync(join(tmpdir(), 'vmspec-render-text-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const p = (f: string) => join(dir, f);
const bundle = (name: keyof typeof RECIPES) => evidenceBundle(name, RECIPES[name] as BundleRecipe).dir;

t.test('the text of a saved run is the text verify printed', async (t) => {
  const args = ['verify', '--evidence', bundle('spcr16550'), '--profile', 'hypervisor'];
  const printed = vmspec([...args, '--report', `json:${p('run.json')}`]);
  t.equal(printed.status, 1, 'the console clause fails this bundle');
  t.match(printed.stdout, /FAIL\s+V2-PLAT-UART/);

  const rendered = vmspec(['report', 'render', p('run.json'), '--format', 'text']);
  t.equal(rendered.status, 0, rendered.stderr);
  t.equal(rendered.stdout, printed.stdout, 'same lines, same summary, same exit line');

  const verbose = vmspec([...args, '-v']);
  t.equal(vmspec(['report', 'render', p('run.json'), '--format', 'text', '-v']).stdout, verbose.stdout, '-v: passing reasons too');

  const toFile = vmspec(['report', 'render', p('run.json'), '-o', p('run.txt')]);
  t.equal(toFile.status, 0, toFile.stderr);
  t.equal(readFileSync(p('run.txt'), 'utf8'), printed.stdout, 'a .txt output is text (no colour in a file)');
});

t.test('waivers given to report render give the text verify --waivers printed', async (t) => {
  writeFileSync(p('w.yaml'), 'waivers:\n  - id: V2-PLAT-UART\n    justification: SPCR names a 16550 in this lab\n    owner: lab\n');
  const args = ['verify', '--evidence', bundle('spcr16550'), '--profile', 'hypervisor'];
  vmspec([...args, '--report', `json:${p('plain.json')}`]);
  const waived = vmspec([...args, '--waivers', p('w.yaml'), '--report', `text:${p('waived.txt')}`]);
  t.match(waived.stdout, /WAIVED V2-PLAT-UART/);
  t.equal(readFileSync(p('waived.txt'), 'utf8'), waived.stdout, '--report text:FILE writes what verify printed');

  const rendered = vmspec(['report', 'render', p('plain.json'), '--format', 'text', '--waivers', p('w.yaml')]);
  t.equal(rendered.status, 0, rendered.stderr);
  t.equal(rendered.stdout, waived.stdout, 'waived after the fact reads as waived during the run');
});
