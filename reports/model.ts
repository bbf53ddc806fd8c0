import type { Json } from '../probes/types.js';
import { describe, factAt } from '../requirements/expect.js';
import { LEVELS, type Expectation, type Requirement } from '../requirements/requirement.js';
import { STATUSES, summarise, type Status, type Summary } from '../engine/results.js';
import type { SpecSet } from '../requirements/spec-load.js';
import type { ResultWithWaiver, RunWithWaivers } from '../engine/waivers.js';
import { cleanText, oneLine, prettyJson, shortJson, truncateText, DISPLAY_LIMITS, type DisplayLimits, type PrettyJson } from './sanitize.js';
import { formatBytes } from './text.js';

/**
 * Everything a run report shows, computed once from the results (and the
 * spec, when given) so that every format says the same thing. Every string
 * here is display-clean (well-formed, control characters made visible) but
 * NOT escaped for any output format: each renderer escapes for its own.
 */

export const STATUS_WORD: Record<Status, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  skip: 'SKIP',
  error: 'ERROR',
  waived: 'WAIVED',
  manual: 'MANUAL',
  undecided: 'UNDECIDED',
};

export const STATUS_MEANING: Record<Status, string> = {
  pass: 'the clause holds',
  fail: 'the clause does not hold',
  skip: 'not applicable to this target (its condition does not hold, or the inputs given cannot show its target)',
  error: 'the probe could not run: no verdict',
  waived: 'fails, covered by an unexpired waiver',
  manual: 'not machine-checkable: check by hand',
  undecided: 'applies, but its input was missing or unreadable: not judged, so not passed',
};

export const EXIT_MEANING: Record<number, string> = {
  0: 'every selected MUST/SHALL clause passed (or was waived)',
  1: 'a MUST/SHALL clause failed',
  2: 'usage or input error',
  3: 'a probe could not run (the verdict is incomplete)',
  4: 'a MUST/SHALL clause is undecided: its input was missing or unreadable (the verdict is incomplete)',
};

export interface MetaRow {
  label: string;
  value: string;
  /** Shown as code (hashes, paths). */
  code?: boolean;
  /** Multi-line JSON (extra run metadata such as firmware or QEMU versions). */
  json?: PrettyJson;
}

export interface FactRow {
  kind: 'needs' | 'when' | 'expect';
  fact: string;
  /** The expectation in words. */
  expected: string;
  /** The value at that fact path in the observation (absent: null). */
  observed: PrettyJson | null;
}

export interface MismatchView {
  path: string;
  reason: string;
  expected?: string;
  actual?: string;
}

export interface WaiverView {
  id: string;
  justification: string;
  owner: string;
  expires: string;
  /** "expires 2025-12-31" or "no expiry". */
  expiry: string;
  ticket?: string;
  target?: string;
  hypervisor?: string;
  /** true when the waiver kept the clause from running (`runs: false`). */
  notRun: boolean;
  source?: string;
}

/** A waiver's expiry in words: "expires YYYY-MM-DD", or "no expiry" for a waiver that applies until removed. */
export function expiryWords(expires: unknown): string {
  return typeof expires !== 'string' || !expires.trim() || expires === 'no expiry' ? 'no expiry' : `expires ${expires}`;
}

export interface ClauseView {
  index: number;
  anchor: string;
  id: string;
  title: string;
  status: Status;
  statusWord: string;
  level: string;
  mandatory: boolean;
  target: string;
  label: string;
  page: number;
  section: string;
  specId: string;
  message: string;
  paraphrase?: string;
  tags: string[];
  probe: string | null;
  params?: string;
  facts: FactRow[];
  observed: PrettyJson | null;
  mismatches: MismatchView[];
  remediation?: string;
  manual?: string;
  waiver?: WaiverView;
  evidence?: PrettyJson;
  durationMs?: number;
}

export interface SectionView {
  title: string;
  page: number;
  anchor: string;
  summary?: string;
  clauses: ClauseView[];
  counts: Summary;
}

export interface MatrixRow {
  section: string;
  /** Rows the section cell spans; 0 for continuation rows. */
  sectionSpan: number;
  label: string;
  labelSpan: number;
  id: string;
  anchor?: string;
  title: string;
  probe: string;
  status: Status | 'not selected';
  statusWord: string;
}

