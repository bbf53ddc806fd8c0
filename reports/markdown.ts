import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import { buildReportModel, type ClauseView, type ReportModel } from './model.js';
import { DISPLAY_LIMITS, oneLine } from './sanitize.js';

/**
 * GitHub-flavoured Markdown. Untrusted text never reaches the output as
 * markup: it is put on one line, `<`, `>` and `&` become entities (so no raw
 * HTML survives any renderer), the characters that open inline markup
 * (backslash, backtick, `*`, `_`, `[`, `]`, `|`, `~`, `#`) are
 * backslash-escaped, `://` is broken so no autolink forms, and a leading
 * `-`, `+`, `=` or `1.` cannot start a list or heading. Facts go in fenced
 * code blocks whose fence is longer than any backtick run inside.
 */
export function md(s: unknown, max: number = DISPLAY_LIMITS.line): string {
  return oneLine(String(s ?? ''), max)
    .trim()
    .replace(/[\\`*_[\]|~#]/g, (c) => `\\${c}`)
    .replace(/:(?=\/\/)/g, '\\:')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/^([-+=])/, '\\$1')
    .replace(/^(\d+)([.)])/, '$1\\$2');
}

/** A fenced code block that its content cannot close. */
export function fence(text: string, info = ''): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(Math.max(3, longest + 1));
  return `${f}${info}\n${text}\n${f}`;
}

/** A GFM table; cells must already be escaped with md(). */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const MD_JSON = { ...DISPLAY_LIMITS, string: 500, arrayItems: 30, objectKeys: 60, depth: 8, block: 8 * 1024 };

function clauseDetail(c: ClauseView): string {
  const out: string[] = [];
  out.push(`#### ${c.statusWord} ${md(c.id)}: ${md(c.title)}`, '');
  const attrs = [
    `**Clause:** ${md(c.label)}${c.page ? `, p${c.page}` : ''} (${md(c.specId)})`,
    `**Level:** ${md(c.level)}${c.mandatory ? '' : ' (does not fail the run)'}`,
    `**Target:** ${md(c.target)}`,
    `**Checked by:** ${c.probe ? `probe ${md(c.probe)}${c.params ? ` with ${md(c.params, 400)}` : ''}` : 'an auditor, by hand'}`,
  ];
  out.push(`- ${attrs.join(' · ')}`);
  if (c.paraphrase) out.push(`- **Paraphrase:** ${md(c.paraphrase)}`);
  out.push(`- **Verdict:** ${md(c.message)}`);
  if (c.waiver) {
    const w = c.waiver;
    out.push(`- **Waived** by ${md(w.id)}${w.source ? ` (${md(w.source)})` : ''}: ${md(w.justification)} — owner ${md(w.owner)}, ${md(w.expiry)}${w.ticket ? `, ticket ${md(w.ticket)}` : ''}${w.target ? `, target ${md(w.target)}` : ''}${w.hypervisor ? `, hypervisor ${md(w.hypervisor)}` : ''}${w.notRun ? ', not run (`runs: false`)' : ''}`);
  }
  if (c.remediation) out.push(`- **Remediation:** ${md(c.remediation)}`);
  if (c.manual) out.push(`- **Manual procedure:** ${md(c.manual)}`);
  if (c.mismatches.length) {
    out.push('', table(['Fact', 'Why it does not hold', 'Expected', 'Observed'], c.mismatches.map((m) => [md(m.path), md(m.reason), md(m.expected ?? '', 300), m.actual === undefined ? '*absent*' : md(m.actual, 300)])));
  }
  if (c.facts.length) {
    out.push('', table(['', 'Expected', 'Observed'], c.facts.map((f) => [f.kind === 'needs' ? 'decidable when' : f.kind === 'when' ? 'applies when' : 'expects', md(f.expected), f.observed ? md(f.observed.text.replace(/\s*\n\s*/g, ' '), 300) : '*absent*'])));
  }
  if (c.observed !== null) {
    out.push('', `Observed facts${c.observed.truncated ? ' (shortened for display; the JSON results hold them in full)' : ''}:`, '', fence(c.observed.text, 'json'));
  }
  return out.join('\n');
}

/** Render a report model (shared with merge/diff helpers) as Markdown. */
export function renderMarkdownModel(r: ReportModel): string {
  const out: string[] = [];
  out.push(`# ${md(r.title)}`, '');
  out.push(table(['Run', ''], r.meta.map((m) => [md(m.label), m.json ? md(m.json.text.replace(/\s*\n\s*/g, ' '), 500) : md(m.value)])), '');
  out.push('## Summary', '');
  out.push(`**Exit code ${r.exitCode}:** ${md(r.exitMeaning)}. ${r.total} clause${r.total === 1 ? '' : 's'} checked.`, '');
  out.push(table(['Status', 'Clauses', 'Meaning'], r.statusRows.map((s) => [`**${s.word}**`, String(s.count), md(s.meaning)])), '');
  out.push('### By level', '');
  out.push(table(['Level', ...r.statusRows.map((s) => s.word), 'Total'], r.byLevel.map((l) => [md(l.level), ...r.statusRows.map((s) => String(l.counts[s.status])), String(l.total)])), '');
  if (r.warnings.length) {
    out.push('> [!WARNING]', '> **Warnings**', ...r.warnings.map((w) => `> - ${md(w)}`), '');
  }
  const notes = [...r.notes, ...(r.truncated ? ['Some observed values are shortened for display and marked "[truncated: …]"; the JSON results hold them in full.'] : [])];
  if (notes.length) out.push(...notes.map((n) => `> ${md(n)}`), '');

  out.push('## Clauses', '');
  for (const s of r.sections) {
    out.push(`### ${md(s.title)}${s.page ? ` (p${s.page})` : ''}`, '');
    if (s.summary) out.push(md(s.summary), '');
    out.push(table(['Verdict', 'Requirement', 'Clause', 'Level', 'Target', 'Title', 'Reason'], s.clauses.map((c) => [
      `**${c.statusWord}**`, md(c.id), `${md(c.label)}${c.page ? ` p${c.page}` : ''}`, md(c.level), md(c.target), md(c.title, 300), c.status === 'pass' ? '' : md(c.message, 300),
    ])), '');
    const detailed = s.clauses.filter((c) => c.status === 'fail' || c.status === 'error' || c.status === 'waived');
    for (const c of detailed) out.push(clauseDetail(c), '');
  }
  const manual = r.sections.flatMap((s) => s.clauses).filter((c) => c.status === 'manual');
  if (manual.length) {
    out.push('## Manual checks', '', 'These clauses are not machine-checkable; an auditor checks them by hand:', '');
    for (const c of manual) out.push(`- **${md(c.id)}** (${md(c.label)}, ${md(c.level)}): ${md(c.title)}${c.manual ? ` — ${md(c.manual)}` : ''}`);
    out.push('');
  }
  out.push('## Traceability matrix', '');
  out.push(table(['Section', 'Clause', 'Requirement', 'Probe', 'Verdict'], r.matrix.map((m) => [
    m.sectionSpan ? md(m.section) : '', m.labelSpan ? md(m.label) : '', md(m.id), md(m.probe), m.status === 'not selected' ? '*not selected*' : `**${m.statusWord}**`,
  ])), '');
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

export function renderMarkdown(run: RunWithWaivers, spec?: SpecSet): string {
  return renderMarkdownModel(buildReportModel(run, spec, MD_JSON));
}
