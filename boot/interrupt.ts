/**
 * SIGINT/SIGTERM while `vmspec boot` runs: the first one aborts the run
 * (QEMU is stopped and awaited, then the work directory removed); later ones
 * only say that cleanup is under way, so a second Ctrl-C cannot cut the
 * cleanup short. Cleanup is bounded: QEMU gets SIGTERM, then SIGKILL 3 s later.
 *
 * The listeners are plain `process.on` ones, held until `dispose()`, on
 * purpose. execa (via signal-exit 4) and ora (via restore-cursor) add their
 * own SIGINT/SIGTERM listeners, and signal-exit re-raises the signal with the
 * default action (killing the process before any cleanup) whenever, as its
 * listener runs, the only listeners left are its own. A `process.once`
 * listener registered before it removes itself before signal-exit runs, so
 * it must not be used here.
 */

export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

/** Exit codes of an interrupted run, as a shell reports death by the signal (128 + signal number). */
export const INTERRUPT_EXIT: Record<InterruptSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export interface InterruptGuard {
  /** Aborted with the first signal's name as its reason. */
  signal: AbortSignal;
  /** Stop listening (after cleanup): later signals take their default action again. */
  dispose(): void;
}

export function guardInterrupts(say: (message: string) => void): InterruptGuard {
  const controller = new AbortController();
  let repeatsTold = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      controller.abort(sig);
      return;
    }
    if (repeatsTold) return;
    repeatsTold = true;
    say(`${sig} while cleaning up: still stopping QEMU and removing temporary files (a few seconds at most)`);
  };
  for (const sig of INTERRUPT_SIGNALS) process.on(sig, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const sig of INTERRUPT_SIGNALS) process.off(sig, onSignal);
    },
  };
}

/** The exit code for an abort reason set by guardInterrupts. */
export function interruptExitCode(reason: unknown): number {
  return reason === 'SIGTERM' ? INTERRUPT_EXIT.SIGTERM : INTERRUPT_EXIT.SIGINT;
}