export interface LevelRow {
  level: string;
  counts: Summary;
  total: number;
}

export interface FilterOption {
  value: string;
  label: string;
  count: number;
}

export interface ReportModel {
  title: string;
  subtitle: string;
  meta: MetaRow[];
  summary: Summary;
  total: number;
  statusRows: { status: Status; word: string; count: number; meaning: string }[];
  byLevel: LevelRow[];
  exitCode: number;
  exitMeaning: string;
  sections: SectionView[];
  matrix: MatrixRow[];
  warnings: string[];
  notes: string[];
  truncated: boolean;
  filters: { status: FilterOption[]; level: FilterOption[]; target: FilterOption[] };
}

const KNOWN_RUN_KEYS = new Set(['schemaVersion', 'tool', 'spec', 'selection', 'target', 'startedAt', 'durationMs', 'summary', 'exitCode', 'results', 'warnings']);
const KNOWN_RESULT_EVIDENCE_KEYS = ['evidence', 'evidenceFiles'] as const;

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60).toLowerCase();
}

function isExpectation(e: unknown): e is Expectation {
  return e !== null && typeof e === 'object' && !Array.isArray(e) && typeof (e as { fact?: unknown }).fact === 'string';
}

/** An expectation in words; never throws on malformed input from a results file. */
export function describeSafely(e: unknown): string {
  if (!isExpectation(e)) return shortJson(e);
  try {
    return describe(e);
  } catch {
    return shortJson(e);
  }
}

function expectationsOf(expected: unknown, key: FactRow['kind']): Expectation[] {
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) return [];
  const list = (expected as Record<string, unknown>)[key];
  return Array.isArray(list) ? list.filter(isExpectation) : [];
}

const FACT_LIMITS = { ...DISPLAY_LIMITS, string: 500, arrayItems: 20, objectKeys: 40, depth: 6, block: 4096 };

function factRows(r: ResultWithWaiver): FactRow[] {
  const rows: FactRow[] = [];
  const observed = r.observed as Json | undefined;
  for (const kind of ['needs', 'when', 'expect'] as const) {
    for (const e of expectationsOf(r.expected, kind)) {
      let at: Json | undefined;
      try {
        at = observed === null || observed === undefined ? undefined : factAt(observed, e.fact);
      } catch {
        at = undefined;
      }
      rows.push({ kind, fact: oneLine(e.fact, 200), expected: cleanText(describeSafely(e)), observed: at === undefined ? null : prettyJson(at, FACT_LIMITS) });
    }
  }
  return rows;
}

function mismatchViews(r: ResultWithWaiver): MismatchView[] {
  if (!Array.isArray(r.mismatches)) return [];
  return r.mismatches.slice(0, 50).map((m) => ({
    path: oneLine(String(m.path), 300),
    reason: oneLine(String(m.reason), 1000),
    ...(m.expected !== undefined ? { expected: cleanText(shortJson(m.expected, 500)) } : {}),
    ...('actual' in m && m.actual !== undefined ? { actual: cleanText(shortJson(m.actual, 500)) } : {}),
  }));
}

function waiverView(r: ResultWithWaiver): WaiverView | undefined {
  const w = r.waiver;
  if (!w || typeof w !== 'object') return undefined;
  const s = (v: unknown) => (typeof v === 'string' ? cleanText(v) : undefined);
  return {
    id: s(w.id) ?? '',
    justification: s(w.justification) ?? '',
    owner: s(w.owner) ?? '',
    expires: s(w.expires) ?? '',
    expiry: cleanText(expiryWords(w.expires)),
    ...(s(w.ticket) !== undefined ? { ticket: s(w.ticket)! } : {}),
    ...(s(w.target) !== undefined ? { target: s(w.target)! } : {}),
    ...(s(w.hypervisor) !== undefined ? { hypervisor: s(w.hypervisor)! } : {}),
    notRun: w.runs === false,
    ...(s(w.source) !== undefined ? { source: s(w.source)! } : {}),
  };
}

