import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validator } from '../../../requirements/schemas.js';
import type { Result, RunResults } from '../../../engine/results.js';
import { readPcieSlot } from '../../../probes/evidence/pci-config.js';
import { vmspec } from '../../cli/cli-runner.js';
import { copyBundle, evidenceBundle, RECIPES, type BundleRecipe } from '../../fixtures/evidence-bundles.js';

/**
 * The hypervisor clauses judge what the VM can do, not the path the guest
 * took (issue #14 items 2 and 3), on bundles the real collector made
 * (test/fixtures/evidence-bundles.ts): a guest entered at EL2, a console on
 * a virtual terminal, one vCPU — none fails a hypervisor clause it should
 * not; and each real fault of a capability fails exactly its clauses, v2
 * and v1. `vmspec verify --evidence` is the built CLI (npm run build first).
 */

type Run = RunResults;
const runs = new Map<string, Run>();
function verify(t: Test, name: keyof typeof RECIPES, spec = 'vmspec-v2'): Run {
  const key = `${spec}:${name}`;
  const seen = runs.get(key);
  if (seen) return seen;
  const r = vmspec(['verify', '--spec', spec, '--evidence', evidenceBundle(name, RECIPES[name] as BundleRecipe).dir, '--format', 'json']);
  t.equal(r.stderr, '', 'nothing on stderr');
  const run = JSON.parse(r.stdout) as Run;
  t.ok(validator('results')(run), 'schema-valid results');
  runs.set(key, run);
  return run;
}
const ids = (run: Run, status: Result['status']) => run.results.filter((r) => r.status === status).map((r) => r.id).sort();
const result = (run: Run, id: string) => run.results.find((r) => r.id === id);
const added = (t: Test, mutant: keyof typeof RECIPES, base: keyof typeof RECIPES, spec = 'vmspec-v2') => {
  const b = new Set(ids(verify(t, base, spec), 'fail'));
  const m = verify(t, mutant, spec);
  t.same(ids(m, 'error'), [], 'no errors');
  return ids(m, 'fail').filter((id) => !b.has(id));
};

t.test('EL2 offered (virtualization=on): only FW-EL1 fails; GIC and virtual timer are judged by capability', async (t) => {
  t.same(added(t, 'el2', 'acpiGicv2'), ['V2-ARCH-FW-EL1']);
  const run = verify(t, 'el2');
  t.match(result(run, 'V2-PLAT-GICV2'), { status: 'pass', observed: { inUse: 'GICv2', interruptsDelivered: true, decidedBy: /"GICv2"/ } }, 'the split-EOI chip "GICv2" is the GICv2');
  t.match(result(run, 'V2-PLAT-VIRTUAL-TIMER'), {
    status: 'pass',
    observed: { kernelMode: 'phys', virtualTimerInUse: false, described: true, counterRunning: true, counting: true, clocksource: 'arch_sys_counter' },
  }, 'Linux at EL2 took the physical timer: a legal choice, not a failure');
  t.same(added(t, 'el2', 'acpiGicv2', 'vmspec-v1'), [], 'v1 has no EL1 clause: nothing fails');
});

t.test('console=tty0 is the guest\'s choice: no hypervisor UART clause fails (ACPI and DT, v2 and v1)', async (t) => {
  t.same(added(t, 'consoleTty0', 'acpiGicv2'), []);
  t.same(added(t, 'dtConsoleTty0', 'dtGicv2'), []);
  t.match(result(verify(t, 'dtConsoleTty0'), 'V2-PLAT-UART'), {
    status: 'pass', observed: { uartConsole: null, firmwareDescription: { source: 'stdout-path', sbsaCompatible: true }, firmwareUartFound: true },
  });
  t.same(added(t, 'dtConsoleTty0', 'dtGicv2', 'vmspec-v1'), [], 'V1-PLAT-CONSOLE(-KIND) judge the console device the VM offers');
  t.match(result(verify(t, 'dtConsoleTty0', 'vmspec-v1'), 'V1-PLAT-CONSOLE-KIND'), { status: 'pass', observed: { consoleDevice: 'PL011/SBSA UART' } });
});

/** Each fault against the configuration it breaks: exactly the clauses it fails, v2 then v1. */
const FAULTS: [keyof typeof RECIPES, keyof typeof RECIPES, string[], string[], string][] = [
  ['noSpcr', 'acpiGicv2', ['V2-ARCH-ACPI-SBBR', 'V2-PLAT-UART'], [], 'no SPCR: the firmware names no console UART'],
  ['spcr16550', 'acpiGicv2', ['V2-PLAT-UART'], ['V1-PLAT-CONSOLE-KIND'], 'SPCR names a 16550 (type 0x12), not an SBSA-compatible UART'],
  ['hotplugOff', 'acpiGicv2', ['V2-PLAT-HOTPLUG-BUS'], ['V1-PLAT-HOTPLUG-BUS'], 'the root port is not Hot-Plug Capable (hotplug=off)'],
  ['noRootPort', 'acpiGicv2', ['V2-PLAT-HOTPLUG-BUS'], ['V1-PLAT-HOTPLUG-BUS'], 'devices on the root bus only: ECAM and devices, but no hot-plug slot'],
  ['spinTable', 'dtGicv2', ['V2-ARCH-PSCI'], [], 'secondaries released from a spin table, not PSCI CPU_ON'],
  ['cpuDown', 'acpiGicv2', ['V2-ARCH-PSCI'], [], 'PSCI CPU_ON failed for a vCPU'],
  ['noVirtualTimer', 'acpiGicv2', ['V2-HW-ACPI-COMPLETE', 'V2-PLAT-VIRTUAL-TIMER'], ['V1-PLAT-VIRTUAL-TIMER'], 'the GTDT gives no virtual timer interrupt'],
  ['silentGic', 'acpiGicv2', ['V2-PLAT-GICV2', 'V2-PLAT-VIRTUAL-TIMER'], ['V1-PLAT-GIC', 'V1-PLAT-VIRTUAL-TIMER'], 'the GIC delivered no interrupt (the timer\'s neither)'],
];

