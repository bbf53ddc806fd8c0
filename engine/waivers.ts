import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { globToRegExp } from '../probes/glob.js';
import { validator } from '../requirements/schemas.js';
import type { Requirement } from '../requirements/requirement.js';
import { resultShell, verdictOf, type Result, type RunResults, type TargetInfo } from './results.js';
import { SelectionError } from './select.js';
import { displayPath } from '../package/display-path.js';
import { YAML_LIMITS, type YamlIssue } from '../requirements/yaml-document.js';
import { parseValidatedYaml } from '../requirements/yaml-validated.js';

/** One entry of a waivers file (schema/waivers.schema.json), with where it was written. */
export interface Waiver {
  /** Requirement id or glob (`*`, `?`), case-insensitive. */
  id: string;
  justification: string;
  owner: string;
  /** Last day the waiver applies (UTC), YYYY-MM-DD; absent: no expiry (applies until removed). */
  expires?: string;
  ticket?: string;
  /** sha256 of the target, or a glob over its path or file name. */
  target?: string;
  /** Glob over the run's hypervisor (`environment.hypervisor` or `target.hypervisor` in the results). */
  hypervisor?: string;
  /**
   * Whether the clause still runs (default true: it runs and only a `fail`
   * or `undecided` becomes `waived`). false: the clause is not evaluated at all and is
   * reported `waived` whatever it would have given.
   */
  runs: boolean;
  source: { file: string; line: number; column: number };
}

/** What an applied waiver records in place of a date when it has no expiry. */
export const NO_EXPIRY = 'no expiry';

/** A waiver as recorded on the result it waived (results.schema.json `results[].waiver`). */
export interface AppliedWaiver {
  id: string;
  justification: string;
  owner: string;
  /** YYYY-MM-DD, or "no expiry" (NO_EXPIRY). */
  expires: string;
  ticket?: string;
  target?: string;
  hypervisor?: string;
  /** Present (false) only for a waiver that kept the clause from running. */
  runs?: false;
  /** file:line of the waiver. */
  source: string;
}

/** A result that may carry the waiver that waived it. */
export interface ResultWithWaiver extends Result {
  waiver?: AppliedWaiver;
}

/** A run as reports see it: the core's results plus waiver data and warnings (both optional). */
export interface RunWithWaivers extends RunResults {
  results: ResultWithWaiver[];
  warnings?: string[];
}

/**
 * A waivers file that cannot be used: every problem with file:line:column.
 * A usage/input error (exit 2): it extends SelectionError so the CLI maps it so.
 */
export class WaiverError extends SelectionError {
  constructor(readonly issues: YamlIssue[]) {
    super(`the waivers file has errors:\n${issues.map((i) => `  ${i.file}:${i.line}:${i.column}: ${i.message}`).join('\n')}`);
  }
}

interface RawWaiver {
  id: string;
  justification: string;
  owner: string;
  expires?: string;
  ticket?: string;
  target?: string;
  hypervisor?: string;
  runs?: boolean;
}

/** Parse and validate waivers YAML. Throws WaiverError listing every problem with its line. */
export function parseWaivers(text: string, file: string): Waiver[] {
  const checked = parseValidatedYaml(text, file, { validate: validator('waivers'), whenEmpty: 'expected a mapping with a "waivers" list' });
  if (!checked.ok) throw new WaiverError(checked.issues);
  const { parsed } = checked;
  const raw = (parsed.value as { waivers: RawWaiver[] }).waivers;
  const issues: YamlIssue[] = [];
  for (const [i, w] of raw.entries()) {
    for (const field of ['justification', 'owner'] as const) {
      if (!w[field].trim()) issues.push({ file, ...parsed.locate(['waivers', i, field]), message: `waivers.${i}.${field}: must not be blank` });
    }
  }
  if (issues.length) throw new WaiverError(issues);
  return raw.map((w, i) => ({
    id: w.id,
    justification: w.justification.trim(),
    owner: w.owner.trim(),
    ...(w.expires !== undefined ? { expires: w.expires } : {}),
    ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
    ...(w.target !== undefined ? { target: w.target } : {}),
    ...(w.hypervisor !== undefined ? { hypervisor: w.hypervisor } : {}),
    runs: w.runs ?? true,
    source: { file, ...parsed.locate(['waivers', i]) },
  }));
}