export function clauseView(r: ResultWithWaiver, index: number, req?: Requirement, limits: DisplayLimits = DISPLAY_LIMITS): ClauseView {
  const rec = r as unknown as Record<string, unknown>;
  const evidenceKey = KNOWN_RESULT_EVIDENCE_KEYS.find((k) => rec[k] !== undefined);
  const params = r.params && Object.keys(r.params).length ? cleanText(shortJson(r.params, 400)) : undefined;
  return {
    index,
    anchor: `clause-${index}-${slug(String(r.id))}`,
    id: oneLine(String(r.id), 200),
    title: oneLine(String(r.title), 500),
    status: r.status,
    statusWord: STATUS_WORD[r.status],
    level: oneLine(String(r.level), 40),
    mandatory: r.mandatory === true,
    target: oneLine(String(r.target), 40),
    label: oneLine(String(r.ref?.label ?? ''), 80),
    page: typeof r.ref?.page === 'number' ? r.ref.page : 0,
    section: oneLine(String(r.ref?.section ?? ''), 300),
    specId: oneLine(String(r.ref?.spec ?? ''), 80),
    message: truncateText(cleanText(String(r.message)), 20000),
    ...(req ? { paraphrase: cleanText(req.text) } : {}),
    tags: req ? req.tags.map((t) => oneLine(t, 80)) : [],
    probe: r.probe ? oneLine(r.probe, 120) : null,
    ...(params ? { params } : {}),
    facts: factRows(r),
    observed: r.observed === null || r.observed === undefined ? null : prettyJson(r.observed, limits),
    mismatches: mismatchViews(r),
    ...(typeof r.remediation === 'string' ? { remediation: cleanText(r.remediation) } : {}),
    ...(typeof r.manual === 'string' ? { manual: cleanText(r.manual) } : {}),
    ...(waiverView(r) ? { waiver: waiverView(r)! } : {}),
    ...(evidenceKey ? { evidence: prettyJson(rec[evidenceKey]) } : {}),
    ...(typeof r.durationMs === 'number' ? { durationMs: r.durationMs } : {}),
  };
}

/** Requirements of the spec by id, when the spec is the one the run used (or was given explicitly). */
function requirementIndex(spec?: SpecSet): Map<string, Requirement> {
  return new Map((spec?.requirements ?? []).map((r) => [r.id, r]));
}

/**
 * Results ordered and grouped by spec section: the spec's order when the
 * spec is given, else the order the results came in (which is spec order
 * for runs vmspec made).
 */
export function sectionsOf(run: RunWithWaivers, spec?: SpecSet, limits: DisplayLimits = DISPLAY_LIMITS): SectionView[] {
  const reqs = requirementIndex(spec);
  const order = new Map((spec?.requirements ?? []).map((r, i) => [r.id, i]));
  const sectionOrder = new Map((spec?.sections ?? []).map((s, i) => [s.title, i]));
  const indexed = run.results.map((r, i) => ({ r, i }));
  if (spec) {
    indexed.sort((a, b) => {
      const sa = sectionOrder.get(a.r.ref?.section) ?? Number.MAX_SAFE_INTEGER;
      const sb = sectionOrder.get(b.r.ref?.section) ?? Number.MAX_SAFE_INTEGER;
      if (sa !== sb) return sa - sb;
      const oa = order.get(a.r.id) ?? Number.MAX_SAFE_INTEGER;
      const ob = order.get(b.r.id) ?? Number.MAX_SAFE_INTEGER;
      return oa !== ob ? oa - ob : a.i - b.i;
    });
  }
  const sections: SectionView[] = [];
  const byTitle = new Map<string, SectionView>();
  for (const { r, i } of indexed) {
    const title = String(r.ref?.section ?? '');
    let s = byTitle.get(title);
    if (!s) {
      const specSection = spec?.sections.find((x) => x.title === title);
      s = {
        title: oneLine(title, 300) || '(no section)',
        page: specSection?.page ?? (typeof r.ref?.page === 'number' ? r.ref.page : 0),
        anchor: `section-${sections.length}-${slug(title)}`,
        ...(specSection?.summary ? { summary: cleanText(specSection.summary.trim()) } : {}),
        clauses: [],
        counts: summarise([]),
      };
      byTitle.set(title, s);
      sections.push(s);
    }
    s.clauses.push(clauseView(r, i, reqs.get(r.id), limits));
  }
  for (const s of sections) s.counts = countStatuses(s.clauses.map((c) => c.status));
  return sections;
}

function countStatuses(statuses: Status[]): Summary {
  const s = summarise([]);
  for (const x of statuses) if (x in s) s[x]++;
  return s;
}

