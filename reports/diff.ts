import type { Status } from '../engine/results.js';
import type { ResultWithWaiver, RunWithWaivers } from '../engine/waivers.js';
import { md, table } from './markdown.js';
import { STATUS_WORD } from './model.js';
import { oneLine } from './sanitize.js';
import { painter, safeTerminalText, type Style } from './style.js';

/** One requirement present in a run, as a diff shows it. */
export interface DiffClause {
  id: string;
  title: string;
  level: string;
  mandatory: boolean;
  section: string;
  label: string;
  status: Status;
  message: string;
}

/** A requirement in both runs whose status changed. */
export interface StatusChange {
  id: string;
  /** The id in the old run when it differs (matched with the V1-/V2- prefix stripped). */
  oldId?: string;
  title: string;
  level: string;
  mandatory: boolean;
  section: string;
  from: Status;
  to: Status;
  message: string;
}

export interface RunSide {
  spec: { id: string; version: string; sha256: string };
  target: { kind: string; path: string | null; sha256: string | null };
  tool: string;
  startedAt: string;
  summary: Record<Status, number>;
  exitCode: number;
}

export interface RunDiff {
  old: RunSide;
  new: RunSide;
  spec: { idChanged: boolean; versionChanged: boolean; sha256Changed: boolean };
  /** pass → fail or error: exit 1. */
  regressions: StatusChange[];
  /** fail or error → pass. */
  fixes: StatusChange[];
  /** Any other status change (skip → pass, fail → waived, …). */
  changed: StatusChange[];
  /** In the new run only. */
  added: DiffClause[];
  /** In the old run only. */
  removed: DiffClause[];
  unchanged: number;
}

/** A requirement id without its spec-version prefix (V1-IMG-GPT → IMG-GPT). */
export function stripVersionPrefix(id: string): string {
  return id.replace(/^V\d+-/i, '');
}

function clause(r: ResultWithWaiver): DiffClause {
  return {
    id: oneLine(String(r.id), 200),
    title: oneLine(String(r.title), 300),
    level: oneLine(String(r.level), 40),
    mandatory: r.mandatory === true,
    section: oneLine(String(r.ref?.section ?? ''), 200),
    label: oneLine(String(r.ref?.label ?? ''), 80),
    status: r.status,
    message: oneLine(String(r.message), 500),
  };
}

function side(run: RunWithWaivers): RunSide {
  return {
    spec: { id: oneLine(run.spec.id, 100), version: oneLine(run.spec.version, 40), sha256: oneLine(run.spec.sha256, 64) },
    target: { kind: run.target.kind, path: run.target.path === null ? null : oneLine(run.target.path, 500), sha256: run.target.sha256 },
    tool: oneLine(`${run.tool?.name ?? 'vmspec'} ${run.tool?.version ?? ''}`, 80),
    startedAt: oneLine(run.startedAt, 40),
    summary: { ...run.summary },
    exitCode: run.exitCode,
  };
}

// Undecided is not passed: pass → undecided is a regression (the change lost the means to judge), undecided → pass a fix.
const PROBLEM: ReadonlySet<Status> = new Set(['fail', 'error', 'undecided']);

/**
 * Compare two runs clause by clause. Requirements are matched by id; those
 * left over are matched by id with the spec-version prefix stripped (so a
 * v1 run compares with a v2 run). Regressions are pass → fail/error.
 */
export function diffRuns(oldRun: RunWithWaivers, newRun: RunWithWaivers): RunDiff {
  const olds = oldRun.results.map(clause);
  const news = newRun.results.map(clause);
  const oldById = new Map(olds.map((c) => [c.id, c]));
  const pairs: [DiffClause, DiffClause][] = [];
  const added: DiffClause[] = [];
  const matchedOld = new Set<DiffClause>();
  const unmatchedNew: DiffClause[] = [];
  for (const n of news) {
    const o = oldById.get(n.id);
    if (o && !matchedOld.has(o)) {
      pairs.push([o, n]);
      matchedOld.add(o);
    } else unmatchedNew.push(n);
  }
  const oldByStripped = new Map<string, DiffClause>();
  for (const o of olds) if (!matchedOld.has(o) && !oldByStripped.has(stripVersionPrefix(o.id))) oldByStripped.set(stripVersionPrefix(o.id), o);
  for (const n of unmatchedNew) {
    const o = oldByStripped.get(stripVersionPrefix(n.id));
    if (o && !matchedOld.has(o)) {
      pairs.push([o, n]);
      matchedOld.add(o);
    } else added.push(n);
  }
  const removed = olds.filter((o) => !matchedOld.has(o));
  const regressions: StatusChange[] = [];
  const fixes: StatusChange[] = [];
  const changed: StatusChange[] = [];
  let unchanged = 0;
  for (const [o, n] of pairs) {
    if (o.status === n.status) {
      unchanged++;
      continue;
    }
    const change: StatusChange = {
      id: n.id,
      ...(o.id !== n.id ? { oldId: o.id } : {}),
      title: n.title,
      level: n.level,
      mandatory: n.mandatory,
      section: n.section,
      from: o.status,
      to: n.status,
      message: n.message,
    };
    if (o.status === 'pass' && PROBLEM.has(n.status)) regressions.push(change);
    else if (PROBLEM.has(o.status) && n.status === 'pass') fixes.push(change);
    else changed.push(change);
  }
  const a = side(oldRun);
  const b = side(newRun);
  return {
    old: a,
    new: b,
    spec: { idChanged: a.spec.id !== b.spec.id, versionChanged: a.spec.version !== b.spec.version, sha256Changed: a.spec.sha256 !== b.spec.sha256 },
    regressions,
    fixes,
    changed,
    added,
    removed,
    unchanged,
  };
}

