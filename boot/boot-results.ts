import { runResults, type Result, type TargetInfo } from '../engine/results.js';
import type { CombinedResult } from './combine.js';
import type { ImageCheck } from './evaluate-boots.js';
import type { BootRecordOut, BootRunOptions, BootRunResults } from './types.js';

/**
 * The results document of a boot run: the combined verdicts plus the
 * environment (QEMU, accelerator, firmware) and the boots themselves. Paths
 * of files the cleanup removed are replaced by words saying so.
 */
export function bootRunResults(o: BootRunOptions, run: {
  startedAt: Date;
  startedMs: number;
  image: ImageCheck;
  results: CombinedResult[];
  nonce: string;
  workDir: string;
  boots: BootRecordOut[];
  bootWarnings: string[];
}): BootRunResults {
  const target: TargetInfo & { hypervisor: string } = { ...run.image.run.target, kind: 'boot', hypervisor: o.env.hypervisor };
  const { code, varsTemplate, ...fwRest } = o.env.firmware;
  const imageFailures: Result[] = run.image.mandatoryFailures;
  const warnings = [...(run.image.run.warnings ?? []), ...run.bootWarnings];
  if (imageFailures.length) warnings.push(`booted with --force although the image fails ${imageFailures.map((f) => f.id).join(', ')}`);
  return {
    ...runResults({ spec: o.spec, selection: o.selection, target, startedAt: run.startedAt, startedMs: run.startedMs, results: run.results }),
    environment: { hypervisor: o.env.hypervisor, qemu: o.env.qemu, accelerator: o.env.accelerator, firmware: { ...fwRest, code, ...(varsTemplate !== undefined ? { varsTemplate } : {}) }, machine: { memoryMiB: o.memoryMiB, cpus: o.cpus, qemuArgs: o.qemuArgs } },
    boot: {
      image: o.image,
      nonce: run.nonce,
      workDir: o.keep ? run.workDir : null,
      boots: run.boots.map((r) => ({ ...r, serialLog: o.keep ? r.serialLog : `${r.name} serial log (removed; --keep keeps it)` })),
      staticCheck: { mandatoryImageFailures: imageFailures.map((f) => f.id), forced: imageFailures.length > 0 },
    },
    ...(warnings.length ? { warnings } : {}),
  };
}
