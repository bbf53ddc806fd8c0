/**
 * `vmspec boot --hypervisor xen` for real: Debian's Xen 4.17 nested in QEMU
 * TCG (EL2 emulated), dom0 with the xl toolstack, the built-in reference as
 * a domU booted directly (Debian ships no guest firmware). The default
 * matrix, a GICv2 boot then a GICv3 boot (ACPI requested), takes 2–8
 * minutes on 2 loaded cores,
 * plus the Xen host build (about 2 minutes) when not cached, so this runs
 * only with VMSPEC_SLOW_TESTS=1. The verdicts are explained in docs/xen.md.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmspec } from '../../cli/cli-runner.js';
import { qemuUnder } from '../qemu-processes.js';
import { findQemu } from '../../../boot/qemu-run.js';
import { NO_GUEST_FIRMWARE } from '../../../boot/xen/domu-boot.js';

const skip = !process.env.VMSPEC_SLOW_TESTS ? 'set VMSPEC_SLOW_TESTS=1 to run the reference as a Xen domU (Xen nested in QEMU TCG: 4–8 min)' : findQemu() === undefined ? 'qemu-system-aarch64 not found' : false;

interface Res {
  environment: { hypervisor: string; accelerator: string; firmware: { code: string; description: string | null } };
  boot: { boots: { name: string; gic: number; acpi: boolean; exitCode: number | null; timedOut: boolean; durationMs: number; failure: unknown; serial: { collectorExit: number | null; guestConsoleOnUart: boolean }; varsFileAfter: { nonceVariable: string } }[]; workDir: string | null };
  results: { id: string; status: string; message?: string }[];
  warnings?: string[];
}

t.test('the reference as a Xen domU, judged clause by clause', { skip, timeout: 40 * 60 * 1000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-xen-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'results.json');
  const started = performance.now();
  const r = vmspec(['boot', '--hypervisor', 'xen', '--timeout', '900', '--format', 'json', '-o', out, '--work-dir', dir]);
  t.comment(`vmspec boot --hypervisor xen took ${((performance.now() - started) / 1000).toFixed(0)} s (exit ${r.status})`);
  t.comment(r.stderr.trim());
  t.same(qemuUnder(dir), [], 'no QEMU is left running');
  const res = JSON.parse(readFileSync(out, 'utf8')) as Res;
  t.match(res.environment.hypervisor, /^Xen 4\.17\.\S+ \(Debian, dom0 \S+; nested in QEMU \S+ TCG\)$/);
  t.equal(res.environment.firmware.description, NO_GUEST_FIRMWARE);
  t.ok(res.warnings?.some((w) => w.startsWith(`${NO_GUEST_FIRMWARE}: reference:builtin`)), 'the report says why the UEFI clauses fail');
  t.same(res.boot.boots.map((b) => [b.gic, b.acpi]), [[2, true], [3, true]], 'GICv2 then GICv3 (a power cycle), ACPI asked for (acpi = 1)');
  for (const b of res.boot.boots) {
    t.comment(`${b.name}: ${(b.durationMs / 1000).toFixed(0)} s`);
    t.equal(b.failure, null, `${b.name}: the domain ran the collector and powered off`);
    t.equal(b.exitCode, 0, `${b.name}: dom0 reported a power-off`);
    t.equal(b.serial.collectorExit, 0, `${b.name}: VMSPEC-DONE reached the SBSA vUART (the serial log)`);
    t.equal(b.varsFileAfter.nonceVariable, 'no store', `${b.name}: a Xen domain has no variable-store file`);
  }
  const status = new Map(res.results.map((x) => [x.id, x.status]));
  for (const x of res.results) if (x.status !== 'manual') t.comment(`${x.status.padEnd(9)} ${x.id} ${(x.message ?? '').slice(0, 600)}`);
  // What the platform does: Xen's vGICv2 and vGICv3 (the L0 host's GIC of each boot), the generic timer, PSCI, xenbus as the hot-plug bus.
  for (const id of ['V2-PLAT-GICV2', 'V2-PLAT-GICV3', 'V2-PLAT-VIRTUAL-TIMER', 'V2-ARCH-PSCI', 'V2-PLAT-HOTPLUG-BUS', 'V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-CONSOLE']) t.equal(status.get(id), 'pass', `${id} passes`);
  // libxl's device tree names no console (no /chosen/stdout-path), so the kernel's console is the PV console (hvc0):
  // the vUART carries only what init writes to it, never the kernel's messages.
  for (const id of ['V2-PLAT-UART', 'V2-PLAT-UART-HOST']) t.equal(status.get(id), 'fail', `${id} fails: the SBSA vUART is not the console`);
  // What Xen as packaged fails: no UEFI (the kernel boots directly), so no UEFI RTC, no configuration table, no variable store.
  for (const id of ['V2-FW-UEFI', 'V2-FW-RTC', 'V2-HW-UEFI-CONFIG-TABLE', 'V2-HW-ACPI-TABLE-GUID']) t.equal(status.get(id), 'fail', `${id} fails: ${NO_GUEST_FIRMWARE}`);
  t.not(status.get('V2-FW-VARS-PERSIST-HOST'), 'pass', 'no variable store: persistence is not shown');
  // PLAT-2 counts the domain's disks on xenbus (vbd-*), where xl put them.
  t.equal(status.get('V2-PLAT-DISCOVERABLE'), 'pass', 'V2-PLAT-DISCOVERABLE: the CPUs, memory and both PV disks were found');
  // Exactly the fault matrix's row (xen-as-packaged in test/verdicts/faults.ts), nothing more.
  const ids = (s: string) => res.results.filter((x) => x.status === s).map((x) => x.id).sort();
  t.same(ids('fail'), ['V2-FW-RTC', 'V2-FW-UEFI', 'V2-FW-VARS-PERSIST', 'V2-FW-VARS-PERSIST-HOST', 'V2-HW-ACPI-TABLE-GUID', 'V2-HW-DT-COMPLETE', 'V2-HW-UEFI-CONFIG-TABLE', 'V2-PLAT-UART', 'V2-PLAT-UART-HOST'], 'fails exactly what Xen as packaged lacks');
  t.same(ids('error'), [], 'no probe errors');
  // No UEFI, so no store to start fresh (FW-6 from the host); no reset watched on this route (ARCH-4's reboot).
  t.same(ids('undecided'), ['V2-ARCH-PSCI-RESET-HOST', 'V2-FW-NO-PRESET-BOOTVARS-HOST'], 'undecided: what this route cannot show');
  t.equal(r.status, 1);
});
