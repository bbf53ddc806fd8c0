import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type t from 'tap';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { cacheRoot } from '../fixtures/cache.js';
import { applyMutations, caseArbitrary, type FuzzCase, type Seed } from './mutation.js';
import { Watchdog } from './watchdog.js';

/**
 * The fuzz harness every parser family shares. A target says how to get
 * real seed inputs and how to run its parser on bytes; the harness feeds
 * it mutated seeds and random bytes (fast-check, fixed seed) and checks,
 * for every case:
 *
 * - the parser returns, or throws ParseError / UnsupportedError (or an
 *   error class the target declares typed), never a RangeError, a
 *   TypeError or anything else; a ParseError carries an integer offset
 *   (>= -1) and a message without "undefined"/"NaN"/"[object";
 * - it does not modify its input;
 * - it finishes within `timeBoundMs` (measured), and a watchdog thread
 *   kills the run if a case never finishes (an endless loop);
 * - ArrayBuffer memory grows by less than `memoryBoundBytes` during the
 *   case, so no allocation follows a claimed length.
 *
 * VMSPEC_FUZZ_RUNS=N runs N cases per target (nightly), VMSPEC_FUZZ_SEED
 * changes the seed. A failing case is shrunk, saved as JSON under
 * .cache/fuzz/failures/ and printed: copy it to test/fixtures/regressions/
 * (adding "bug") and regressions.test.ts replays it for good.
 */

export interface FuzzTarget {
  /** Unique name; regression files refer to it. */
  name: string;
  /** Real inputs (fixture builders run real tools; cached). Called once per run. */
  seeds(): Seed[];
  /** Run the parser on `bytes` the way the product does; return anything, or throw. */
  run(bytes: Uint8Array): unknown;
  /** Re-seal checksums (CRC, tar header sum) after mutating, so mutations get past the first check. */
  fixup?(bytes: Uint8Array): void;
  /** Error classes its callers handle besides ParseError/UnsupportedError (e.g. FsError for paths). */
  alsoTyped?(e: unknown): boolean;
  /** Cases per CI run. */
  runs: number;
  /** Longest fully random input (default 4096). */
  randomMaxLength?: number;
  /** Share of fully random cases, out of 10 (default 2). */
  randomWeight?: number;
  /** Per-case time bound (default 2000 ms). */
  timeBoundMs?: number;
  /** Per-case ArrayBuffer growth bound (default 128 MiB). */
  memoryBoundBytes?: number;
}

export type OutcomeKind = 'ok' | 'ParseError' | 'UnsupportedError' | 'typed';

export interface Outcome {
  kind: OutcomeKind;
  /** The error message, for typed errors. */
  message?: string;
  ms: number;
  arrayBuffers: number;
}

const DEFAULT_TIME_BOUND_MS = 2000;
const DEFAULT_MEMORY_BOUND = 128 * 1024 * 1024;
/** A case still running after this is an endless loop, not a slow case. */
const HANG_MS = 30_000;
export const DEFAULT_FUZZ_SEED = 0x5eedf022;
export const failureDir = join(cacheRoot, '..', 'fuzz', 'failures');

/** Bytes of a case for `target` (seeds looked up by name). */
export function caseBytes(c: FuzzCase, seeds: readonly Seed[]): Uint8Array {
  if ('random' in c) return new Uint8Array(Buffer.from(c.random, 'hex'));
  const seed = seeds.find((s) => s.name === c.seed);
  if (!seed) throw new Error(`fuzz case names seed "${c.seed}", which the target no longer has (seeds: ${seeds.map((s) => s.name).join(', ')})`);
  return applyMutations(seed.bytes, c.mutations);
}

/** Bytes of a case with the target's fixup applied when the case asks for it. */
export function materialize(target: FuzzTarget, c: FuzzCase, seeds: readonly Seed[]): Uint8Array {
  const bytes = caseBytes(c, seeds);
  if (!('random' in c) && c.fixup) target.fixup?.(bytes);
  return bytes;
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return `non-Error thrown: ${String(e)}`;
}

/**
 * Run one input through the target and judge it. Returns the outcome;
 * throws an Error naming the violated property otherwise.
 */