function byLevel(run: RunWithWaivers): LevelRow[] {
  const rows = new Map<string, Status[]>();
  for (const r of run.results) {
    const level = oneLine(String(r.level), 40);
    const statuses = rows.get(level);
    if (statuses) statuses.push(r.status);
    else rows.set(level, [r.status]);
  }
  const rank = (l: string) => {
    const i = (LEVELS as readonly string[]).indexOf(l);
    return i < 0 ? LEVELS.length : i;
  };
  return [...rows.entries()]
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
    .map(([level, statuses]) => ({ level, counts: countStatuses(statuses), total: statuses.length }));
}

function matrixOf(run: RunWithWaivers, sections: SectionView[], spec?: SpecSet): MatrixRow[] {
  interface Entry { section: string; label: string; id: string; anchor?: string; title: string; probe: string; status: Status | 'not selected' }
  const entries: Entry[] = [];
  const clauses = new Map(sections.flatMap((s) => s.clauses).map((c) => [c.id, c]));
  const seen = new Set<string>();
  const sameSpec = spec && spec.id === run.spec.id;
  if (spec && sameSpec) {
    for (const s of spec.sections) {
      for (const r of s.requirements) {
        const c = clauses.get(r.id);
        seen.add(r.id);
        entries.push({
          section: oneLine(r.ref.section, 300),
          label: oneLine(r.ref.label, 80),
          id: r.id,
          ...(c ? { anchor: c.anchor } : {}),
          title: oneLine(r.title, 500),
          probe: r.probe ?? 'manual',
          status: c ? c.status : 'not selected',
        });
      }
    }
  }
  for (const s of sections) {
    for (const c of s.clauses) {
      if (seen.has(c.id)) continue;
      entries.push({ section: s.title, label: c.label, id: c.id, anchor: c.anchor, title: c.title, probe: c.probe ?? 'manual', status: c.status });
    }
  }
  // Group rows: section, then clause label (in the spec's label order when known), stable otherwise.
  const labelRank = new Map((spec?.labels ?? []).map((l, i) => [l, i]));
  const sectionRank = new Map<string, number>();
  for (const e of entries) if (!sectionRank.has(e.section)) sectionRank.set(e.section, sectionRank.size);
  const firstSeen = new Map<string, number>();
  entries.forEach((e, i) => firstSeen.has(`${e.section}\0${e.label}`) || firstSeen.set(`${e.section}\0${e.label}`, i));
  const sorted = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => {
      const s = sectionRank.get(a.e.section)! - sectionRank.get(b.e.section)!;
      if (s) return s;
      const la = labelRank.get(a.e.label) ?? 10_000 + firstSeen.get(`${a.e.section}\0${a.e.label}`)!;
      const lb = labelRank.get(b.e.label) ?? 10_000 + firstSeen.get(`${b.e.section}\0${b.e.label}`)!;
      return la - lb || a.i - b.i;
    })
    .map((x) => x.e);
  const rows: MatrixRow[] = sorted.map((e) => ({ ...e, sectionSpan: 0, labelSpan: 0, statusWord: e.status === 'not selected' ? 'not selected' : STATUS_WORD[e.status] }));
  for (let i = 0; i < rows.length; ) {
    let j = i;
    while (j < rows.length && rows[j]!.section === rows[i]!.section) j++;
    rows[i]!.sectionSpan = j - i;
    for (let k = i; k < j; ) {
      let m = k;
      while (m < j && rows[m]!.label === rows[k]!.label) m++;
      rows[k]!.labelSpan = m - k;
      k = m;
    }
    i = j;
  }
  return rows;
}

