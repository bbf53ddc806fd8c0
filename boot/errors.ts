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

export class BootCanceledError extends Error {
  constructor(readonly signalName: string) {
    super(`interrupted by ${signalName}: QEMU was stopped and temporary files removed`);
  }
}

/** Between phases: a signal that arrived during synchronous work (verify, evaluation) stops the run here. */
export function throwIfCanceled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BootCanceledError(String(signal.reason ?? 'SIGINT'));
}
