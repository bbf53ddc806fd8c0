import type { Json } from '../probes/types.js';
import type { ClauseRef, Expectation, Level, Requirement, TargetKind } from '../requirements/requirement.js';
import type { Mismatch } from '../requirements/expect.js';
import type { SpecSet } from '../requirements/spec-load.js';
import { TOOL_VERSION } from '../package/version.js';
import { monotonicMs } from './clock.js';

/**
 * Every verdict a clause can get. `skip`: not applicable (its `when` does not
 * hold, or the inputs given cannot show its target at all). `undecided`: it
 * applies, but its input was missing or unreadable, so it was not judged
 * (added after the first six; results JSON written before it never holds it).
 */
export const STATUSES = ['pass', 'fail', 'skip', 'error', 'waived', 'manual', 'undecided'] as const;
export type Status = (typeof STATUSES)[number];

/** The verdict on one requirement (schema/results.schema.json#/properties/results/items). */
export interface Result {
  id: string;
  ref: ClauseRef;
  level: Level;
  mandatory: boolean;
  target: TargetKind;
  title: string;
  status: Status;
  message: string;
  probe: string | null;
  params?: { [key: string]: Json };
  observed: Json;
  expected: { needs?: Expectation[]; when?: Expectation[]; expect?: Expectation[] } | null;
  mismatches?: Mismatch[];
  manual?: string;
  remediation?: string;
  durationMs?: number;
}

export type Summary = Record<Status, number>;

export interface TargetInfo {
  kind: 'image' | 'evidence' | 'live' | 'boot' | 'none';
  path: string | null;
  format: string | null;
  size: number | null;
  sha256: string | null;
}

export interface Selection {
  profile: string | null;
  only: string[];
  section: string[];
  level: string[];
  target: string[];
  tags: string[];
  /**
   * Set when no selection option was given and the default applied: the
   * input kinds (image, evidence, boot) whose observable clauses were selected
   * (engine/select.ts `observableFrom`). Absent: the options above decided.
   */
  observableFrom?: ('image' | 'evidence' | 'boot')[];
}

/** A whole run: the results JSON contract (extend, never break). */
export interface RunResults {
  schemaVersion: 1;
  tool: { name: 'vmspec'; version: string };
  spec: { id: string; title: string; version: string; sha256: string; path: string };
  selection: Selection;
  target: TargetInfo;
  startedAt: string;
  durationMs: number;
  summary: Summary;
  exitCode: ExitCode;
  results: Result[];
}

/**
 * Documented exit codes (README, `vmspec --help`). `undecided` (4): nothing
 * mandatory failed and every probe ran, but a mandatory clause could not be
 * decided, so the run cannot be read as compliant. 4 is the next free code,
 * below the shell's 126+ and the 130/143 of a signal.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, probeError: 3, undecided: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function summarise(results: Result[]): Summary {
  const s: Summary = { pass: 0, fail: 0, skip: 0, error: 0, waived: 0, manual: 0, undecided: 0 };
  for (const r of results) s[r.status]++;
  return s;
}

/**
 * 1 when a mandatory clause failed; else 3 when any probe errored; else 4
 * when a mandatory clause is undecided; else 0. Like a failure, an undecided
 * SHOULD or MAY clause is reported but does not change the exit code.
 */
export function exitCodeFor(results: Result[]): ExitCode {
  if (results.some((r) => r.status === 'fail' && r.mandatory)) return EXIT.failed;
  if (results.some((r) => r.status === 'error')) return EXIT.probeError;
  if (results.some((r) => r.status === 'undecided' && r.mandatory)) return EXIT.undecided;
  return EXIT.ok;
}

/** A run's verdict from its final statuses: the summary and the exit code (engine/finish.ts decides when). */
export function verdictOf(results: Result[]): { summary: Summary; exitCode: ExitCode } {
  return { summary: summarise(results), exitCode: exitCodeFor(results) };
}

/** A result for a requirement before any probe ran: identity, clause, expectations, no observations. */
export function resultShell(req: Requirement, status: Status, message: string): Result {
  return {
    id: req.id,
    ref: req.ref,
    level: req.level,
    mandatory: req.mandatory,
    target: req.target,
    title: req.title,
    status,
    message,
    probe: req.probe ?? null,
    ...(req.probe ? { params: req.params } : {}),
    observed: null,
    expected: req.expect ? { ...(req.needs ? { needs: req.needs } : {}), ...(req.when ? { when: req.when } : {}), expect: req.expect } : null,
    ...(req.manual ? { manual: req.manual } : {}),
    ...(req.remediation ? { remediation: req.remediation } : {}),
  };
}

/** The results envelope of a run over `results` (verify and boot alike). */
export function runResults<R extends Result>(o: { spec: SpecSet; selection: Selection; target: TargetInfo; startedAt: Date; startedMs: number; results: R[] }): RunResults & { results: R[] } {
  return {
    schemaVersion: 1,
    tool: { name: 'vmspec', version: TOOL_VERSION },
    spec: { id: o.spec.id, title: o.spec.title, version: o.spec.version, sha256: o.spec.sha256, path: o.spec.dir },
    selection: o.selection,
    target: o.target,
    startedAt: o.startedAt.toISOString(),
    durationMs: Math.round(monotonicMs() - o.startedMs),
    ...verdictOf(o.results),
    results: o.results,
  };
}
