import { v8 } from './lazy-builtins.js';

/**
 * Holding V8's optimising compiler (TurboFan) off while the run waits on
 * work beside the main thread: an initrd's gunzip on the thread pool, or a
 * decompressor's own process. On a two-core machine TurboFan's background
 * compiles take the second core from that work (measured on the cloud
 * qcow2's verify: ~10 ms of compiles in the gunzip's window, which then
 * ended ~10 ms later), and a run that short never earns them back. Code
 * already optimised stays optimised; meanwhile functions run in V8's
 * interpreter and baseline tiers. A Node started with its own `--opt` /
 * `--no-opt` / `--turbofan` / `--no-turbofan` is left as it was.
 */

let holds = 0;

/** A flag on Node's command line or in NODE_OPTIONS that already says whether TurboFan runs. */
export function userChoseOptimiser(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) => /^--(no-)?(opt|turbofan)(=|$)/.test(a.replace(/_/g, '-')));
}

const leftAlone = (): boolean => userChoseOptimiser(process.execArgv, process.env.NODE_OPTIONS);

/**
 * Holds TurboFan off until the returned release is called (once; later
 * calls do nothing). Holds nest: it runs again when the last is released.
 */
export function holdOptimiser(): () => void {
  if (leftAlone()) return () => {};
  if (holds++ === 0) v8().setFlagsFromString('--no-opt');
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holds === 0) v8().setFlagsFromString('--opt');
  };
}

/** Whether a hold is in force (for tests and diagnostics). */
export function optimiserHeld(): boolean {
  return holds > 0;
}
