/**
 * The benchmark harness: a bench file (bench/*.bench.ts) measures and
 * returns rows; bench/run.ts prints them as one table. No assertion ever
 * fails on time: targets are judged and reported, never enforced.
 */

/** Repeated wall-clock samples of one thing, in milliseconds. */
export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

/** Why a route could not be measured on this machine (printed instead of a number). */
export interface Unavailable {
  unavailable: string;
}

export type Measurement = Timing | Unavailable;

/**
 * What a row is judged against: a multiple of the peer's median (ratio),
 * a fixed budget for vmspec's median (absolute), a multiple of the bytes a
 * baseline run read from its image (bytes-ratio: bytesRead.vmspec over
 * bytesRead.peer, the baseline's count), or nothing (informational).
 */
export type Target =
  | { kind: 'ratio'; max: number }
  | { kind: 'absolute'; maxMs: number }
  | { kind: 'bytes-ratio'; max: number; baseline: string }
  | { kind: 'none' };

export interface Row {
  what: string;
  vmspec: Measurement;
  peer?: { name: string; result: Measurement };
  target: Target;
  /** Bytes read from the image file: vmspec's, and the peer's, measured by strace. */
  bytesRead?: { vmspec: number | Unavailable; peer?: number | Unavailable };
  note?: string;
}

export interface BenchContext {
  /** Timed repetitions per measurement (interleaved across the commands compared). */
  rounds: number;
  /** Progress on stderr (the table goes to stdout). */
  log(message: string): void;
}

/** A bench file's default export. Add a file bench/NAME.bench.ts exporting one and run.ts picks it up. */
export interface Bench {
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

export function isTiming(m: Measurement): m is Timing {
  return 'medianMs' in m;
}

export function timingOf(samples: number[]): Timing {
  if (!samples.length) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs, minMs: sorted[0]!, runs: sorted.length };
}

/** vmspec's median over the peer's, when both were measured. */
export function ratioOf(row: Row): number | undefined {
  const p = row.peer?.result;
  if (!p || !isTiming(row.vmspec) || !isTiming(p) || p.medianMs === 0) return undefined;
  return row.vmspec.medianMs / p.medianMs;
}

/** Bytes vmspec read over the peer's (the baseline's), when both were counted. */
export function bytesRatioOf(row: Row): number | undefined {
  const b = row.bytesRead;
  if (!b || typeof b.vmspec !== 'number' || typeof b.peer !== 'number' || b.peer === 0) return undefined;
  return b.vmspec / b.peer;
}

export type Verdict = 'met' | 'missed' | '—';

export function verdictOf(row: Row): Verdict {
  const t = row.target;
  if (t.kind === 'bytes-ratio') {
    const r = bytesRatioOf(row);
    return r === undefined ? '—' : r <= t.max ? 'met' : 'missed';
  }
  if (t.kind === 'none' || !isTiming(row.vmspec)) return '—';
  if (t.kind === 'absolute') return row.vmspec.medianMs <= t.maxMs ? 'met' : 'missed';
  const r = ratioOf(row);
  return r === undefined ? '—' : r <= t.max ? 'met' : 'missed';
}

/** Time one synchronous action `rounds` times. */
export function timeSync(rounds: number, action: () => void): Timing {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    action();
    samples.push(performance.now() - t0);
  }
  return timingOf(samples);
}