function metaRows(run: RunWithWaivers): MetaRow[] {
  const t = run.target;
  const rows: MetaRow[] = [
    { label: 'Tool', value: oneLine(`${run.tool?.name ?? 'vmspec'} ${run.tool?.version ?? ''}`) },
    { label: 'Spec', value: oneLine(`${run.spec.title ?? ''} ${run.spec.version} (${run.spec.id})`) },
    { label: 'Spec sha256', value: oneLine(run.spec.sha256), code: true },
    { label: 'Target', value: t.kind === 'none' ? 'none given' : oneLine(`${t.kind}${t.path ? ` ${t.path}` : ''}`), code: t.kind !== 'none' },
  ];
  if (t.format) rows.push({ label: 'Target format', value: oneLine(t.format) });
  if (typeof t.size === 'number') rows.push({ label: 'Target size', value: `${formatBytes(t.size)} (${t.size} bytes)` });
  rows.push({ label: 'Target sha256', value: t.sha256 ? oneLine(t.sha256) : 'not recorded (vmspec verify --sha256)', code: Boolean(t.sha256) });
  rows.push({ label: 'Started', value: oneLine(run.startedAt) });
  rows.push({ label: 'Duration', value: `${(run.durationMs / 1000).toFixed(2)} s` });
  const sel = run.selection;
  if (sel) {
    const parts = [
      sel.profile ? `profile ${sel.profile}` : '',
      ...(['only', 'section', 'level', 'target', 'tags'] as const).map((k) => (Array.isArray(sel[k]) && sel[k].length ? `--${k} ${sel[k].join(',')}` : '')),
    ].filter(Boolean);
    const observable = Array.isArray(sel.observableFrom) && sel.observableFrom.length ? `default: the clauses observable from ${sel.observableFrom.map((k) => oneLine(String(k), 20)).join(' and ')}` : 'every clause';
    rows.push({ label: 'Selection', value: parts.length ? oneLine(parts.join(' ')) : observable });
  }
  for (const [k, v] of Object.entries(run as unknown as Record<string, unknown>)) {
    if (KNOWN_RUN_KEYS.has(k)) continue;
    if (v !== null && typeof v === 'object') rows.push({ label: oneLine(k, 80), value: '', json: prettyJson(v, { ...DISPLAY_LIMITS, block: 8192 }) });
    else rows.push({ label: oneLine(k, 80), value: oneLine(String(v)) });
  }
  return rows;
}

/** The report model for one run. `spec` supplies section order, paraphrases and clause coverage. */
export function buildReportModel(run: RunWithWaivers, spec?: SpecSet, limits: DisplayLimits = DISPLAY_LIMITS): ReportModel {
  const notes: string[] = [];
  if (!spec) {
    notes.push('The spec was not available when this report was made: clause paraphrases and the coverage of clauses not selected are not shown (render with --spec).');
  } else if (spec.id !== run.spec.id) {
    notes.push(`This run checked ${oneLine(run.spec.id)} but the report was rendered with ${spec.id}: paraphrases are shown only for ids both share.`);
  } else if (spec.sha256 !== run.spec.sha256) {
    notes.push(`The spec files changed since this run (run: ${oneLine(run.spec.sha256).slice(0, 12)}…, now: ${spec.sha256.slice(0, 12)}…): paraphrases and order are from the current files.`);
  }
  const sections = sectionsOf(run, spec, limits);
  const summary = countStatuses(run.results.map((r) => r.status));
  const clauses = sections.flatMap((s) => s.clauses);
  const truncated = clauses.some((c) => c.observed?.truncated || c.evidence?.truncated || c.facts.some((f) => f.observed?.truncated));
  const option = (values: string[]) => {
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    return [...counts.entries()].map(([value, count]) => ({ value, label: value, count }));
  };
  const statusOptions = STATUSES.filter((s) => summary[s] > 0).map((s) => ({ value: s, label: STATUS_WORD[s], count: summary[s] }));
  const levelOrder = byLevel(run).map((l) => l.level);
  return {
    title: oneLine(`Compliance report: ${run.spec.title ?? run.spec.id} ${run.spec.version}`),
    subtitle: oneLine(run.target.kind === 'none' ? 'no target' : `${run.target.kind} ${run.target.path ?? ''}`),
    meta: metaRows(run),
    summary,
    total: run.results.length,
    statusRows: STATUSES.map((s) => ({ status: s, word: STATUS_WORD[s], count: summary[s], meaning: STATUS_MEANING[s] })),
    byLevel: byLevel(run),
    exitCode: run.exitCode,
    exitMeaning: EXIT_MEANING[run.exitCode] ?? '',
    sections,
    matrix: matrixOf(run, sections, spec),
    warnings: (run.warnings ?? []).map((w) => cleanText(String(w))),
    notes,
    truncated,
    filters: {
      status: statusOptions,
      level: option(clauses.map((c) => c.level)).sort((a, b) => levelOrder.indexOf(a.value) - levelOrder.indexOf(b.value)),
      target: option(clauses.map((c) => c.target)),
    },
  };
}
