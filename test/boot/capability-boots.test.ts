/**
 * Real boots of the reference image (Debian arm64 kernel, busybox /init,
 * collect.sh) under QEMU TCG with Debian's AAVMF, for the hypervisor
 * clauses that must judge the VM's capability, not the guest's path
 * (issue #14 items 2 and 3). Four QEMU runs, two at a time:
 *
 *   A  ACPI, GICv2, 2 vCPUs, EL2 offered (-machine virtualization=on), phase write
 *   B  DT (acpi=off), GICv3, 1 vCPU, image whose kernel runs console=tty0
 *   C  A's variable store again (a power cycle), phase check
 *   D  A run QEMU has to stop (timeout): the power-off never came
 *
 * Each evidence disk is judged by `vmspec verify --evidence`; the host's
 * record (serial log, QEMU exit, variable store) by the host.boot clauses.
 * Skipped, with the reason, without QEMU or AAVMF, with VMSPEC_SKIP_BOOT,
 * or when the image cannot be built here.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFileSparse } from '../../bytes/sparse-copy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import { hostBootFacts, recordBoot } from '../../boot/host-facts.js';
import type { PlannedBoot } from '../../boot/plan.js';
import { copyVars, runQemu, type QemuRunResult } from '../../boot/qemu-run.js';
import { buildReferenceImage, DEFAULT_CMDLINE, type ReferenceImage } from '../../boot/reference/build.js';
import { createEvidenceDisk, type Phase } from '../../boot/reference/evidence-disk.js';
import { varsFileFacts } from '../../boot/vars-file.js';
import { evaluate } from '../../engine/evaluate.js';
import type { Result, RunResults } from '../../engine/results.js';
import type { HostBootRecord } from '../../probes/host/facts.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { vmspec } from '../cli/cli-runner.js';
import { realBootSkip } from '../fixtures/real-boot-skip.js';

const BOOT_TIMEOUT_MS = 240_000;
const here = realBootSkip();
const fw = here.fw;
let skip = here.skip;

let ref: ReferenceImage | undefined;
let tty0: ReferenceImage | undefined;
if (!skip) {
  try {
    ref = await buildReferenceImage({ onProgress: (m) => t.comment(`reference image: ${m}`) });
    tty0 = await buildReferenceImage({ cmdline: `${DEFAULT_CMDLINE} console=tty0`, onProgress: (m) => t.comment(`console=tty0 image: ${m}`) });
  } catch (e) {
    if (!(e instanceof UnsupportedError)) throw e;
    skip = `cannot build the reference image here: ${e.message}`;
  }
}

const status = (run: { results: Result[] }, id: string) => run.results.find((r) => r.id === id)?.status;
const byId = (run: { results: Result[] }, id: string) => run.results.find((r) => r.id === id);
const failing = (run: { results: Result[] }) => run.results.filter((r) => r.status === 'fail').map((r) => r.id).sort();

t.test('real boots: capability, not the guest\'s path; PSCI power-off, UART and nonce seen from the host', { skip }, async (t) => {
  const firmware = fw as NonNullable<typeof fw>;
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-capability-boots-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const nonce = `C${Date.now().toString(36)}`;
  const varsA = copyVars(firmware, join(dir, 'vars-a.fd'));
  const varsB = copyVars(firmware, join(dir, 'vars-b.fd'));

  interface Booted { plan: PlannedBoot; qemu: QemuRunResult; disk: string; serialLog: string; vars: string }
  const boot = async (tag: string, image: string, plan: PlannedBoot, vars: string, extra: { smp: number; extraArgs?: string[]; timeoutMs?: number }): Promise<Booted> => {
    const disk = join(dir, `${tag}-evidence.img`);
    createEvidenceDisk(disk, { phase: plan.phase as Phase, nonce });
    const serialLog = join(dir, `${tag}-serial.log`);
    const qemu = await runQemu({ image, vars, firmware, evidenceDisk: disk, acpi: plan.acpi, gic: plan.gic, timeoutMs: extra.timeoutMs ?? BOOT_TIMEOUT_MS, serialLog, smp: extra.smp, ...(extra.extraArgs ? { extraArgs: extra.extraArgs } : {}) });
    t.comment(`${tag}: QEMU exit ${qemu.exitCode ?? qemu.signal} after ${qemu.durationMs} ms`);
    return { plan, qemu, disk, serialLog, vars };
  };
  const record = (b: Booted, serialLog = b.serialLog, bundleOnDisk = true): HostBootRecord =>
    recordBoot(b.plan, b.plan.name, b.qemu, { serialLog, vars: b.vars, bundleOnDisk, timeoutMs: BOOT_TIMEOUT_MS }, nonce, varsFileFacts).record;
  const verify = (disk: string, spec = 'vmspec-v2'): RunResults => {
    const r = vmspec(['verify', '--spec', spec, '--evidence', disk, '--format', 'json']);
    t.equal(r.stderr, '', 'nothing on stderr');
    return JSON.parse(r.stdout) as RunResults;
  };
  const v2 = loadSpecOrThrow('vmspec-v2');
  const hostClauses = (ids: string[]) => v2.requirements.filter((r) => ids.includes(r.id));
  const env = { hypervisor: 'QEMU (TCG)', accelerator: 'tcg' as const };

  const [a, b] = await Promise.all([
    boot('A-el2', (ref as ReferenceImage).image, { name: 'boot 1', acpi: true, gic: 2, phase: 'write', vars: 'new' }, varsA, { smp: 2, extraArgs: ['-machine', 'virtualization=on'] }),
    boot('B-tty0', (tty0 as ReferenceImage).image, { name: 'boot 1', acpi: false, gic: 3, phase: 'write', vars: 'new' }, varsB, { smp: 1 }),
  ]);
  t.equal(a.qemu.exitCode, 0, 'A powered off', { output: a.qemu.output });
  t.equal(b.qemu.exitCode, 0, 'B powered off', { output: b.qemu.output });
  const [c, d] = await Promise.all([
    boot('C-check', (ref as ReferenceImage).image, { name: 'boot 2', acpi: true, gic: 2, phase: 'check', vars: 'same' }, varsA, { smp: 2 }),
    // Stopped long before the guest could power off: what a hypervisor without PSCI SYSTEM_OFF looks like from the host.
    boot('D-stopped', (ref as ReferenceImage).image, { name: 'boot 1', acpi: true, gic: 2, phase: 'write', vars: 'new' }, copyVars(firmware, join(dir, 'vars-d.fd')), { smp: 1, timeoutMs: 4000 }),
  ]);
  t.equal(c.qemu.exitCode, 0, 'C powered off');
  t.equal(d.qemu.timedOut, true, 'D was stopped by the host');

  await t.test('A: EL2 offered: FW-EL1 fails; GICv2, virtual timer, PSCI, UART, hot-plug pass', async (t) => {
    const run = verify(a.disk);
    t.same(failing(run), ['V2-ARCH-FW-EL1', 'V2-HW-DT-TABLE-GUID'], 'EL2 offered fails FW-EL1 (and ACPI mode has no DT table), nothing else');
    for (const id of ['V2-PLAT-GICV2', 'V2-PLAT-VIRTUAL-TIMER', 'V2-ARCH-PSCI', 'V2-PLAT-UART', 'V2-PLAT-HOTPLUG-BUS']) t.equal(status(run, id), 'pass', `${id} passes`);
    t.match(byId(run, 'V2-ARCH-FW-EL1'), { observed: { bootEl: 'EL2' } });
    t.match(byId(run, 'V2-PLAT-VIRTUAL-TIMER'), { observed: { kernelMode: 'phys', virtualTimerInUse: false, described: true, counterRunning: true, counting: true } }, 'Linux at EL2 uses the physical timer: not judged');
    t.match(byId(run, 'V2-PLAT-GICV2'), { observed: { inUse: 'GICv2', interruptsDelivered: true } });
    t.match(byId(run, 'V2-ARCH-PSCI'), { observed: { enableMethod: 'psci', secondariesBooted: [1], secondariesViaPsci: true } }, '2 vCPUs: CPU1 started through PSCI');
    t.match(byId(run, 'V2-PLAT-HOTPLUG-BUS'), { observed: { hotPlug: { capable: true, ports: [{ portType: 'root port', hotPlugCapable: true }] } } }, 'the pcie-root-port vmspec boot adds is Hot-Plug Capable');
    t.same(failing(verify(a.disk, 'vmspec-v1')), ['V1-HW-DT-TABLE-GUID'], 'v1: only the DT table (ACPI boot)');
  });

  await t.test('B: console=tty0, 1 vCPU, DT, GICv3: the hypervisor clauses still pass', async (t) => {
    const run = verify(b.disk);
    t.same(failing(run), ['V2-HW-ACPI-TABLE-GUID'], 'acpi=off fails the ACPI table clause, nothing else');
    for (const id of ['V2-PLAT-UART', 'V2-PLAT-GICV3', 'V2-PLAT-VIRTUAL-TIMER', 'V2-ARCH-PSCI', 'V2-PLAT-HOTPLUG-BUS', 'V2-ARCH-FW-EL1']) t.equal(status(run, id), 'pass', `${id} passes`);
    t.match(byId(run, 'V2-PLAT-UART'), { observed: { uartConsole: null, firmwareDescription: { source: 'stdout-path', sbsaCompatible: true }, firmwareUartFound: true } }, 'no UART console, yet the firmware names a PL011 the kernel found');
    t.match(byId(run, 'V2-ARCH-PSCI'), { observed: { present: 1, secondariesViaPsci: null } }, 'one vCPU: no secondary to start, not judged');
    const v1 = verify(b.disk, 'vmspec-v1');
    t.same(failing(v1), [], 'v1 (DT): nothing fails');
    t.equal(status(v1, 'V1-PLAT-CONSOLE'), 'pass');
  });

  await t.test('host side: UART-HOST, PSCI-HOST and VARS-PERSIST-HOST both ways', async (t) => {
    const rA = record(a);
    const rB = record(b);
    const rC = record(c);
    // D was stopped 4 s in, before its kernel started: judged alone that is a boot with no OS (the firmware's
    // clause, boot/failed-boots.ts). With B's real serial log it is an OS that started and never powered off.
    t.match(record(d, d.serialLog, false).failure, { kind: 'no-os' }, 'stopped before the kernel: no OS started');
    const rD = record(d, b.serialLog);
    t.match(rB.serial, { firmwareMessages: true, collectorMessages: true }, 'console=tty0: the firmware and the collector (mirrored by init) reached the UART');
    t.match(rA.serial, { firmwareMessages: true, kernelMessages: true, collectorMessages: true });
    const judge = async (boots: HostBootRecord[], ids: string[]) => evaluate(hostClauses(ids), { boot: hostBootFacts(boots.map((r) => ({ ...r, serialLog: '', evidence: null })), nonce, env) });

    t.same((await judge([rA, rC], ['V2-PLAT-UART-HOST', 'V2-ARCH-PSCI-HOST', 'V2-FW-VARS-PERSIST-HOST'])).map((r) => [r.id, r.status]).sort(),
      [['V2-ARCH-PSCI-HOST', 'pass'], ['V2-FW-VARS-PERSIST-HOST', 'pass'], ['V2-PLAT-UART-HOST', 'pass']], 'A then C: all pass');
    t.equal((await judge([rB], ['V2-PLAT-UART-HOST']))[0]?.status, 'pass', 'console=tty0 does not fail the hypervisor\'s UART');

    // The UART without the collector's lines: B's real log up to where the guest OS starts writing.
    const logB = readFileSync(b.serialLog, 'latin1');
    const cut = join(dir, 'B-no-collector-serial.log');
    writeFileSync(cut, logB.slice(0, logB.search(/^vmspec-init: /m)), 'latin1');
    const rBcut = record(b, cut);
    t.match(rBcut.serial, { firmwareMessages: true, collectorMessages: false });
    t.match((await judge([rBcut], ['V2-PLAT-UART-HOST']))[0], { status: 'fail', message: /everyBootFirmwareOrKernelAndCollector/ }, 'firmware output alone is not enough');

    t.match(rD, { timedOut: true, cleanExit: false });
    t.match((await judge([rA, rD], ['V2-ARCH-PSCI-HOST']))[0], { status: 'fail', message: /everyBootCleanExit/ }, 'a VM the host had to stop fails PSCI-HOST');

    // The store after C with the nonce's data changed in place (same length): present, but not what was written.
    const altered = join(dir, 'vars-altered.fd');
    copyFileSparse(varsA, altered);
    const bytes = readFileSync(altered);
    const at = bytes.lastIndexOf(Buffer.from(nonce, 'latin1'));
    t.ok(at > 0, 'the nonce is in the store as data');
    bytes[at + nonce.length - 1] = bytes[at + nonce.length - 1] === 0x5a ? 0x59 : 0x5a;
    writeFileSync(altered, bytes);
    const rCalt = record({ ...c, vars: altered });
    t.match(rCalt.varsFileAfter, { nonceVariable: 'present', contentMatchesNonce: false });
    t.match((await judge([rA, rCalt], ['V2-FW-VARS-PERSIST-HOST']))[0], { status: 'fail', message: /persistence\.contentAfterCheck/ }, 'present is not enough: the value must be the one written');
  });
});
