import type { Json } from '../probes/types.js';
import { deepEqual } from '../requirements/expect.js';
import type { Requirement } from '../requirements/requirement.js';
import { displayPath } from '../package/display-path.js';
import type { SpecSet } from '../requirements/spec-load.js';
import { stripVersionPrefix } from './diff.js';
import { renderPage } from './html.js';
import { md, table } from './markdown.js';
import { describeSafely } from './model.js';
import { cleanText, oneLine, shortJson } from './sanitize.js';
import { painter, safeTerminalText } from './style.js';

/** How a requirement is checked, in words. */
export interface HowChecked {
  probe: string;
  params?: string;
  /** What must have been readable for a verdict (else undecided). */
  needs?: string[];
  when: string[];
  expect: string[];
}

export interface SpecRequirementView {
  id: string;
  anchor: string;
  title: string;
  text: string;
  level: string;
  /** The keyword as the YAML wrote it, when it differs from the normalised level. */
  levelAsWritten?: string;
  mandatory: boolean;
  informative: boolean;
  target: string;
  label: string;
  page: number;
  checked?: HowChecked;
  manual?: string;
  remediation?: string;
  tags: string[];
  source: string;
}

export interface SpecSectionView {
  title: string;
  page: number;
  anchor: string;
  summary?: string;
  requirements: SpecRequirementView[];
}

export interface SpecModel {
  id: string;
  title: string;
  version: string;
  revised?: string;
  source?: string;
  sha256: string;
  sections: SpecSectionView[];
  labels: { label: string; ids: { id: string; anchor: string }[] }[];
  counts: { requirements: number; automated: number; manual: number; mandatory: number };
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase();
}

function howChecked(r: Requirement): HowChecked | undefined {
  if (!r.probe || !r.expect) return undefined;
  return {
    probe: r.probe,
    ...(Object.keys(r.params).length ? { params: shortJson(r.params, 400) } : {}),
    ...(r.needs ? { needs: r.needs.map((e) => cleanText(describeSafely(e))) } : {}),
    when: (r.when ?? []).map((e) => cleanText(describeSafely(e))),
    expect: r.expect.map((e) => cleanText(describeSafely(e))),
  };
}

/** The spec as its editors and readers see it, from the YAML. */
export function buildSpecModel(spec: SpecSet): SpecModel {
  const sections = spec.sections.map((s, i) => ({
    title: oneLine(s.title, 300),
    page: s.page,
    anchor: `section-${i}-${slug(s.title)}`,
    ...(s.summary ? { summary: cleanText(s.summary.trim()) } : {}),
    requirements: s.requirements.map((r) => {
      const checked = howChecked(r);
      return {
        id: oneLine(r.id, 200),
        anchor: `req-${slug(r.id)}`,
        title: oneLine(r.title, 500),
        text: cleanText(r.text),
        level: r.level,
        ...(r.levelAsWritten !== r.level ? { levelAsWritten: oneLine(r.levelAsWritten, 40) } : {}),
        mandatory: r.mandatory,
        informative: r.informative,
        target: r.target,
        label: oneLine(r.ref.label, 80),
        page: r.ref.page,
        ...(checked ? { checked } : {}),
        ...(r.manual ? { manual: cleanText(r.manual) } : {}),
        ...(r.remediation ? { remediation: cleanText(r.remediation) } : {}),
        tags: r.tags.map((t) => oneLine(t, 80)),
        source: `${displayPath(r.source.file)}:${r.source.line}`,
      };
    }),
  }));
  const all = sections.flatMap((s) => s.requirements);
  const labels = spec.labels.map((label) => ({ label, ids: all.filter((r) => r.label === label).map((r) => ({ id: r.id, anchor: r.anchor })) }));
  return {
    id: spec.id,
    title: oneLine(spec.title, 300),
    version: spec.version,
    ...(spec.revised ? { revised: spec.revised } : {}),
    ...(spec.source ? { source: oneLine(spec.source, 500) } : {}),
    sha256: spec.sha256,
    sections,
    labels,
    counts: {
      requirements: all.length,
      automated: all.filter((r) => r.checked).length,
      manual: all.filter((r) => !r.checked).length,
      mandatory: all.filter((r) => r.mandatory).length,
    },
  };
}

export function renderSpecHtml(spec: SpecSet): string {
  return renderPage('spec.njk', { s: buildSpecModel(spec) });
}

