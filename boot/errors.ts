import { UnsupportedError } from '../bytes/errors.js';
import type { Result } from '../engine/results.js';

/** The ways a `vmspec boot` run stops before its report; `vmspec boot` maps each to its exit code. */

/** A mandatory image clause failed: booting would test the hypervisor with a broken image. */
export class ImageNotCompliantError extends UnsupportedError {
  constructor(readonly failures: Result[]) {
    super(
      `the image fails ${failures.length} mandatory clause(s), so booting it would judge the hypervisor with a broken image:\n` +
        failures.map((f) => `  ${f.id} (${f.ref.label}): ${f.message}`).join('\n'),
      'fix the image (see `vmspec verify IMAGE`), or boot it anyway with --force',
    );
  }
}

/**
 * The qcow2 chain's followed backing file cannot be opened: there is no disk
 * for QEMU to start (it would refuse every boot, and the hypervisor's clauses
 * would be blamed for it). `vmspec verify IMAGE --backing follow` judges it.
 */
export class DiskNotAssembledError extends UnsupportedError {
  constructor(path: string, reason: string) {
    super(
      `${path}: the disk the VM sees cannot be assembled, so no VM can boot from it: ${reason}`,
      'put the backing file there; `vmspec verify IMAGE --backing follow` reports this as the image\'s V2-IMG-CONTAINER failure',
    );
  }
}

export class BootCanceledError extends Error {
  constructor(readonly signalName: string) {
    super(`interrupted by ${signalName}: QEMU was stopped and temporary files removed`);
  }
}

/** Between phases: a signal that arrived during synchronous work (verify, evaluation) stops the run here. */
export function throwIfCanceled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BootCanceledError(String(signal.reason ?? 'SIGINT'));
}
