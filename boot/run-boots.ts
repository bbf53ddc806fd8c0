import { copyFileSync } from 'node:fs';
import { openSysroot } from '../probes/sysroot/open.js';
import { BootFailedError, throwIfCanceled } from './errors.js';
import { recordBoot } from './host-facts.js';
import type { TimedPhase } from './phase-timer.js';
import { describeBoot, type PlannedBoot } from './plan.js';
import { runQemu } from './qemu-run.js';
import { createEvidenceDisk } from './reference/evidence-disk.js';
import type { BootRecordOut, BootRunOptions } from './types.js';
import type { WorkDir } from './work-dir.js';

/**
 * The planned boots, one QEMU run each, in order: a VARS copy (or the
 * previous boot's file), a fresh evidence disk told the phase and nonce,
 * the cloud-init seed if any, then QEMU until the guest powers off. QEMU is
 * killed on cancel (SIGINT/SIGTERM through `o.signal`) or timeout. A boot
 * that hangs, fails or leaves no evidence throws BootFailedError and keeps
 * its serial log; otherwise it is handed to the caller, whose evaluation of
 * its evidence runs before the next boot starts.
 */

/** A boot that powered off with the collector's evidence on its disk. */
export interface FinishedBoot {
  plan: PlannedBoot;
  /** describeBoot's name for it, e.g. "boot 1 (ACPI, GICv2)": the label of its evidence run. */
  label: string;
  /** `evidence` is null until the caller has read the evidence disk. */
  record: BootRecordOut;
  evidenceDisk: string;
  /** The collector's end line missed the serial log, but its bundle is on the evidence disk. */
  warning?: string;
}

export async function* runBoots(plan: PlannedBoot[], o: BootRunOptions, run: { nonce: string; work: WorkDir; phase: TimedPhase }): AsyncGenerator<FinishedBoot> {
  const { nonce, work, phase } = run;
  let vars = '';
  for (const [i, b] of plan.entries()) {
    throwIfCanceled(o.signal);
    const tag = `boot${i + 1}`;
    if (b.vars !== 'same') {
      vars = work.file(`${tag}-VARS.fd`);
      copyFileSync(o.env.firmware.varsTemplate, vars);
    }
    const evidence = work.file(`${tag}-evidence.img`);
    createEvidenceDisk(evidence, { phase: b.phase, nonce });
    const serialLog = work.file(`${tag}-serial.log`);
    const seed = o.agent.kind === 'cloud-init' ? await o.agent.seed(work.path, b) : undefined;
    const label = describeBoot(b);
    const qemu = await phase(label, () => runQemu({
      image: o.image.path,
      imageFormat: o.image.format,
      vars,
      firmware: o.env.firmware,
      evidenceDisk: evidence,
      ...(seed ? { readOnlyDisks: [seed] } : {}),
      acpi: b.acpi,
      gic: b.gic,
      accel: o.env.accelerator,
      memoryMiB: o.memoryMiB,
      smp: o.cpus,
      timeoutMs: o.timeoutMs,
      serialLog,
      qemu: o.env.qemu.path,
      extraArgs: o.qemuArgs,
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    }), (r) => `QEMU exit ${r.exitCode ?? r.signal}`);
    throwIfCanceled(o.signal);
    const { record, consoleTail } = recordBoot(b, qemu, { serialLog, vars }, nonce, o.varsFileFacts);
    const finished: FinishedBoot = { plan: b, label, record: { ...record, serialLog, evidence: null }, evidenceDisk: evidence };
    if (qemu.timedOut) {
      work.keepSerialLogs();
      throw new BootFailedError(`${label}: no power-off within ${Math.round(o.timeoutMs / 1000)} s; QEMU was stopped`, serialLog, consoleTail);
    }
    if (qemu.exitCode !== 0) {
      work.keepSerialLogs();
      const qemuSaid = qemu.output.trim().split('\n').slice(-5).join('\n');
      throw new BootFailedError(`${label}: QEMU exited with ${qemu.exitCode ?? qemu.signal}${qemuSaid ? `: ${qemuSaid}` : ''}`, serialLog, consoleTail);
    }
    if (record.serial.collectorExit === null) {
      // The guest may keep its console off the UART (console=tty0): the evidence disk still tells.
      if (!holdsBundle(evidence)) {
        work.keepSerialLogs();
        throw new BootFailedError(`${label}: the guest powered off without the collector's VMSPEC-DONE line on the serial log, and the evidence disk holds no bundle`, serialLog, consoleTail);
      }
      finished.warning = `${label}: the collector's VMSPEC-DONE line never reached the serial log (is the guest's console on another device?); its bundle on the evidence disk was used`;
    }
    yield finished;
  }
}

/** The evidence disk starts with a bundle tar carrying its manifest (not just the blank disk's header). */
export function holdsBundle(disk: string): boolean {
  try {
    const s = openSysroot(disk);
    try {
      return s.manifest !== null && s.manifest !== undefined;
    } finally {
      s.close();
    }
  } catch {
    return false;
  }
}
