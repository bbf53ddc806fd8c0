import type { PhaseEvent } from './types.js';

/** Runs one named step of a boot run, telling `onPhase` when it starts and how it ended, with its duration. */
export type TimedPhase = <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string) => Promise<T>;

export function phaseTimer(onPhase: ((event: PhaseEvent) => void) | undefined): TimedPhase {
  return async (name, fn, detail) => {
    const s = performance.now();
    onPhase?.({ phase: name, state: 'start' });
    try {
      const v = await fn();
      onPhase?.({ phase: name, state: 'done', ms: Math.round(performance.now() - s), ...(detail ? { detail: detail(v) } : {}) });
      return v;
    } catch (e) {
      onPhase?.({ phase: name, state: 'failed', ms: Math.round(performance.now() - s) });
      throw e;
    }
  };
}
