/**
 * Milliseconds on a monotonic clock, for a run's and each result's duration.
 * Not `performance.now()`: the global `performance` loads node:perf_hooks on
 * first use, ~1–2 ms of every `vmspec verify` start.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