/** 1 when the new run regressed (a clause went from pass to fail, error or undecided), else 0. */
export function diffExitCode(d: RunDiff): 0 | 1 {
  return d.regressions.length ? 1 : 0;
}

function describeSide(s: RunSide): string {
  const target = s.target.kind === 'none' ? 'no target' : `${s.target.kind}${s.target.path ? ` ${s.target.path}` : ''}`;
  return `${s.spec.id} ${s.spec.version} · ${target} · ${s.startedAt}`;
}

function totals(d: RunDiff): string {
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  return [n(d.regressions.length, 'regression'), n(d.fixes.length, 'fix', 'fixes'), n(d.changed.length, 'other change'), n(d.added.length, 'new clause'), n(d.removed.length, 'removed clause'), `${d.unchanged} unchanged`].join(', ');
}

function specLines(d: RunDiff): string[] {
  const out: string[] = [];
  if (d.spec.idChanged) out.push(`spec changed: ${d.old.spec.id} → ${d.new.spec.id}`);
  if (d.spec.versionChanged) out.push(`spec version changed: ${d.old.spec.version} → ${d.new.spec.version}`);
  if (d.spec.sha256Changed) out.push(`spec files changed: sha256 ${d.old.spec.sha256.slice(0, 12)}… → ${d.new.spec.sha256.slice(0, 12)}…`);
  return out;
}

const TONE: Record<Status, Style> = { pass: 'green', fail: 'red', error: 'magenta', skip: 'grey', waived: 'yellow', manual: 'cyan', undecided: 'magenta' };

export function renderDiffText(d: RunDiff, opts: { colour?: boolean } = {}): string {
  const paint = painter(opts.colour ?? false);
  const t = (s: string) => safeTerminalText(s);
  const lines = [paint('bold', 'vmspec report diff'), `  old: ${t(describeSide(d.old))}`, `  new: ${t(describeSide(d.new))}`];
  for (const l of specLines(d)) lines.push(paint('yellow', `  ${t(l)}`));
  const w = Math.min(34, Math.max(10, ...[...d.regressions, ...d.fixes, ...d.changed, ...d.added, ...d.removed].map((c) => c.id.length)));
  const change = (c: StatusChange) => `  ${t(c.id).padEnd(w)} ${c.level.padEnd(11)} ${paint(TONE[c.from], c.from)} → ${paint(TONE[c.to], c.to)}  ${t(c.title)}${c.oldId ? ` (was ${t(c.oldId)})` : ''}${c.to !== 'pass' ? paint('dim', ` — ${t(c.message)}`) : ''}`;
  const entry = (c: DiffClause) => `  ${t(c.id).padEnd(w)} ${c.level.padEnd(11)} ${paint(TONE[c.status], c.status.padEnd(6))} ${t(c.title)}`;
  const group = (title: string, items: string[], style: Style = 'bold') => {
    if (items.length) lines.push('', paint(style, `${title} (${items.length}):`), ...items);
  };
  group('Regressions', d.regressions.map(change), 'red');
  group('Fixes', d.fixes.map(change), 'green');
  group('Other status changes', d.changed.map(change));
  group('New clauses', d.added.map(entry));
  group('Removed clauses', d.removed.map(entry));
  lines.push('', `${paint('bold', 'Summary:')} ${totals(d)} — exit ${diffExitCode(d)}${d.regressions.length ? ' (regressions)' : ''}`);
  return `${lines.join('\n')}\n`;
}

export function renderDiffMarkdown(d: RunDiff): string {
  const out = ['# vmspec report diff', '', table(['', 'Run'], [['Old', md(describeSide(d.old))], ['New', md(describeSide(d.new))]]), ''];
  const spec = specLines(d);
  if (spec.length) out.push(...spec.map((l) => `> ${md(l)}`), '');
  out.push(`**${md(totals(d))}**${d.regressions.length ? ' — regressions fail the check (exit 1).' : ''}`, '');
  const changes = (title: string, items: StatusChange[]) => {
    if (!items.length) return;
    out.push(`## ${title} (${items.length})`, '', table(['Requirement', 'Level', 'Was', 'Now', 'Title', 'Reason'], items.map((c) => [
      `${md(c.id)}${c.oldId ? ` (was ${md(c.oldId)})` : ''}`, md(c.level), `**${STATUS_WORD[c.from]}**`, `**${STATUS_WORD[c.to]}**`, md(c.title), c.to === 'pass' ? '' : md(c.message, 300),
    ])), '');
  };
  const entries = (title: string, items: DiffClause[]) => {
    if (!items.length) return;
    out.push(`## ${title} (${items.length})`, '', table(['Requirement', 'Level', 'Status', 'Title'], items.map((c) => [md(c.id), md(c.level), `**${STATUS_WORD[c.status]}**`, md(c.title)])), '');
  };
  changes('Regressions', d.regressions);
  changes('Fixes', d.fixes);
  changes('Other status changes', d.changed);
  entries('New clauses', d.added);
  entries('Removed clauses', d.removed);
  return `${out.join('\n')}`;
}

export function renderDiffJson(d: RunDiff): string {
  return `${JSON.stringify({ ...d, exitCode: diffExitCode(d) }, null, 2)}\n`;
}

export { DIFF_FORMATS, type DiffFormat } from './formats.js';
import type { DiffFormat } from './formats.js';

export function renderDiff(d: RunDiff, format: DiffFormat, opts: { colour?: boolean } = {}): string {
  switch (format) {
    case 'text': return renderDiffText(d, opts);
    case 'md': return renderDiffMarkdown(d);
    case 'json': return renderDiffJson(d);
  }
}