/** Read a waivers file (fail fast, before anything runs). */
export function loadWaivers(path: string): Waiver[] {
  const shown = displayPath(path);
  let text: string;
  try {
    if (statSync(path).size > YAML_LIMITS.maxBytes) {
      throw new WaiverError([{ file: shown, line: 1, column: 1, message: `file is larger than ${YAML_LIMITS.maxBytes} bytes` }]);
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof WaiverError) throw e;
    throw new WaiverError([{ file: shown, line: 0, column: 0, message: `cannot read: ${(e as Error).message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '')}` }]);
  }
  return parseWaivers(text, shown);
}

/** The first instant the waiver no longer applies: midnight UTC after its `expires` day; null without expiry. */
export function expiryInstant(w: Pick<Waiver, 'expires'>): Date | null {
  if (w.expires === undefined) return null;
  const [y, m, d] = w.expires.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1));
}

/** A waiver without `expires` never expires. */
export function isExpired(w: Pick<Waiver, 'expires'>, now: Date): boolean {
  const end = expiryInstant(w);
  return end !== null && now.getTime() >= end.getTime();
}

export function waiverMatchesId(w: Pick<Waiver, 'id'>, id: string): boolean {
  return globToRegExp(w.id).test(id);
}

/** Does the waiver's scope (if any) cover this run's target? */
export function waiverMatchesTarget(w: Pick<Waiver, 'target'>, target: TargetInfo): boolean {
  if (w.target === undefined) return true;
  if (/^[0-9a-fA-F]{64}$/.test(w.target)) return target.sha256 !== null && target.sha256 === w.target.toLowerCase();
  if (!target.path) return false;
  const re = globToRegExp(w.target);
  return re.test(target.path) || re.test(basename(target.path));
}

/**
 * The hypervisor a run records, if any: `environment.hypervisor` (boot
 * runs) or `target.hypervisor`; null when the run has no such information.
 */
export function runHypervisor(run: { target?: unknown; environment?: unknown }): string | null {
  for (const holder of [run.environment, run.target]) {
    if (holder !== null && typeof holder === 'object' && !Array.isArray(holder)) {
      const h = (holder as Record<string, unknown>).hypervisor;
      if (typeof h === 'string' && h.trim()) return h.trim();
    }
  }
  return null;
}

/** What a waiver's scope is checked against: the run's target and hypervisor (null: not recorded). */
export interface WaiverScope {
  target: TargetInfo;
  hypervisor: string | null;
}

/** Does the waiver's hypervisor scope (if any) cover this run? Never when the run records no hypervisor. */
export function waiverMatchesHypervisor(w: Pick<Waiver, 'hypervisor'>, hypervisor: string | null): boolean {
  if (w.hypervisor === undefined) return true;
  return hypervisor !== null && globToRegExp(w.hypervisor).test(hypervisor);
}

function inScope(w: Waiver, scope: WaiverScope): boolean {
  return waiverMatchesTarget(w, scope.target) && waiverMatchesHypervisor(w, scope.hypervisor);
}

/**
 * The ids, among `selectedIds`, that must not be evaluated: each is covered
 * by an unexpired waiver with `runs: false` whose scope (target, hypervisor)
 * matches. The runner leaves them out of evaluation and puts
 * `notRunResult(requirement)` in their place; `applyWaivers` then reports
 * them `waived` with the justification. Order follows `selectedIds`.
 */
export function idsNotToRun(selectedIds: readonly string[], waivers: readonly Waiver[] | undefined, scope: WaiverScope, now: Date): string[] {
  const skipping = (waivers ?? []).filter((w) => !w.runs && !isExpired(w, now) && inScope(w, scope));
  return selectedIds.filter((id) => skipping.some((w) => waiverMatchesId(w, id)));
}

/** The message of a clause a `runs: false` waiver kept from running. */
export const NOT_RUN_MESSAGE = 'not evaluated: a waiver with "runs: false" covers this clause';

/**
 * The placeholder result for a requirement `idsNotToRun` named (status
 * `skip` until `applyWaivers` records the waiver and makes it `waived`).
 */
export function notRunResult(req: Requirement): Result {
  return { ...resultShell(req, 'skip', NOT_RUN_MESSAGE), durationMs: 0 };
}

function where(w: Waiver): string {
  return `${w.source.file}:${w.source.line}`;
}