export function checkCase(target: FuzzTarget, bytes: Uint8Array): Outcome {
  const before = bytes.slice();
  const mem0 = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  let kind: OutcomeKind = 'ok';
  let message: string | undefined;
  try {
    target.run(bytes);
  } catch (e) {
    if (e instanceof ParseError) {
      kind = 'ParseError';
      if (!Number.isInteger(e.offset) || e.offset < -1) throw new Error(`ParseError offset ${e.offset} is not an integer >= -1: ${e.message}`);
      if (typeof e.structure !== 'string' || e.structure === '') throw new Error(`ParseError without a structure: ${e.message}`);
    } else if (e instanceof UnsupportedError) kind = 'UnsupportedError';
    else if (target.alsoTyped?.(e)) kind = 'typed';
    else throw new Error(`untyped error escaped: ${describe(e)}`);
    message = (e as Error).message;
    if (message.trim() === '') throw new Error(`${kind} with an empty message`);
    if (/\bundefined\b|\bNaN\b|\[object /.test(message)) throw new Error(`${kind} message shows a missing value: ${message}`);
  }
  const ms = performance.now() - t0;
  const arrayBuffers = process.memoryUsage().arrayBuffers - mem0;
  if (Buffer.compare(before, bytes) !== 0) throw new Error('the parser modified its input');
  const bound = target.timeBoundMs ?? DEFAULT_TIME_BOUND_MS;
  if (ms > bound) throw new Error(`took ${ms.toFixed(0)} ms, over the ${bound} ms bound (${kind}${message ? `: ${message}` : ''})`);
  const memBound = target.memoryBoundBytes ?? DEFAULT_MEMORY_BOUND;
  if (arrayBuffers > memBound) throw new Error(`ArrayBuffer memory grew by ${arrayBuffers} bytes, over the ${memBound}-byte bound`);
  return message === undefined ? { kind, ms, arrayBuffers } : { kind, message, ms, arrayBuffers };
}

export interface FuzzStats {
  cases: number;
  counts: Record<OutcomeKind, number>;
  /** Distinct error messages with digits blanked: how many different rejections the inputs reached. */
  distinctErrors: number;
  slowestMs: number;
  maxArrayBuffers: number;
  totalMs: number;
}

/** Positive integer from the environment, or the default. */
function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative integer`);
  return n;
}

/** The `t` a subtest callback receives. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/**
 * Fuzz one target under `t`: the properties above on `target.runs` cases
 * (or VMSPEC_FUZZ_RUNS). Prints counts and time as tap comments; fails
 * with the shrunk case and where it was saved.
 */
export function fuzz(t: Tap, target: FuzzTarget, seeds: Seed[] = target.seeds()): FuzzStats {
  const runs = envInt('VMSPEC_FUZZ_RUNS', target.runs);
  const seed = envInt('VMSPEC_FUZZ_SEED', DEFAULT_FUZZ_SEED);
  const stats: FuzzStats = { cases: 0, counts: { ok: 0, ParseError: 0, UnsupportedError: 0, typed: 0 }, distinctErrors: 0, slowestMs: 0, maxArrayBuffers: 0, totalMs: 0 };
  const messages = new Set<string>();
  const watchdog = new Watchdog(HANG_MS, join(failureDir, `hang-${target.name}.json`));
  const arb = caseArbitrary(seeds, { randomMaxLength: target.randomMaxLength ?? 4096, randomWeight: target.randomWeight ?? 2, canFixup: target.fixup !== undefined });
  const t0 = performance.now();
  let shrinking = false;
  const result = fc.check(
    fc.property(arb, (c) => {
      const bytes = materialize(target, c, seeds);
      watchdog.begin(JSON.stringify({ target: target.name, ...c }));
      try {
        const o = checkCase(target, bytes);
        if (!shrinking) {
          stats.cases++;
          stats.counts[o.kind]++;
          if (o.message) messages.add(o.message.replace(/\d+/g, '#'));
          stats.slowestMs = Math.max(stats.slowestMs, o.ms);
          stats.maxArrayBuffers = Math.max(stats.maxArrayBuffers, o.arrayBuffers);
        }
      } catch (e) {
        shrinking = true;
        throw e;
      } finally {
        watchdog.end();
      }
    }),
    { seed, numRuns: runs },
  );
  void watchdog.stop();
  stats.totalMs = performance.now() - t0;
  stats.distinctErrors = messages.size;
  const c = stats.counts;
  t.comment(`fuzz ${target.name}: ${stats.cases} cases in ${(stats.totalMs / 1000).toFixed(1)} s (seed ${seed}): ok ${c.ok}, ParseError ${c.ParseError}, UnsupportedError ${c.UnsupportedError}${c.typed ? `, other typed ${c.typed}` : ''}; ${stats.distinctErrors} distinct errors; slowest ${stats.slowestMs.toFixed(0)} ms; max ArrayBuffer growth ${(stats.maxArrayBuffers / 1024 / 1024).toFixed(1)} MiB`);
  if (result.failed) {
    const example = result.counterexample?.[0];
    const record = { target: target.name, ...(example ?? {}), error: String(result.errorInstance instanceof Error ? result.errorInstance.message : result.error) };
    const json = JSON.stringify(record, null, 1);
    mkdirSync(failureDir, { recursive: true });
    const file = join(failureDir, `${target.name}-${createHash('sha256').update(json).digest('hex').slice(0, 8)}.json`);
    writeFileSync(file, json);
    t.fail(`fuzz ${target.name}: a case broke a property (seed ${result.seed}, path ${result.counterexamplePath}). Saved to ${file}; copy it to test/fixtures/regressions/ with a "bug" note to replay it.\n${json.slice(0, 4000)}`);
  } else {
    t.pass(`fuzz ${target.name}: ${stats.cases} cases kept every property`);
  }
  return stats;
}

export type { FuzzCase, Mutation, Seed, Field } from './mutation.js';
