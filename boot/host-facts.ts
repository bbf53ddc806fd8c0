import type { DiscoveryRecord, HostBootFacts, HostBootRecord, VarsFileFacts } from '../probes/host/facts.js';
import type { PlannedBoot } from './plan.js';
import type { QemuRunResult } from './qemu-run.js';
import { readSerialLog, serialFacts, serialTail } from './serial-log.js';
import type { BootEnvironment, BootRecordOut } from './types.js';

/**
 * The host's own record of a `vmspec boot` run, which no guest can fake:
 * QEMU's exit, what reached the serial port, and the persistence nonce in
 * the instance's variable-store file after each power-off. It is the `boot`
 * input of the `host.boot` probe (probes/host/facts.ts), built only from
 * parsed values.
 */

/** One boot as the host saw it after QEMU exited; `consoleTail` is the serial log's last lines, for an error. */
export function recordBoot(
  b: PlannedBoot,
  run: QemuRunResult,
  files: { serialLog: string; vars: string },
  nonce: string,
  varsFileFacts: (varsPath: string, nonce: string) => VarsFileFacts,
): { record: HostBootRecord; consoleTail: string } {
  const log = readSerialLog(files.serialLog);
  const serial = serialFacts(log.text, log.bytes);
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
    varsFileAfter: varsFileFacts(files.vars, nonce),
  };
  return { record, consoleTail: serialTail(log.text) };
}

/** Every boot's record plus what they show together: whether the nonce written by one boot survived to the next. */
export function hostBootFacts(boots: BootRecordOut[], nonce: string, env: Pick<BootEnvironment, 'hypervisor' | 'accelerator'>, discovery: DiscoveryRecord[] = []): HostBootFacts {
  const write = boots.find((r) => r.phase === 'write');
  const check = boots.find((r) => r.phase === 'check');
  return {
    hypervisor: env.hypervisor,
    accelerator: env.accelerator,
    boots: boots.map(({ serialLog: _s, evidence: _e, ...r }) => r),
    persistence: {
      nonce,
      checked: Boolean(write && check),
      writtenToStore: write?.varsFileAfter.nonceVariable ?? 'unreadable',
      stillInStoreAfterCheck: check ? check.varsFileAfter.nonceVariable : null,
    },
    serial: { everyBootOnUart: boots.every((r) => r.serial.guestConsoleOnUart) },
    discovery: { boots: discovery, judged: discovery.length > 0 && discovery.every((d) => d.problems.length === 0) },
  };
}