for (const [mutant, base, v2, v1, why] of FAULTS) {
  t.test(`${mutant}: ${why}`, async (t) => {
    t.same(added(t, mutant, base), v2, `v2: fails ${v2.join(', ')} and nothing else`);
    for (const id of v2) t.ok(result(verify(t, mutant), id)?.observed, `${id} carries its evidence`);
    t.same(added(t, mutant, base, 'vmspec-v1'), v1, `v1: fails ${v1.join(', ') || 'nothing'}`);
  });
}

t.test('the facts behind the verdicts', async (t) => {
  const off = verify(t, 'hotplugOff');
  t.match(result(off, 'V2-PLAT-HOTPLUG-BUS'), {
    message: /hotPlug\.capable/,
    observed: { hotplugBus: 'PCI Express (ECAM)', hotPlug: { capable: false, ports: [{ address: '0000:00:03.0', portType: 'root port', slotImplemented: true, hotPlugCapable: false }], slots: [] } },
  }, 'ECAM and devices are there; the port cannot take a hot-added device');
  t.match(result(verify(t, 'acpiGicv2'), 'V2-PLAT-HOTPLUG-BUS'), { status: 'pass', observed: { hotPlug: { capable: true, via: /Hot-Plug Capable \(root port 0000:00:03\.0\)/, slots: [{ name: '1', address: '0000:01:00' }] } } });
  t.match(result(verify(t, 'spinTable'), 'V2-ARCH-PSCI'), { observed: { enableMethod: 'psci, spin-table', secondariesBooted: [1], secondariesViaPsci: false } });
  t.match(result(verify(t, 'cpuDown'), 'V2-ARCH-PSCI'), { observed: { psciBootFailures: [1], secondariesViaPsci: false } });
  t.match(result(verify(t, 'acpiGicv2'), 'V2-ARCH-PSCI'), { status: 'pass', observed: { enableMethod: 'psci', secondariesBooted: [1], secondariesViaPsci: true } });
  t.match(result(verify(t, 'spcr16550'), 'V2-PLAT-UART'), { observed: { firmwareDescription: { source: 'SPCR', sbsaCompatible: false }, firmwareUartSbsaCompatible: false } });
  t.match(result(verify(t, 'noVirtualTimer'), 'V2-PLAT-VIRTUAL-TIMER'), { observed: { firmwareSource: 'GTDT', firmwareVirtualTimerIntid: 0, described: false } });
});

t.test('PCIe configuration space: damaged or short reads are reported, never thrown', async (t) => {
  t.match(readPcieSlot(new Uint8Array(64)), { kind: 'not pcie' }, 'no Capabilities List bit');
  const short = new Uint8Array(64);
  short[6] = 0x10;
  short[0x34] = 0x54;
  t.match(readPcieSlot(short), { kind: 'unknown', problem: /outside the 64 bytes read \(reading past 0x40 needs root\)/ });
  const loop = new Uint8Array(256);
  loop[6] = 0x10;
  loop[0x34] = 0x40;
  loop[0x40] = 0x05;
  loop[0x41] = 0x40;
  t.match(readPcieSlot(loop), { kind: 'unknown', problem: /loops at 0x40/ });
});

t.test('a bundle of collector 1.0 (ports without their configuration space, no slot list): hot-plug is undecided, not failed', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'vmspec-capability-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const dir = copyBundle(evidenceBundle('acpiGicv2', RECIPES.acpiGicv2 as BundleRecipe).dir, join(work, 'old'));
  const config = 'sys/bus/pci/devices/0000:00:03.0/config';
  rmSync(join(dir, config));
  rmSync(join(dir, 'sys/bus/pci/slots'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
  for (const f of Object.keys(manifest.files)) if (f === config || f.startsWith('sys/bus/pci/slots/')) delete manifest.files[f];
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const spec of ['vmspec-v2', 'vmspec-v1']) {
    const r = vmspec(['verify', '--spec', spec, '--evidence', dir, '--format', 'json']);
    const run = JSON.parse(r.stdout) as Run;
    const id = spec === 'vmspec-v2' ? 'V2-PLAT-HOTPLUG-BUS' : 'V1-PLAT-HOTPLUG-BUS';
    t.match(result(run, id), { status: 'undecided', message: /hotPlug\.capable is null/ }, `${id}: not judgeable`);
  }
});
