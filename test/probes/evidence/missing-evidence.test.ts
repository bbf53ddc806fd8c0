import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../../fixtures/evidence-bundles.js';
import { vmspec } from '../../cli/cli-runner.js';
import { alteredBundle } from './altered-bundle.js';

/**
 * Missing evidence is treated one way: a clause whose input is not in the
 * bundle is undecided (skip, naming the missing file), never a FAIL on a
 * null fact. Bundles are the real collector's, with one input removed (and
 * the manifest updated, as if the guest never had it). The same clauses
 * still fail on evidence that is there and wrong (cpuDown, consoleTty0).
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-missing-evidence-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
type Result = { id: string; status: string; message: string };

function verify(dir: string, spec: string, only: string[]): Map<string, Result> {
  const r = vmspec(['verify', '--spec', spec, '--evidence', dir, '--format', 'json', ...only.flatMap((id) => ['--only', id])]);
  return new Map((JSON.parse(r.stdout) as { results: Result[] }).results.map((x) => [x.id, x]));
}
const bundle = (name: keyof typeof RECIPES) => evidenceBundle(name, RECIPES[name] as BundleRecipe).dir;

/** [what is removed, spec, the clauses it decides, the missing entry they must name]. */
const CASES: [string[], string, string[], string][] = [
  [['/proc/interrupts'], 'vmspec-v2', ['V2-PLAT-VIRTUAL-TIMER', 'V2-PLAT-GICV3'], '"/proc/interrupts"'],
  // The counter is also shown by the clocksource list (collector 1.1): without it too, the kernel log is what is missing.
  [['/proc/interrupts', '/cmd/dmesg', '/sys/devices/system/clocksource'], 'vmspec-v2', ['V2-PLAT-VIRTUAL-TIMER', 'V2-PLAT-GICV3'], '"the kernel log (/cmd/dmesg)"'],
  [['/proc/interrupts', '/cmd/dmesg', '/sys/devices/system/clocksource'], 'vmspec-v1', ['V1-PLAT-VIRTUAL-TIMER', 'V1-PLAT-GIC'], '"the kernel log (/cmd/dmesg)"'],
  [['/sys/devices/system/cpu'], 'vmspec-v2', ['V2-ARCH-PSCI'], '"/sys/devices/system/cpu/online"'],
  [['/proc/consoles'], 'vmspec-v2', ['V2-PLAT-UART'], '"/proc/consoles"'],
  [['/proc/consoles'], 'vmspec-v1', ['V1-PLAT-CONSOLE', 'V1-PLAT-CONSOLE-KIND'], '"/proc/consoles"'],
  [['/sys/firmware/acpi', '/sys/firmware/fdt'], 'vmspec-v2', ['V2-HW-UEFI-CONFIG-TABLE', 'V2-PLAT-VIRTUAL-TIMER', 'V2-ARCH-PSCI'], '(the hardware description)'],
  [['/sys/firmware/acpi', '/sys/firmware/fdt'], 'vmspec-v1', ['V1-HW-UEFI-CONFIG-TABLE', 'V1-PLAT-GIC'], '(the hardware description)'],
];

for (const base of ['acpiGicv3', 'dtGicv3'] as const) {
  for (const [removed, spec, ids, named] of CASES) {
    t.test(`${base} without ${removed.join(' and ')} (${spec}): ${ids.join(', ')} undecided, naming it`, async (t) => {
      const dir = alteredBundle(bundle(base), join(work, `${base}-${removed.join('-').replace(/\W+/g, '_')}`), { remove: removed });
      const before = verify(bundle(base), spec, ids);
      const r = verify(dir, spec, ids);
      for (const id of ids) {
        t.notOk(['skip', 'undecided'].includes(before.get(id)?.status ?? ''), `${id} is decided on the whole bundle`);
        t.equal(r.get(id)?.status, 'undecided', `${id}: undecided, not failed`);
        t.match(r.get(id)?.message, /^undecided: missing is \[.*\]: the evidence lacks what this clause is decided from/);
        t.ok(r.get(id)?.message.includes(named), `${id} names ${named}`);
        t.notMatch(r.get(id)?.message, /found null/);
      }
    });
  }
}

t.test('the same clauses still fail on evidence that is present and wrong', async (t) => {
  t.match(verify(bundle('cpuDown'), 'vmspec-v2', ['V2-ARCH-PSCI']).get('V2-ARCH-PSCI'), { status: 'fail', message: /allPresentOnline/ });
  t.match(verify(bundle('spcr16550'), 'vmspec-v2', ['V2-PLAT-UART']).get('V2-PLAT-UART'), { status: 'fail', message: /firmwareUartSbsaCompatible/ });
  t.match(verify(bundle('spcr16550'), 'vmspec-v1', ['V1-PLAT-CONSOLE-KIND']).get('V1-PLAT-CONSOLE-KIND'), { status: 'fail', message: /consoleDevice/ });
});