function record(w: Waiver): AppliedWaiver {
  return {
    id: w.id,
    justification: w.justification,
    owner: w.owner,
    expires: w.expires ?? NO_EXPIRY,
    ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
    ...(w.target !== undefined ? { target: w.target } : {}),
    ...(w.hypervisor !== undefined ? { hypervisor: w.hypervisor } : {}),
    ...(!w.runs ? { runs: false as const } : {}),
    source: where(w),
  };
}

/**
 * Apply waivers to a run. A waiver applies when it is unexpired (or has no
 * expiry) and its scope (target, hypervisor) matches the run:
 * - `runs: true` (default): a `fail` or `undecided` it covers becomes
 *   `waived` (never `pass`); every other status is kept. An undecided
 *   clause may be waived because a waiver is a person's signed, expiring
 *   decision (say, the kernel config of a btrfs-root image checked by hand),
 *   exactly what the tool could not supply; the clause still reads waived.
 * - `runs: false`: the clause it covers is `waived` whatever its status
 *   (the runner did not evaluate it: see `idsNotToRun`).
 * The waiver is recorded on the result. Expired waivers, hypervisor-scoped
 * waivers on a run that records no hypervisor, waivers that match no
 * clause, and `runs: true` waivers no failing clause needed are listed in
 * `warnings`. Summary and exit code are recomputed (waived does not fail
 * the run). The input run is not modified.
 */
export function applyWaivers(run: RunWithWaivers, waivers: Waiver[], now: Date): RunWithWaivers {
  const warnings = [...(run.warnings ?? [])];
  const scope: WaiverScope = { target: run.target, hypervisor: runHypervisor(run as { target?: unknown; environment?: unknown }) };
  const usable = (w: Waiver) => !isExpired(w, now) && (w.hypervisor === undefined || scope.hypervisor !== null);
  const matched = new Map<Waiver, ResultWithWaiver[]>(waivers.map((w) => [w, []]));
  const idMatched = new Map<Waiver, string[]>(waivers.map((w) => [w, []]));
  const results = run.results.map((r): ResultWithWaiver => {
    for (const w of waivers) if (waiverMatchesId(w, r.id)) idMatched.get(w)!.push(r.id);
    const covering = waivers.filter((w) => waiverMatchesId(w, r.id) && inScope(w, scope));
    for (const w of covering) matched.get(w)!.push(r);
    const active = covering.filter(usable);
    const notRun = active.find((w) => !w.runs);
    if (notRun) return { ...r, status: 'waived', waiver: record(notRun) };
    if (r.status !== 'fail' && r.status !== 'undecided') return r;
    const first = active[0];
    return first ? { ...r, status: 'waived', waiver: record(first) } : r;
  });
  const finalStatus = new Map(run.results.map((r, i) => [r, results[i]!.status]));
  for (const [w, hits] of matched) {
    const label = `waiver "${w.id}" (${where(w)}, owner ${w.owner})`;
    if (isExpired(w, now)) {
      const failing = hits.filter((r) => finalStatus.get(r) === 'fail').map((r) => r.id);
      const undecided = hits.filter((r) => finalStatus.get(r) === 'undecided').map((r) => r.id);
      warnings.push(`${label} expired on ${w.expires} and was not applied${failing.length ? `; still failing: ${failing.join(', ')}` : ''}${undecided.length ? `; still undecided: ${undecided.join(', ')}` : ''}`);
    } else if (w.hypervisor !== undefined && scope.hypervisor === null) {
      const ids = idMatched.get(w)!;
      warnings.push(`${label} is scoped to hypervisor "${w.hypervisor}" but this run records no hypervisor (no environment.hypervisor or target.hypervisor in the results), so it was not applied${ids.length ? ` to ${ids.join(', ')}` : ''}`);
    } else if (hits.length === 0) {
      const scopes = [w.target !== undefined ? `target "${w.target}"` : '', w.hypervisor !== undefined ? `hypervisor "${w.hypervisor}" (run: "${scope.hypervisor}")` : ''].filter(Boolean);
      warnings.push(`${label} matches no clause in this run${scopes.length ? ` for ${scopes.join(' and ')}` : ''}`);
    } else if (w.runs && !hits.some((r) => r.status === 'fail' || r.status === 'undecided' || r.status === 'waived')) {
      warnings.push(`${label} was not needed: no clause it covers failed (${hits.map((r) => `${r.id}: ${r.status}`).join(', ')})`);
    }
  }
  const out: RunWithWaivers = { ...run, results, ...verdictOf(results) };
  if (warnings.length) out.warnings = [...new Set(warnings)];
  return out;
}
