import type { JSONSchemaType } from 'ajv';
import type { FactSchema } from './facts-schema.js';
import type { DiskImage } from './image/disk.js';
import type { Sysroot } from './sysroot/types.js';
import type { HostBootFacts } from './host/facts.js';

/** Plain JSON facts a probe reports: no verdicts, no class instances. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Facts = { [key: string]: Json };

/** What a probe reads. A requirement whose probe's input is not given is skipped with that reason. */
export type ProbeInputKind = 'image' | 'evidence' | 'boot';

/**
 * Per-run memo: parsers' results shared between probes (the GPT is read once
 * however many clauses look at it). Keys are namespaced by the caller.
 */
export class Memo {
  #values = new Map<string, unknown>();
  get<T>(key: string, compute: () => T): T {
    if (this.#values.has(key)) return this.#values.get(key) as T;
    const value = compute();
    this.#values.set(key, value);
    return value;
  }
  /** Whether `key` was computed. */
  has(key: string): boolean {
    return this.#values.has(key);
  }
}

/** The things a run was given to look at. Absent members were not given. */
export interface ProbeInputs {
  image?: DiskImage;
  /** In-guest evidence: a bundle (directory or tar) or the live system, read through a Sysroot. */
  evidence?: Sysroot;
  /** The host's record of a `vmspec boot` run. */
  boot?: HostBootFacts;
  memo: Memo;
}

/** A JSON Schema (draft 2020-12 subset ajv understands). Kept loose: probes declare, lint checks. */
export type Schema = { [key: string]: unknown };

/** What a probe's `run` is given: the run's inputs (those not given are absent) and the memo. */
export type RunInputs = Required<Pick<ProbeInputs, 'memo'>> & ProbeInputs;

declare const DEFINED: unique symbol;

/**
 * A probe observes and never judges. It declares the parameters it takes
 * and the facts it can produce (both JSON Schemas, probes/facts-schema.ts):
 * `spec lint` checks every requirement's params and expect paths against
 * them, and tests validate real probe output against `facts`. Made only by
 * `defineProbe`, which ties `run`'s return type to the `facts` schema.
 */
export interface Probe<P extends Facts = Facts> {
  /** Stable dotted name used in YAML (`probe: image.gpt`). */
  readonly name: string;
  /** One line: what the probe reads and reports. */
  readonly summary: string;
  readonly input: ProbeInputKind;
  readonly params: Schema;
  readonly facts: Schema;
  run(inputs: RunInputs, params: P): Facts | Promise<Facts>;
  /** See ProbeDefinition.prepare. */
  prepare?(inputs: RunInputs, params: P): void | Prepared;
  readonly [DEFINED]: true;
}

/** A probe as written: `run` must return exactly what `facts` describes (FactsOf<typeof facts>). */
export interface ProbeDefinition<F extends Facts> {
  readonly name: string;
  readonly summary: string;
  readonly input: ProbeInputKind;
  readonly params: FactSchema<Facts>;
  /** Built with probes/facts-schema.ts: a hand-written object has no facts type, and is refused. */
  readonly facts: FactSchema<F> & (Facts extends F ? { 'facts must be built with probes/facts-schema.ts': never } : unknown);
  run(inputs: RunInputs, params: Facts): NoInfer<F> | Promise<NoInfer<F>>;
  /**
   * Optional: starts slow work that runs off the main thread (decompression
   * on the thread pool) and that `run` will await through the memo, so it
   * overlaps the probes evaluated before this one; it may also do early,
   * through the memo, main-thread work of `run` that does not wait for it,
   * so that little is left when it ends. The engine calls it for every
   * selected requirement before evaluating any; it reports nothing, and
   * whatever it throws is ignored (`run` meets the same failure and reports
   * it). It may return what it still has under way (Prepared).
   */
  prepare?(inputs: RunInputs, params: Facts): void | Prepared;
}

/**
 * What a probe's prepare step still has under way; both promises settle
 * and never reject (failures reach the probe's run).
 */
export interface Prepared {
  /** Main-thread work to finish before any clause is evaluated (a file read in parts, each part handed to the thread pool as it is read); awaited. */
  ready?: Promise<void>;
  /**
   * Work still being handed to the thread pool in turns of the event loop:
   * until it settles the engine gives one turn between clauses, which
   * synchronous probes would not give.
   */
  handing?: Promise<void>;
}

export function defineProbe<F extends Facts>(definition: ProbeDefinition<F>): Probe {
  return definition as unknown as Probe;
}

export type { JSONSchemaType };
