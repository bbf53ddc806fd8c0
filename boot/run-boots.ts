import { copyFileSparse } from '../bytes/sparse-copy.js';
import { flashSized, padToFlash } from './firmware/flash-file.js';
import { openSysroot } from '../probes/sysroot/open.js';
import { throwIfCanceled } from './errors.js';
import { recordBoot } from './host-facts.js';
import type { TimedPhase } from './phase-timer.js';
import { describeBoot, type PlannedBoot } from './plan.js';
import { runQemu } from './qemu-run.js';
import { createEvidenceDisk } from './reference/evidence-disk.js';
import type { BootRecordOut, BootRunOptions } from './types.js';
import type { WorkDir } from './work-dir.js';

/**
 * The planned boots, one QEMU run each, in order: a VARS copy (or the
 * previous boot's file; none for a firmware without a store), a fresh
 * evidence disk told the phase and nonce, the cloud-init seed if any, then
 * QEMU until the guest powers off. QEMU is killed on cancel (SIGINT/SIGTERM
 * through `o.signal`) or timeout. Every boot is handed to the caller, a
 * failed one too (refused by the hypervisor, no OS started, no evidence:
 * `record.failure`, boot/boot-outcome.ts): its failure is a verdict
 * (boot/failed-boots.ts), and the next boot still runs.
 */

/** A boot that has ended; its evidence disk holds the collector's bundle unless `record.failure` says why not. */
export interface FinishedBoot {
  plan: PlannedBoot;
  /** describeBoot's name for it, e.g. "boot 1 (ACPI, GICv2)": the label of its evidence run. */
  label: string;
  /** `evidence` is null until the caller has read the evidence disk. */
  record: BootRecordOut;
  evidenceDisk: string;
  /** E.g. the collector's end line missed the serial log, but its bundle is on the evidence disk. */
  warnings: string[];
}

export async function* runBoots(plan: PlannedBoot[], o: BootRunOptions, run: { nonce: string; work: WorkDir; phase: TimedPhase }): AsyncGenerator<FinishedBoot> {
  const { nonce, work, phase } = run;
  const fw = o.env.firmware;
  // A raw image smaller than the virt machine's pflash (e.g. QEMU_EFI.fd, 2 MiB) is padded in a copy, as QEMU requires.
  const code = fw.varsTemplate !== undefined && (fw.codeFormat ?? 'raw') === 'raw' ? flashSized(fw.code, () => work.file('CODE.fd')) : fw.code;
  let vars: string | undefined;
  let written = false;
  for (const [i, planned] of plan.entries()) {
    throwIfCanceled(o.signal);
    // No boot wrote the test variable (the write boot failed): this one writes it, so no boot checks a variable never written,
    // and powers off, so the power-off is still shown (the reset is then not exercised).
    const b: PlannedBoot = planned.phase === 'check' && !written ? { name: planned.name, acpi: planned.acpi, gic: planned.gic, phase: 'write', vars: 'new' } : planned;
    const tag = `boot${i + 1}`;
    if (fw.varsTemplate !== undefined && b.vars !== 'same') {
      vars = work.file(`${tag}-VARS.fd`);
      copyFileSparse(fw.varsTemplate, vars);
      if ((fw.varsFormat ?? 'raw') === 'raw') padToFlash(vars);
    }
    const evidence = work.file(`${tag}-evidence.img`);
    createEvidenceDisk(evidence, { phase: b.phase, nonce, ...(b.end ? { end: b.end } : {}) });
    const serialLog = work.file(`${tag}-serial.log`);
    const seed = o.agent.kind === 'cloud-init' ? await o.agent.seed(work.path, b) : undefined;
    const label = describeBoot(b);
    const runner = o.runner ?? runQemu;
    const qemu = await phase(label, () => runner({
      image: o.image.path,
      imageFormat: o.image.format,
      ...(vars !== undefined ? { vars } : {}),
      firmware: { ...fw, code },
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
      ...(b.end ? { guestEnd: b.end } : {}),
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    }), (r) => (r.timedOut ? 'timed out' : r.stoppedAfterReset ? 'reset, VM restarted: stopped' : `QEMU exit ${r.exitCode ?? r.signal}`));
    throwIfCanceled(o.signal);
    const bundle = holdsBundle(evidence);
    const { record } = recordBoot(b, label, qemu, { serialLog, vars, bundleOnDisk: bundle, timeoutMs: o.timeoutMs }, nonce, o.varsFileFacts);
    const finished: FinishedBoot = { plan: b, label, record: { ...record, serialLog, evidence: null }, evidenceDisk: evidence, warnings: [] };
    if (b !== planned) finished.warnings.push(`${label} wrote the test variable instead of checking it${planned.end === 'reset' ? ' and powered off instead of resetting' : ''}: no earlier boot had written it, so persistence${planned.end === 'reset' ? ' and the reset are' : ' is'} not judged`);
    if (record.failure === null && b.phase === 'write') written = true;
    if (record.failure === null && record.serial.collectorExit === null) {
      // The guest may keep its console off the UART (console=tty0): the evidence disk still tells.
      finished.warnings.push(`${label}: the collector's VMSPEC-DONE line never reached the serial log (is the guest's console on another device?); its bundle on the evidence disk was used`);
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
