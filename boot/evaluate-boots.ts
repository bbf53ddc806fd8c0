import { select } from '../engine/select.js';
import type { Result, RunResults } from '../engine/results.js';
import { verify, type EvidenceInfo } from '../engine/verify.js';
import { isExpired, waiverMatchesId, type Waiver } from '../engine/waivers.js';
import type { LabelledRun } from './combine.js';
import { DiskNotAssembledError, ImageNotCompliantError } from './errors.js';
import { openDisk } from '../probes/image/open-disk.js';
import type { TimedPhase } from './phase-timer.js';
import type { FinishedBoot } from './run-boots.js';
import type { BootRunOptions } from './types.js';

/**
 * The runs of the selection that a boot run combines, each with the input
 * it judges: the image itself (before any boot), then each boot's evidence
 * disk. The third, the host's record, is evaluated in runBoot.
 */

export interface ImageCheck {
  run: RunResults & { warnings?: string[] };
  /** Mandatory image clauses that failed (and are not waived): the run stops on them unless --force. */
  mandatoryFailures: Result[];
}

/** Static verify of the image (and the guest clauses its root filesystem decides). */
export async function checkImage(o: BootRunOptions, phase: TimedPhase): Promise<ImageCheck> {
  const disk = openDisk(o.image.path, { backing: o.backing ?? 'refuse' });
  const assembled = disk.virtualDisk;
  disk.close();
  if (!assembled.complete) throw new DiskNotAssembledError(o.image.path, assembled.reason);
  const run = await phase('verify image', () =>
    verify({ spec: o.spec, selection: o.selection, requirements: select(o.spec.requirements, o.selection), image: o.image.path, backing: o.backing ?? 'refuse', ...(o.waivers ? { waivers: o.waivers } : {}) }),
  (r) => `${r.summary.pass} pass, ${r.summary.fail} fail`);
  const mandatoryFailures = run.results.filter((r) => r.status === 'fail' && r.mandatory && r.target === 'image' && !waivedByFile(r.id, o.waivers));
  if (mandatoryFailures.length && !o.force) throw new ImageNotCompliantError(mandatoryFailures);
  return { run, mandatoryFailures };
}

/** One boot's evidence disk, judged as `vmspec verify --evidence` would; `info` is what the results record of it. */
export async function evaluateEvidence(boot: FinishedBoot, o: BootRunOptions, phase: TimedPhase): Promise<{ run: LabelledRun; info: EvidenceInfo }> {
  const evidenceRun = await phase(`${boot.plan.name}: evaluate evidence`, () =>
    // The image too: guest clauses of an image whose root vmspec cannot read are decided by the kernel this boot ran.
    verify({ spec: o.spec, selection: o.selection, image: o.image.path, backing: o.backing ?? 'refuse', requirements: select(o.spec.requirements, o.selection), evidence: boot.evidenceDisk, ...(o.waivers ? { waivers: o.waivers } : {}) }));
  return {
    run: { label: boot.label, results: evidenceRun.results },
    info: { ...evidenceRun.evidence!, path: o.keep ? boot.evidenceDisk : `${boot.plan.name} evidence disk (removed; --keep keeps it)` },
  };
}

/** An unexpired waiver covers the clause: the static check must not stop on it (the report shows it waived). */
function waivedByFile(id: string, waivers: Waiver[] | undefined): boolean {
  const now = new Date();
  return (waivers ?? []).some((w) => waiverMatchesId(w, id) && !isExpired(w, now));
}
