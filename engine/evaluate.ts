import { ParseError, UnsupportedError } from '../bytes/errors.js';
import { probeEntry, type ProbeEntry } from '../probes/table.js';
import { Memo, type Facts, type Json, type Prepared, type ProbeInputKind, type ProbeInputs } from '../probes/types.js';
import { describe, match } from '../requirements/expect.js';
import type { Requirement } from '../requirements/requirement.js';
import { SHOWS } from './select.js';
import { resultShell, type Result } from './results.js';
import { idsNotToRun, notRunResult, type Waiver, type WaiverScope } from './waivers.js';
import { monotonicMs } from './clock.js';

/** What the user must give for a probe of each input kind, for skip messages. */
const NEEDS: Record<ProbeInputKind, string> = {
  image: 'needs a disk image (vmspec verify IMAGE)',
  evidence: 'needs in-guest evidence (vmspec verify --evidence BUNDLE, or --live inside the guest)',
  boot: 'needs the host side of a boot (vmspec boot): what the hypervisor showed from outside the guest',
};

/*
 * A clause whose probe's input was not given is undecided when the inputs
 * given show its target (it applies, but was not judged: `--target guest`
 * with only evidence), and not applicable (`skip`) when they cannot.
 */

/** The input kinds given to a run. */
export function givenInputs(inputs: Partial<Record<ProbeInputKind, unknown>>): ProbeInputKind[] {
  return (['image', 'evidence', 'boot'] as const).filter((k) => inputs[k] !== undefined && inputs[k] !== null);
}

type Outcome = { ok: true; facts: Facts } | { ok: false; message: string; undecided: boolean };

/**
 * Evaluate requirements against what was given. Probes run once per
 * (name, params) and their facts are shared; a probe failure becomes an
 * `error` result with a one-line reason, never a stack trace. `probes`
 * finds a probe by name (the probe table; tests give their own).
 */
