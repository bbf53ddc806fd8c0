import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { explainErrors, validator } from './schemas.js';
import { exitCodeFor, summarise, type Result, type RunResults, type TargetInfo } from './results.js';
import { SelectionError } from './select.js';
import { displayPath } from './spec-load.js';
import { parseYaml, YamlError, YAML_LIMITS, type YamlIssue } from './yaml-document.js';

/** One entry of a waivers file (schema/waivers.schema.json), with where it was written. */
export interface Waiver {
  /** Requirement id or glob (`*`, `?`), case-insensitive. */
  id: string;
  justification: string;
  owner: string;
  /** Last day the waiver applies (UTC), YYYY-MM-DD. */
  expires: string;
  ticket?: string;
  /** sha256 of the target, or a glob over its path or file name. */
  target?: string;
  source: { file: string; line: number; column: number };
}

/** A waiver as recorded on the result it waived (results.schema.json `results[].waiver`). */
export interface AppliedWaiver {
  id: string;
  justification: string;
  owner: string;
  expires: string;
  ticket?: string;
  target?: string;
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
  expires: string;
  ticket?: string;
  target?: string;
}

/** Parse and validate waivers YAML. Throws WaiverError listing every problem with its line. */
export function parseWaivers(text: string, file: string): Waiver[] {
  let parsed;
  try {
    parsed = parseYaml(text, file);
  } catch (e) {
    if (e instanceof YamlError) throw new WaiverError(e.issues);
    throw e;
  }
  if (parsed.value === null || parsed.value === undefined) {
    throw new WaiverError([{ file, line: 1, column: 1, message: 'the file is empty; expected a mapping with a "waivers" list' }]);
  }
  const validate = validator('waivers');
  if (!validate(parsed.value)) {
    throw new WaiverError(explainErrors(validate.errors).map((p) => ({ file, ...parsed.locate(p.path), message: p.message })));
  }
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
    expires: w.expires,
    ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
    ...(w.target !== undefined ? { target: w.target } : {}),
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

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** The first instant the waiver no longer applies: midnight UTC after its `expires` day. */
export function expiryInstant(w: Pick<Waiver, 'expires'>): Date {
  const [y, m, d] = w.expires.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1));
}

export function isExpired(w: Pick<Waiver, 'expires'>, now: Date): boolean {
  return now.getTime() >= expiryInstant(w).getTime();
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

function where(w: Waiver): string {
  return `${w.source.file}:${w.source.line}`;
}

function record(w: Waiver): AppliedWaiver {
  return {
    id: w.id,
    justification: w.justification,
    owner: w.owner,
    expires: w.expires,
    ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
    ...(w.target !== undefined ? { target: w.target } : {}),
    source: where(w),
  };
}

/**
 * Apply waivers to a run: every `fail` covered by an unexpired waiver whose
 * scope matches becomes `waived` (never `pass`) with the waiver recorded on
 * the result. Expired waivers are not applied; they, waivers that match no
 * clause, and waivers no failing clause needed are listed in `warnings`.
 * Summary and exit code are recomputed (waived does not fail the run).
 * The input run is not modified.
 */
export function applyWaivers(run: RunWithWaivers, waivers: Waiver[], now: Date): RunWithWaivers {
  const warnings = [...(run.warnings ?? [])];
  const matched = new Map<Waiver, ResultWithWaiver[]>(waivers.map((w) => [w, []]));
  const results = run.results.map((r): ResultWithWaiver => {
    const covering = waivers.filter((w) => waiverMatchesId(w, r.id) && waiverMatchesTarget(w, run.target));
    for (const w of covering) matched.get(w)!.push(r);
    if (r.status !== 'fail') return r;
    const active = covering.find((w) => !isExpired(w, now));
    return active ? { ...r, status: 'waived', waiver: record(active) } : r;
  });
  const finalStatus = new Map(run.results.map((r, i) => [r, results[i]!.status]));
  for (const [w, hits] of matched) {
    const label = `waiver "${w.id}" (${where(w)}, owner ${w.owner})`;
    const failing = hits.filter((r) => finalStatus.get(r) === 'fail').map((r) => r.id);
    if (isExpired(w, now)) {
      warnings.push(`${label} expired on ${w.expires} and was not applied${failing.length ? `; still failing: ${failing.join(', ')}` : ''}`);
    } else if (hits.length === 0) {
      const scope = w.target !== undefined ? ` for target "${w.target}"` : '';
      warnings.push(`${label} matches no clause in this run${scope}`);
    } else if (!hits.some((r) => r.status === 'fail' || r.status === 'waived')) {
      warnings.push(`${label} was not needed: no clause it covers failed (${hits.map((r) => `${r.id}: ${r.status}`).join(', ')})`);
    }
  }
  const out: RunWithWaivers = { ...run, results, summary: summarise(results), exitCode: exitCodeFor(results) };
  if (warnings.length) out.warnings = [...new Set(warnings)];
  return out;
}