export function renderSpecMarkdown(spec: SpecSet): string {
  const s = buildSpecModel(spec);
  const out = [`# ${md(`${s.title} ${s.version} (${s.id})`)}`, ''];
  const meta = [
    ['Version', md(s.version)],
    ...(s.revised ? [['Revised', md(s.revised)]] : []),
    ...(s.source ? [['Source', md(s.source)]] : []),
    ['YAML sha256', md(s.sha256)],
    ['Requirements', `${s.counts.requirements} (${s.counts.automated} checked by a probe, ${s.counts.manual} by hand; ${s.counts.mandatory} mandatory)`],
  ];
  out.push(table(['Spec', ''], meta), '', 'Requirement texts are paraphrases of the clauses, not the specification\'s sentences.', '');
  for (const sec of s.sections) {
    out.push(`## ${md(sec.title)} (p${sec.page})`, '');
    if (sec.summary) out.push(md(sec.summary), '');
    for (const r of sec.requirements) {
      out.push(`### ${md(r.id)}: ${md(r.title)}`, '');
      out.push(`- **Clause:** ${md(r.label)}, p${r.page} · **Level:** ${md(r.level)}${r.levelAsWritten ? ` (written ${md(r.levelAsWritten)})` : ''}${r.informative ? ' (informative)' : ''} · **Target:** ${md(r.target)}${r.tags.length ? ` · **Tags:** ${r.tags.map((t) => md(t)).join(', ')}` : ''}`);
      out.push(`- **Paraphrase:** ${md(r.text)}`);
      if (r.checked) {
        out.push(`- **Checked by** probe ${md(r.checked.probe)}${r.checked.params ? ` with ${md(r.checked.params)}` : ''}:`);
        for (const n of r.checked.needs ?? []) out.push(`  - decidable when ${md(n)}`);
        for (const w of r.checked.when) out.push(`  - applies when ${md(w)}`);
        for (const e of r.checked.expect) out.push(`  - expects ${md(e)}`);
      } else if (r.manual) {
        out.push(`- **Checked by hand:** ${md(r.manual)}`);
      }
      if (r.remediation) out.push(`- **Remediation:** ${md(r.remediation)}`);
      out.push(`- **Defined in:** ${md(r.source)}`, '');
    }
  }
  out.push('## Clause inventory', '', table(['Clause', 'Requirements'], s.labels.map((l) => [md(l.label), l.ids.map((i) => md(i.id)).join(', ') || '*none*'])), '');
  return out.join('\n');
}

export { SPEC_RENDER_FORMATS, type SpecRenderFormat } from './formats.js';
import type { SpecRenderFormat } from './formats.js';

export function renderSpec(spec: SpecSet, format: SpecRenderFormat): string {
  return format === 'html' ? renderSpecHtml(spec) : renderSpecMarkdown(spec);
}

// ---- spec diff ---------------------------------------------------------------------------

/** The fields of a requirement a spec diff compares. */
const COMPARED = ['label', 'section', 'page', 'level', 'target', 'title', 'text', 'informative', 'probe', 'params', 'needs', 'when', 'expect', 'manual', 'remediation', 'tags'] as const;
type Compared = (typeof COMPARED)[number];

function fieldOf(r: Requirement, f: Compared): Json | undefined {
  switch (f) {
    case 'label': return r.ref.label;
    case 'section': return r.ref.section;
    case 'page': return r.ref.page;
    case 'params': return r.params;
    case 'needs': return (r.needs ?? null) as unknown as Json;
    case 'when': return (r.when ?? null) as unknown as Json;
    case 'expect': return (r.expect ?? null) as unknown as Json;
    default: return (r[f] ?? null) as Json;
  }
}

export interface FieldChange {
  field: Compared;
  old: string;
  new: string;
}

export interface ClauseBrief {
  id: string;
  label: string;
  level: string;
  title: string;
}

export interface SpecDiff {
  old: { id: string; version: string; sha256: string };
  new: { id: string; version: string; sha256: string };
  added: ClauseBrief[];
  removed: ClauseBrief[];
  changed: { oldId: string; newId: string; matchedBy: 'id' | 'label'; label: string; changes: FieldChange[] }[];
  unchanged: number;
}

function brief(r: Requirement): ClauseBrief {
  return { id: r.id, label: r.ref.label, level: r.level, title: r.title };
}

function show(v: Json | undefined): string {
  if (v === null || v === undefined) return '(none)';
  if (typeof v === 'string') return oneLine(v, 300);
  if (Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x) && 'fact' in x)) return oneLine(v.map((e) => describeSafely(e)).join('; '), 300);
  return shortJson(v, 300);
}

/**
 * Compare two spec versions: requirements are matched by id with the
 * V1-/V2- prefix stripped; those left over are paired when they are the
 * only ones on both sides citing the same clause label (ref.label).
 */
