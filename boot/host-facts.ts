import type { DiscoveryRecord, HostBootFacts, HostBootRecord, RemovableBootFacts, VarsFileFacts } from '../probes/host/facts.js';
import { bootFailure } from './boot-outcome.js';
import type { PlannedBoot } from './plan.js';
import type { QemuRunResult } from './qemu-run.js';
import { resetOnSerial } from './reset-watch.js';
import { readSerialLog, serialFacts, serialTail } from './serial-log.js';
import type { BootEnvironment, BootRecordOut } from './types.js';

/**
 * The host's own record of a `vmspec boot` run, which no guest can fake:
 * QEMU's exit, what reached the serial port, and the persistence nonce in
 * the instance's variable-store file after each power-off. It is the `boot`
 * input of the `host.boot` probe (probes/host/facts.ts), built only from
 * parsed values.
 */

/** No store file: the firmware keeps its variables in memory only (boot/firmware: a single image loaded as -bios). */
const NO_STORE: VarsFileFacts = {
  nonceVariable: 'no store',
  contentMatchesNonce: null,
  nonVolatile: null,
  storeFormat: null,
  problem: 'the firmware ran without a variable-store file (a single firmware image, loaded as QEMU loads -bios): its variables are volatile and lost at power-off',
  layoutKnown: true,
  bootVariables: null,
};

/**
 * What each boot's store starts from: the template as read before any boot;
 * no store (a single firmware image: volatile variables, empty at power-on);
 * no UEFI firmware at all (a Xen domain booting its kernel directly), where FW-6 cannot be observed.
 */
export type StoreTemplate = VarsFileFacts | 'no store' | 'no UEFI firmware';

/** One boot as the host saw it after QEMU exited; `consoleTail` is the serial log's last lines. */
export function recordBoot(
  b: PlannedBoot,
  label: string,
  run: QemuRunResult,
  seen: { serialLog: string; vars: string | undefined; bundleOnDisk: boolean; timeoutMs: number },
  nonce: string,
  varsFileFacts: (varsPath: string, nonce: string) => VarsFileFacts,
): { record: HostBootRecord; consoleTail: string } {
  const log = readSerialLog(seen.serialLog);
  const serial = serialFacts(log.text, log.bytes);
  const consoleTail = serialTail(log.text);
  const record: HostBootRecord = {
    name: b.name,
    acpi: b.acpi,
    gic: b.gic,
    phase: b.phase,
    varsStore: b.vars === 'new' ? 'new' : b.vars === 'same' ? 'same as the previous boot' : 'fresh copy',
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    durationMs: run.durationMs,
    serial,
    varsFileAfter: seen.vars === undefined ? NO_STORE : varsFileFacts(seen.vars, nonce),
    failure: bootFailure(label, run, serial, consoleTail, seen.bundleOnDisk, seen.timeoutMs),
    cleanExit: run.exitCode === 0 && !run.timedOut && run.signal === null && run.stoppedAfterReset !== true,
    end: b.end ?? 'poweroff',
    reset: b.end === 'reset' ? { ...resetOnSerial(log.text), stoppedByHost: run.stoppedAfterReset === true } : null,
  };
  return { record, consoleTail };
}

/**
 * Every boot's record plus what they show together: whether the nonce written
 * by one boot survived to the next; whether the image booted from a store with
 * no boot option set up for it (`template`: the variable-store template each
 * new store is copied from, as read before any boot).
 */
export function hostBootFacts(
  boots: BootRecordOut[],
  nonce: string,
  env: Pick<BootEnvironment, 'hypervisor' | 'accelerator'>,
  discovery: DiscoveryRecord[] = [],
  resetNotExercised: string | null = 'no boot of this run was told to reset the VM',
  template: StoreTemplate = 'no store',
): HostBootFacts {
  // Persistence is judged only between boots whose collector ran; a failed boot is judged by boot/failed-boots.ts.
  const write = boots.find((r) => r.phase === 'write' && r.failure === null);
  const check = boots.find((r) => r.phase === 'check' && r.failure === null);
  const osStarted = boots.filter((r) => r.failure === null || r.failure.kind === 'no-evidence');
  const resetBoot = boots.find((r) => r.end === 'reset');
  return {
    hypervisor: env.hypervisor,
    accelerator: env.accelerator,
    boots: boots.map(({ serialLog: _s, evidence: _e, ...r }) => r),
    persistence: {
      nonce,
      checked: Boolean(write && check),
      writtenToStore: write?.varsFileAfter.nonceVariable ?? 'unreadable',
      stillInStoreAfterCheck: check ? check.varsFileAfter.nonceVariable : null,
      storeLayoutKnown: [write, check].every((r) => r === undefined || r.varsFileAfter.layoutKnown),
      contentAfterWrite: write?.varsFileAfter.contentMatchesNonce ?? null,
      contentAfterCheck: check?.varsFileAfter.contentMatchesNonce ?? null,
    },
    // The UART and the power-off are judged on the boots that started an operating system (false when none did).
    serial: {
      everyBootOnUart: osStarted.length > 0 && osStarted.every((r) => r.serial.guestConsoleOnUart),
      everyBootFirmwareOrKernelAndCollector: osStarted.length > 0 && osStarted.every((r) => (r.serial.firmwareMessages || r.serial.kernelMessages) && r.serial.collectorMessages),
      osBoots: osStarted.length,
    },
    failedBoots: boots.filter((r) => r.failure !== null).map((r) => r.name),
    removableBoot: removableBoot(boots, template),
    // A reset boot is judged by `reset`: the host stops it once the VM has restarted.
    everyBootCleanExit: osStarted.some((r) => r.end === 'poweroff') && osStarted.every((r) => r.end === 'reset' || r.cleanExit),
    reset: {
      notExercised: resetBoot ? null : resetNotExercised ?? 'no boot ended with a reset: boot 1 gave no evidence, so boot 2 wrote the test variable and powered off instead',
      boot: resetBoot?.name ?? null,
      requested: resetBoot ? resetBoot.reset?.requested ?? false : null,
      vmRestarted: resetBoot ? resetBoot.reset?.restarted ?? false : null,
    },
    discovery: { boots: discovery, judged: discovery.length > 0 && discovery.every((d) => d.problems.length === 0) },
  };
}

/**
 * FW-6 from the host: the first boot the hypervisor ran whose store was a
 * fresh copy of the template (no store at all: volatile variables start
 * empty). With no OS started it is the image's doing only when the store
 * shows the firmware's boot manager ran (UEFI 2.6 §3.1: boot options it
 * created), which the host reads from edk2's layout only.
 */
function removableBoot(boots: HostBootRecord[], template: StoreTemplate): RemovableBootFacts {
  const preset = template === 'no store' ? [] : template === 'no UEFI firmware' ? null : template.bootVariables;
  if (template === 'no UEFI firmware') return { boot: null, presetBootVariables: preset, reachedOs: null, bootVariablesAfter: null };
  const fresh = boots.find((r) => r.varsStore !== 'same as the previous boot' && r.failure?.kind !== 'hypervisor-refused' && r.failure?.kind !== 'hypervisor-failed');
  if (!fresh) return { boot: null, presetBootVariables: preset, reachedOs: null, bootVariablesAfter: null };
  const after = fresh.varsFileAfter.bootVariables;
  const created = after !== null && after.some((v) => !(preset ?? []).includes(v));
  const reachedOs = fresh.failure === null || fresh.failure.kind === 'no-evidence' ? true : created ? false : null;
  return { boot: fresh.name, presetBootVariables: preset, reachedOs, bootVariablesAfter: after };
}