export async function evaluate(
  requirements: Requirement[],
  inputs: Omit<ProbeInputs, 'memo'> & { memo?: Memo },
  probes: (name: string) => ProbeEntry | undefined = probeEntry,
): Promise<Result[]> {
  const memo = inputs.memo ?? new Memo();
  const given: ProbeInputs = { ...inputs, memo };
  const runs = new Map<string, Promise<Outcome>>();
  const handing = await prepare(requirements, given, probes);
  const results: Promise<Result>[] = [];
  for (const req of requirements) {
    // Prepared work still being handed over (a file read in parts) moves on only in turns of the event loop,
    // which synchronous probes do not give: one between clauses.
    if (handing.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const started = monotonicMs();
    // Not awaited before the next clause starts: a probe waiting on the thread pool (an initrd's gunzip) lets the
    // clauses after it be judged meanwhile. Each clause's result depends only on its own probe's facts.
    const result = evaluateOne(req, given, runs, probes).then((r) => {
      r.durationMs = Math.round((monotonicMs() - started) * 1000) / 1000;
      return r;
    });
    results.push(result);
  }
  return Promise.all(results);
}

/**
 * Lets each probe that will run start its slow off-thread work first
 * (Probe.prepare), once per (name, params). Returns the preparations still
 * handing work over; each leaves the set when it settles.
 */
async function prepare(requirements: Requirement[], inputs: ProbeInputs, probes: (name: string) => ProbeEntry | undefined): Promise<Set<Promise<void>>> {
  const handing = new Set<Promise<void>>();
  const prepared = new Set<string>();
  for (const req of requirements) {
    if (!isAutomated(req)) continue;
    const entry = probes(req.probe);
    if (!entry || !inputs[entry.input]) continue;
    const key = `${req.probe}\0${JSON.stringify(req.params)}`;
    if (prepared.has(key)) continue;
    prepared.add(key);
    const probe = await entry.load();
    let started: Prepared | void;
    try {
      started = probe.prepare?.(inputs, req.params);
    } catch {
      continue; // Ignored: the probe's run meets the same failure and reports it.
    }
    if (started?.ready) await started.ready.catch(() => {});
    if (started?.handing) {
      const settled: Promise<void> = started.handing.catch(() => {}).then(() => void handing.delete(settled));
      handing.add(settled);
    }
  }
  return handing;
}

/** A clause the engine judges: not manual, with a probe and an expectation. */
function isAutomated(req: Requirement): req is Requirement & { probe: string; expect: NonNullable<Requirement['expect']> } {
  return req.manual === undefined && Boolean(req.probe) && Boolean(req.expect);
}

async function evaluateOne(req: Requirement, inputs: ProbeInputs, runs: Map<string, Promise<Outcome>>, probes: (name: string) => ProbeEntry | undefined): Promise<Result> {
  if (!isAutomated(req)) {
    return resultShell(req, 'manual', `check by hand: ${firstLine(req.manual ?? 'no automated probe')}`);
  }
  const entry = probes(req.probe);
  if (!entry) return resultShell(req, 'error', `unknown probe "${req.probe}" (run \`vmspec spec lint\`)`);
  // Decided before loading: a probe whose input was not given is never loaded.
  if (!inputs[entry.input]) {
    // The host's record is one part of a boot, never given alone: it makes no missing image or evidence owed.
    const shown = givenInputs(inputs).some((k) => k !== 'boot' && SHOWS[k].includes(req.target));
    return resultShell(req, shown ? 'undecided' : 'skip', NEEDS[entry.input]);
  }
  const probe = await entry.load();

  const key = `${probe.name}\0${JSON.stringify(req.params)}`;
  let run = runs.get(key);
  if (!run) {
    run = runProbe(() => probe.run(inputs, req.params));
    runs.set(key, run);
  }
  const outcome = await run;
  if (!outcome.ok) {
    return outcome.undecided
      ? resultShell(req, 'undecided', `undecided: probe ${probe.name} cannot read its input: ${outcome.message}`)
      : resultShell(req, 'error', `probe ${probe.name} could not run: ${outcome.message}`);
  }
  const observed: Json = outcome.facts;

  if (req.needs) {
    const missing = match(observed, req.needs);
    if (missing.length) {
      const m = missing[0]!;
      const found = m.actual === undefined ? 'is absent' : `is ${short(m.actual)}`;
      const because = req.needs.find((w) => w.fact === m.path && w.because)?.because;
      const why = because ? `: ${because}` : ` (judging it needs ${req.needs.map(describe).join(' and ')})`;
      return { ...resultShell(req, 'undecided', `undecided: ${m.path} ${found}${why}`), observed, mismatches: missing };
    }
  }

  if (req.when) {
    const notApplicable = match(observed, req.when);
    if (notApplicable.length) {
      const m = notApplicable[0]!;
      const found = m.actual === undefined ? 'is absent' : `is ${short(m.actual)}`;
      const because = req.when.find((w) => w.fact === m.path && w.because)?.because;
      const why = because ? `: ${because}` : ` (the clause applies when ${req.when.map(describe).join(' and ')})`;
      return { ...resultShell(req, 'skip', `not applicable: ${m.path} ${found}${why}`), observed, mismatches: notApplicable };
    }
  }
  const mismatches = match(observed, req.expect);
  if (mismatches.length === 0) return { ...resultShell(req, 'pass', passMessage(req)), observed };
  const first = mismatches[0]!;
  const more = mismatches.length > 1 ? ` (+${mismatches.length - 1} more)` : '';
  const shown = first.actual === undefined ? '' : `: found ${short(first.actual)}`;
  const wanted = first.expected === undefined ? '' : `, expected ${short(first.expected)}`;
  return { ...resultShell(req, 'fail', `${first.path} ${first.reason}${shown}${wanted}${more}`), observed, mismatches };
}

async function runProbe(fn: () => Facts | Promise<Facts>): Promise<Outcome> {
  try {
    return { ok: true, facts: await fn() };
  } catch (e) {
    if (e instanceof ParseError || e instanceof UnsupportedError) {
      const hint = e instanceof UnsupportedError && e.hint ? ` (${e.hint})` : '';
      // Unsupported: the input is of a kind vmspec cannot read, so the clause is undecided; a ParseError is damage, an error.
      return { ok: false, message: `${e.message}${hint}`, undecided: e instanceof UnsupportedError };
    }
    const err = e as NodeJS.ErrnoException;
    if (err?.code && err.syscall) return { ok: false, message: `${err.syscall} failed: ${err.message}`, undecided: false };
    if (process.env.VMSPEC_DEBUG) console.error(e);
    return { ok: false, message: `internal error: ${err?.message ?? String(e)} (set VMSPEC_DEBUG=1 for details and report it)`, undecided: false };
  }
}

function passMessage(req: Requirement): string {
  return req.expect!.map(describe).join('; ');
}

/** The procedure's first sentence, short enough for a one-line report (the whole text stays in `manual`). */
function firstLine(s: string): string {
  const text = s.replace(/\s+/g, ' ').trim();
  const sentence = /^(.+?[.])(\s|$)/.exec(text)?.[1] ?? text;
  return sentence.length > 100 ? `${sentence.slice(0, 97)}...` : sentence;
}

function short(v: Json | undefined): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/**
 * Evaluate the selected requirements, except those an unexpired `runs: false`
 * waiver in scope keeps from running: each gets `notRunResult` in its place
 * (finishRun then reports it waived). Results follow `selected`'s order.
 */
export async function evaluateUnlessWaived(
  selected: Requirement[],
  inputs: Omit<ProbeInputs, 'memo'> & { memo?: Memo },
  waiving: { waivers: readonly Waiver[] | undefined; scope: WaiverScope; now: Date },
): Promise<Result[]> {
  const notRun = new Set(idsNotToRun(selected.map((r) => r.id), waiving.waivers, waiving.scope, waiving.now));
  const evaluated = await evaluate(selected.filter((r) => !notRun.has(r.id)), inputs);
  const byId = new Map(evaluated.map((r) => [r.id, r]));
  return selected.map((r) => byId.get(r.id) ?? notRunResult(r));
}