export function diffSpecs(a: SpecSet, b: SpecSet): SpecDiff {
  const olds = [...a.requirements];
  const news = [...b.requirements];
  const pairs: { o: Requirement; n: Requirement; by: 'id' | 'label' }[] = [];
  const oldByKey = new Map(olds.map((r) => [stripVersionPrefix(r.id).toUpperCase(), r]));
  const usedOld = new Set<Requirement>();
  const restNew: Requirement[] = [];
  for (const n of news) {
    const o = oldByKey.get(stripVersionPrefix(n.id).toUpperCase());
    if (o && !usedOld.has(o)) {
      pairs.push({ o, n, by: 'id' });
      usedOld.add(o);
    } else restNew.push(n);
  }
  const restOld = olds.filter((o) => !usedOld.has(o));
  const added: Requirement[] = [];
  for (const n of restNew) {
    const sameLabelNew = restNew.filter((x) => x.ref.label === n.ref.label);
    const sameLabelOld = restOld.filter((x) => x.ref.label === n.ref.label && !usedOld.has(x));
    if (sameLabelNew.length === 1 && sameLabelOld.length === 1) {
      pairs.push({ o: sameLabelOld[0]!, n, by: 'label' });
      usedOld.add(sameLabelOld[0]!);
    } else added.push(n);
  }
  const removed = olds.filter((o) => !usedOld.has(o));
  const changed: SpecDiff['changed'] = [];
  let unchanged = 0;
  for (const { o, n, by } of pairs) {
    const changes: FieldChange[] = [];
    for (const f of COMPARED) {
      const x = fieldOf(o, f);
      const y = fieldOf(n, f);
      if (!deepEqual(x ?? null, y ?? null)) changes.push({ field: f, old: show(x), new: show(y) });
    }
    if (changes.length || by === 'label') changed.push({ oldId: o.id, newId: n.id, matchedBy: by, label: n.ref.label, changes });
    else unchanged++;
  }
  return {
    old: { id: a.id, version: a.version, sha256: a.sha256 },
    new: { id: b.id, version: b.version, sha256: b.sha256 },
    added: added.map(brief),
    removed: removed.map(brief),
    changed,
    unchanged,
  };
}

export { SPEC_DIFF_FORMATS, type SpecDiffFormat } from './formats.js';
import type { SpecDiffFormat } from './formats.js';

function diffTotals(d: SpecDiff): string {
  return `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.unchanged} unchanged`;
}

export function renderSpecDiffText(d: SpecDiff, opts: { colour?: boolean } = {}): string {
  const paint = painter(opts.colour ?? false);
  const t = safeTerminalText;
  const lines = [paint('bold', `vmspec spec diff: ${d.old.id} ${d.old.version} → ${d.new.id} ${d.new.version}`)];
  if (d.added.length) {
    lines.push('', paint('green', `Added (${d.added.length}):`));
    for (const c of d.added) lines.push(`  + ${c.id.padEnd(28)} ${c.label.padEnd(8)} ${c.level.padEnd(11)} ${t(c.title)}`);
  }
  if (d.removed.length) {
    lines.push('', paint('red', `Removed (${d.removed.length}):`));
    for (const c of d.removed) lines.push(`  - ${c.id.padEnd(28)} ${c.label.padEnd(8)} ${c.level.padEnd(11)} ${t(c.title)}`);
  }
  if (d.changed.length) {
    lines.push('', paint('yellow', `Changed (${d.changed.length}):`));
    for (const c of d.changed) {
      const by = c.matchedBy === 'label' ? ` (matched by clause ${c.label})` : '';
      lines.push(`  ~ ${c.oldId} → ${c.newId}${by}${c.changes.length ? '' : ': no field changed'}`);
      for (const f of c.changes) lines.push(`      ${f.field}: ${t(f.old)}`, `      ${' '.repeat(f.field.length)}→ ${t(f.new)}`);
    }
  }
  lines.push('', `${paint('bold', 'Summary:')} ${diffTotals(d)}`);
  return `${lines.join('\n')}\n`;
}

export function renderSpecDiffMarkdown(d: SpecDiff): string {
  const out = [`# Spec diff: ${md(`${d.old.id} ${d.old.version} → ${d.new.id} ${d.new.version}`)}`, '', `**${diffTotals(d)}**`, ''];
  const list = (title: string, items: ClauseBrief[]) => {
    if (items.length) out.push(`## ${title} (${items.length})`, '', table(['Requirement', 'Clause', 'Level', 'Title'], items.map((c) => [md(c.id), md(c.label), md(c.level), md(c.title)])), '');
  };
  list('Added', d.added);
  list('Removed', d.removed);
  if (d.changed.length) {
    out.push(`## Changed (${d.changed.length})`, '');
    out.push(table(['Requirement', 'Field', 'Old', 'New'], d.changed.flatMap((c) => {
      const who = `${md(c.oldId)} → ${md(c.newId)}${c.matchedBy === 'label' ? ` (clause ${md(c.label)})` : ''}`;
      return c.changes.length ? c.changes.map((f, i) => [i === 0 ? who : '', md(f.field), md(f.old), md(f.new)]) : [[who, '', '', '']];
    })), '');
  }
  return out.join('\n');
}

export function renderSpecDiff(d: SpecDiff, format: SpecDiffFormat, opts: { colour?: boolean } = {}): string {
  switch (format) {
    case 'text': return renderSpecDiffText(d, opts);
    case 'md': return renderSpecDiffMarkdown(d);
    case 'json': return `${JSON.stringify(d, null, 2)}\n`;
  }
}
