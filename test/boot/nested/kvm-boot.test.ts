/**
 * `vmspec boot --accel kvm` for real on a machine without an aarch64
 * /dev/kvm: each boot runs under KVM inside the nested L1 host
 * (boot/nested, docs/kvm.md). Opt-in (VMSPEC_SLOW_TESTS=1): 2–7 min for
 * the two boots, 0.5–3 min for the refused ones, on 2 shared cores.
 *
 *   A  --kvm-host-gic match: boot 1 under a GICv2 L1 (vGICv2), boot 2 under
 *      a GICv3 L1 (vGICv3), the same variable-store file through L1's
 *      virtio disk; boot 2's guest resets, KVM's PSCI SYSTEM_RESET restarts
 *      the VM and L0 has L1 stop it there: the GIC clauses, persistence, the
 *      power-off and the reset pass, nothing is undecided
 *   B  --gic 2 with the default GICv3 L1 (no GICv2 legacy interface): L2's
 *      QEMU refuses the GICv2 guest, as on such a real host: V2-PLAT-GICV2 fails
 *   C  --gic 3 with a GICv2 L1: L2's QEMU refuses the GICv3 guest: V2-PLAT-GICV3 fails
 *
 * After each run no QEMU of the run is left (by pid, test/boot/qemu-processes.ts).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmspec } from '../../cli/cli-runner.js';
import { realBootSkip } from '../../fixtures/real-boot-skip.js';
import { qemuUnder } from '../qemu-processes.js';

const here = realBootSkip();
const skip = !process.env.VMSPEC_SLOW_TESTS
  ? 'set VMSPEC_SLOW_TESTS=1 to run vmspec boot --accel kvm through the nested KVM host (3–10 min, plus the L1 host build when not cached)'
  : process.arch === 'arm64' ? 'this host is aarch64: --accel kvm uses its own KVM, not the nested host' : here.skip;

interface Res {
  environment: { hypervisor: string; accelerator: string };
  boot: { boots: { name: string; gic: number; end: string; cleanExit: boolean; failure: { kind: string; hypervisorMessage: string | null } | null; reset: { requested: boolean; restarted: boolean; stoppedByHost: boolean } | null; varsFileAfter: { nonceVariable: string } }[] };
  results: { id: string; status: string; message?: string }[];
}

function run(t: Test, args: string[]): { res: Res; status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-nested-kvm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'results.json');
  const started = performance.now();
  const r = vmspec(['boot', '--accel', 'kvm', ...args, '--format', 'json', '-o', out, '--work-dir', dir]);
  t.comment(`vmspec boot --accel kvm ${args.join(' ')}: ${((performance.now() - started) / 1000).toFixed(0)} s, exit ${r.status}`);
  t.comment(r.stderr.trim());
  t.same(qemuUnder(dir), [], 'no QEMU of the run is left');
  return { res: JSON.parse(readFileSync(out, 'utf8')) as Res, status: r.status, stderr: r.stderr };
}

t.test('KVM in a nested host: both vGICs, persistence, the power-off and the reset', { skip, timeout: 40 * 60 * 1000 }, async (t) => {
  const { res, status, stderr } = run(t, ['--kvm-host-gic', 'match', '--waivers', 'waivers/known-firmware-deviations.yaml']);
  t.match(stderr, /each boot runs under KVM inside a nested L1 aarch64 host/, 'the route is said on stderr');
  t.equal(res.environment.accelerator, 'kvm');
  t.match(res.environment.hypervisor, /^QEMU \S+ \(KVM, nested in a TCG L1 aarch64 host: Linux \S+, QEMU \S+ TCG with EL2, L1 GIC = each boot's GIC\)$/);
  for (const b of res.boot.boots) {
    t.equal(b.failure, null, `${b.name} gave its evidence`);
    t.equal(b.varsFileAfter.nonceVariable, 'present', `${b.name}: the nonce is in the L0 store file`);
  }
  const [b1, b2] = res.boot.boots;
  t.match(b1, { end: 'poweroff', cleanExit: true, reset: null }, 'boot 1: L2 QEMU exited 0 after the guest\'s PSCI power-off');
  t.match(b2, { end: 'reset', reset: { requested: true, restarted: true, stoppedByHost: true } }, 'boot 2: the guest\'s PSCI reset restarted the VM under KVM; L1 stopped L2 on L0\'s word');
  const status_ = (id: string) => res.results.find((x) => x.id === id)?.status;
  const counts = new Map<string, number>();
  for (const x of res.results) counts.set(x.status, (counts.get(x.status) ?? 0) + 1);
  t.comment(`verdicts: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`);
  // V2-FW-NO-PRESET-BOOTVARS-HOST: boot 1 started from a fresh copy of AAVMF's blank store template and reached the OS.
  for (const id of ['V2-PLAT-GICV2', 'V2-PLAT-GICV3', 'V2-FW-VARS-PERSIST', 'V2-FW-VARS-PERSIST-HOST', 'V2-ARCH-PSCI', 'V2-ARCH-PSCI-HOST', 'V2-ARCH-PSCI-RESET-HOST', 'V2-PLAT-UART', 'V2-PLAT-UART-HOST', 'V2-FW-UEFI', 'V2-FW-NO-PRESET-BOOTVARS-HOST']) {
    t.equal(status_(id), 'pass', `${id} passes`);
  }
  t.same(res.results.filter((x) => x.status === 'fail').map((x) => x.id), [], 'nothing fails (the AAVMF DT-table deviation is waived)');
  t.equal(status_('V2-HW-DT-TABLE-GUID'), 'waived');
  t.same(res.results.filter((x) => x.status === 'undecided').map((x) => x.id), [], 'nothing undecided');
  t.equal(status, 0);
});

t.test('a GICv3-only KVM host refuses a GICv2 guest: V2-PLAT-GICV2 fails', { skip, timeout: 20 * 60 * 1000 }, async (t) => {
  const { res, status } = run(t, ['--gic', '2']);
  t.match(res.environment.hypervisor, /L1 GICv3\)$/);
  const [b] = res.boot.boots;
  t.equal(b?.failure?.kind, 'hypervisor-refused', 'L2 QEMU exited before anything reached the UART');
  t.match(b?.failure?.hypervisorMessage ?? '', /host does not support in-kernel GICv2 emulation/, 'in QEMU\'s words');
  t.ok(res.boot.boots.every((x) => x.failure?.kind === 'hypervisor-refused'), 'both boots (write, check) are GICv2 and refused');
  // A refusal blames the configuration's GIC version and description mode; no ACPI boot ran either (docs/boot.md).
  t.same(res.results.filter((x) => x.status === 'fail').map((x) => x.id).sort(), ['V2-HW-ACPI-COMPLETE', 'V2-PLAT-GICV2']);
  t.match(res.results.find((x) => x.id === 'V2-PLAT-GICV2')?.message ?? '', /host does not support in-kernel GICv2 emulation/);
  t.equal(status, 1);
});

t.test('a GICv2-only KVM host refuses a GICv3 guest: V2-PLAT-GICV3 fails', { skip, timeout: 20 * 60 * 1000 }, async (t) => {
  const { res, status } = run(t, ['--kvm-host-gic', '2', '--gic', '3']);
  t.match(res.environment.hypervisor, /L1 GICv2\)$/);
  t.ok(res.boot.boots.length > 0 && res.boot.boots.every((x) => x.failure?.kind === 'hypervisor-refused'), 'both boots (GICv3) are refused');
  t.match(res.boot.boots[0]?.failure?.hypervisorMessage ?? '', /host does not support in-kernel GICv3 emulation/);
  t.same(res.results.filter((x) => x.status === 'fail').map((x) => x.id).sort(), ['V2-HW-ACPI-COMPLETE', 'V2-PLAT-GICV3']);
  t.equal(status, 1);
});
