import { verdictOf } from './results.js';
import { applyWaivers, type RunWithWaivers, type Waiver } from './waivers.js';

/**
 * A run's final verdict, decided here and nowhere else for verify, boot and
 * report render/merge alike: waivers applied (when given), then summary and
 * exit code from the final statuses. Key order is kept, so results JSON
 * reads as before; the input run is not modified.
 */
export function finishRun<R extends RunWithWaivers>(run: R, waivers: readonly Waiver[] | undefined, now: Date): R {
  const waived = (waivers ? applyWaivers(run, [...waivers], now) : run) as R;
  return { ...waived, ...verdictOf(waived.results) };
}
