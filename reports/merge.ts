import { basename } from 'node:path';
import type { Status, Summary } from '../engine/results.js';
import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import { renderPage } from './html.js';
import { md, table } from './markdown.js';
import { xmlAttr, xmlText } from './junit.js';
import { EXIT_MEANING, expiryWords, STATUS_WORD } from './model.js';
import { oneLine } from './sanitize.js';
import { diagnostics, tapDescription } from './tap.js';

/** One run as a column of the matrix. */
export interface MergeColumn {
  index: number;
  /** Short, unique heading: the target's file name (or kind), numbered when repeated. */
  label: string;
  source?: string;
  target: { kind: string; path: string | null; sha256: string | null; format: string | null };
  spec: { id: string; version: string; sha256: string };
  startedAt: string;
  summary: Summary;
  exitCode: number;
  exitMeaning: string;
}

export interface MergeCell {
  status: Status;
  word: string;
  message: string;
  /** For a waived cell: the waiver's justification, owner and expiry, in words. */
  waiver?: string;
}

export interface MergeRow {
  id: string;
  title: string;
  level: string;
  label: string;
  /** One cell per column; null when that run did not check the requirement. */
  cells: (MergeCell | null)[];
}

export interface MergeSection {
  title: string;
  rows: MergeRow[];
}

/** Several runs (different targets, same spec) as one targets × clauses matrix. */
export interface MergedRuns {
  columns: MergeColumn[];
  sections: MergeSection[];
  warnings: string[];
}

export interface MergeInput {
  run: RunWithWaivers;
  /** Where the run was read from (shown in the column's details). */
  source?: string;
}

/** `environment.hypervisor` (vmspec boot, LAVA runs) when the run records one. */
function recordedHypervisor(run: RunWithWaivers): string | undefined {
  const env = (run as { environment?: unknown }).environment;
  const h = env && typeof env === 'object' ? (env as Record<string, unknown>).hypervisor : undefined;
  return typeof h === 'string' && h.trim() ? h : undefined;
}

const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? oneLine(v, 60) : typeof v === 'number' ? String(v) : undefined);

/**
 * What set a run apart besides its image and hypervisor, as `name value`
 * words: the firmware as the guest saw it (vendor and UEFI revision from the
 * evidence.uefi facts in the results; else what the host's firmware
 * descriptor says) and the machine options vmspec boot records (GIC and ACPI
 * of each boot, accelerator, vCPUs, memory, extra QEMU arguments). Results of
 * older writers, or of verify, simply have fewer of these.
 */
function runTraits(run: RunWithWaivers): Map<string, string> {
  const traits = new Map<string, string>();
  const env = record((run as { environment?: unknown }).environment);
  const fwFacts = record(record(run.results.find((r) => r.probe === 'evidence.uefi' && r.observed)?.observed).firmware);
  const vendor = text(fwFacts.vendor);
  const uefi = text(fwFacts.version);
  const hostFw = record(env.firmware);
  const fw = vendor || uefi ? [vendor, uefi ? `UEFI ${uefi}` : undefined].filter(Boolean).join(' ') : [text(hostFw.description), text(hostFw.version)].filter(Boolean).join(' ');
  if (fw) traits.set('firmware', `firmware ${fw}`);
  const boots = record((run as { boot?: unknown }).boot).boots;
  if (Array.isArray(boots) && boots.length) {
    const each = boots.map((b) => record(b));
    traits.set('gic', `GICv${[...new Set(each.map((b) => text(b.gic) ?? '?'))].join('+v')}`);
    traits.set('acpi', [...new Set(each.map((b) => (b.acpi === false ? 'DT' : b.acpi === true ? 'ACPI' : '?')))].join('+'));
  } else {
    // An evidence run: the GIC and the description the guest booted with.
    const gic = text(record(run.results.find((r) => r.probe === 'evidence.gic' && r.observed)?.observed).inUse);
    const description = text(record(run.results.find((r) => r.probe === 'evidence.uefi' && r.observed)?.observed).hardwareDescription);
    if (gic) traits.set('gic', gic);
    if (description) traits.set('acpi', description === 'device tree' ? 'DT' : description);
  }
  const accel = text(env.accelerator);
  if (accel) traits.set('accel', accel.toUpperCase());
  const machine = record(env.machine);
  if (text(machine.cpus)) traits.set('cpus', `${text(machine.cpus)} vCPUs`);
  if (text(machine.memoryMiB)) traits.set('memory', `${text(machine.memoryMiB)} MiB`);
  if (Array.isArray(machine.qemuArgs)) traits.set('qemuArgs', machine.qemuArgs.length ? oneLine(machine.qemuArgs.map(String).join(' '), 80) : 'no extra QEMU arguments');
  return traits;
}

export function mergeRuns(inputs: MergeInput[], spec?: SpecSet): MergedRuns {
  const warnings: string[] = [];
  const labels = new Map<string, number>();
  const bases = inputs.map(({ run }, index) => {
    const t = run.target;
    const label = oneLine(t.path ? basename(t.path) : t.kind === 'none' ? 'no target' : t.kind, 80) || `run ${index + 1}`;
    // A matrix of boots repeats the image: the hypervisor the run records tells the columns apart.
    const hypervisor = recordedHypervisor(run);
    return hypervisor ? `${label} · ${oneLine(hypervisor, 60)}` : label;
  });
  // Columns that would read alike are told apart by what differs between them: firmware, machine options.
  const traits = inputs.map(({ run }) => runTraits(run));
  const distinct = bases.map((base, i) => {
    const peers = bases.flatMap((b, j) => (b === base ? [j] : []));
    if (peers.length < 2) return base;
    const keys = [...new Set(peers.flatMap((j) => [...traits[j]!.keys()]))];
    const differing = keys.filter((k) => new Set(peers.map((j) => traits[j]!.get(k) ?? '—')).size > 1);
    const words = differing.map((k) => traits[i]!.get(k) ?? `no ${k}`);
    return words.length ? `${base} · ${words.join(' · ')}` : base;
  });
  const columns: MergeColumn[] = inputs.map(({ run, source }, index) => {
    const t = run.target;
    let label = distinct[index]!;
    const seen = labels.get(label) ?? 0;
    labels.set(label, seen + 1);
    if (seen) label = `${label} (${seen + 1})`;
    return {
      index,
      label,
      ...(source ? { source: oneLine(source, 300) } : {}),
      target: { kind: t.kind, path: t.path === null ? null : oneLine(t.path, 500), sha256: t.sha256, format: t.format === null ? null : oneLine(t.format, 40) },
      spec: { id: oneLine(run.spec.id, 100), version: oneLine(run.spec.version, 40), sha256: oneLine(run.spec.sha256, 64) },
      startedAt: oneLine(run.startedAt, 40),
      summary: { ...run.summary },
      exitCode: run.exitCode,
      exitMeaning: EXIT_MEANING[run.exitCode] ?? '',
    };
  });
  const specIds = [...new Set(columns.map((c) => `${c.spec.id} ${c.spec.version}`))];
  if (specIds.length > 1) warnings.push(`the runs checked different specs (${specIds.join('; ')}): rows are matched by requirement id`);
  const shas = new Set(columns.map((c) => c.spec.sha256));
  if (specIds.length === 1 && shas.size > 1) warnings.push('the runs used different revisions of the spec files (spec sha256 differs)');

  // Rows: the spec's order when given, then every other id in order of first appearance.
  const info = new Map<string, { title: string; level: string; label: string; section: string }>();
  const order: string[] = [];
  for (const r of spec?.requirements ?? []) {
    if (!inputs.some(({ run }) => run.results.some((x) => x.id === r.id))) continue;
    info.set(r.id, { title: oneLine(r.title, 300), level: r.level, label: r.ref.label, section: r.ref.section });
    order.push(r.id);
  }
  for (const { run } of inputs) {
    for (const r of run.results) {
      if (info.has(r.id)) continue;
      info.set(r.id, { title: oneLine(String(r.title), 300), level: oneLine(String(r.level), 40), label: oneLine(String(r.ref?.label ?? ''), 80), section: oneLine(String(r.ref?.section ?? ''), 200) });
      order.push(r.id);
    }
  }
  const byRun = inputs.map(({ run }) => new Map(run.results.map((r) => [r.id, r])));
  const sections: MergeSection[] = [];
  const sectionByTitle = new Map<string, MergeSection>();
  for (const id of order) {
    const i = info.get(id)!;
    let s = sectionByTitle.get(i.section);
    if (!s) {
      s = { title: i.section || '(no section)', rows: [] };
      sectionByTitle.set(i.section, s);
      sections.push(s);
    }
    s.rows.push({
      id: oneLine(id, 200),
      title: i.title,
      level: i.level,
      label: i.label,
      cells: byRun.map((m) => {
        const r = m.get(id);
        if (!r) return null;
        const cell: MergeCell = { status: r.status, word: STATUS_WORD[r.status], message: oneLine(String(r.message), 500) };
        const w = r.waiver;
        if (r.status === 'waived' && w && typeof w === 'object') {
          cell.waiver = oneLine(`${String(w.justification)} (owner ${String(w.owner)}, ${expiryWords(w.expires)}${w.runs === false ? ', not run' : ''})`, 1000);
        }
        return cell;
      }),
    });
  }
  return { columns, sections, warnings };
}

export function renderMergeHtml(m: MergedRuns): string {
  return renderPage('merge.njk', { m, total: m.sections.reduce((a, s) => a + s.rows.length, 0) });
}

export function renderMergeMarkdown(m: MergedRuns): string {
  const out = ['# vmspec results matrix', ''];
  out.push(table(['#', 'Target', 'Spec', 'Started', 'Pass', 'Fail', 'Error', 'Waived', 'Skip', 'Manual', 'Exit'], m.columns.map((c) => [
    String(c.index + 1),
    `${md(c.label)}${c.target.sha256 ? ` (sha256 ${md(c.target.sha256.slice(0, 12))}…)` : ''}`,
    md(`${c.spec.id} ${c.spec.version}`),
    md(c.startedAt),
    String(c.summary.pass), String(c.summary.fail), String(c.summary.error), String(c.summary.waived), String(c.summary.skip), String(c.summary.manual),
    String(c.exitCode),
  ])), '');
  if (m.warnings.length) out.push(...m.warnings.map((w) => `> ${md(w)}`), '');
  for (const s of m.sections) {
    out.push(`## ${md(s.title)}`, '');
    out.push(table(['Requirement', 'Clause', 'Level', ...m.columns.map((c) => `${c.index + 1}: ${md(c.label, 40)}`)], s.rows.map((r) => [
      `${md(r.id)} ${md(r.title, 120)}`, md(r.label), md(r.level), ...r.cells.map((c) => (c ? `**${c.word}**` : '—')),
    ])), '');
  }
  out.push('— = not checked in that run.', '');
  return out.join('\n');
}

export function renderMergeJson(m: MergedRuns): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

interface MergeCase {
  row: MergeRow;
  section: string;
  cell: MergeCell;
}

/** The clauses one run checked, in row order (cells that are empty are left out). */
function casesOf(m: MergedRuns, column: number): MergeCase[] {
  return m.sections.flatMap((s) => s.rows.flatMap((row) => {
    const cell = row.cells[column];
    return cell ? [{ row, section: s.title, cell }] : [];
  }));
}

function columnProps(c: MergeColumn): [string, string][] {
  return [
    ['source', c.source ?? ''],
    ['spec.id', c.spec.id],
    ['spec.version', c.spec.version],
    ['spec.sha256', c.spec.sha256],
    ['target.kind', c.target.kind],
    ['target.path', c.target.path ?? ''],
    ['target.sha256', c.target.sha256 ?? ''],
    ['exitCode', String(c.exitCode)],
  ];
}

function mergeTestcase({ row, section, cell }: MergeCase, c: MergeColumn): string {
  const open = `    <testcase name="${xmlAttr(`${row.id} ${row.title}`)}" classname="${xmlAttr(section)}"`;
  const msg = (s: string) => xmlAttr(oneLine(s, 1000));
  const body = xmlText([cell.message, '', `clause: ${row.label} — ${section}`, `level: ${row.level}`, `target: ${c.label}${c.target.path ? ` (${c.target.path})` : ''}`, ...(cell.waiver ? [`waiver: ${cell.waiver}`] : [])].join('\n'));
  switch (cell.status) {
    case 'pass': return `${open}/>`;
    case 'fail': return `${open}>\n      <failure message="${msg(cell.message)}" type="${xmlAttr(row.level)}">${body}</failure>\n    </testcase>`;
    case 'error': return `${open}>\n      <error message="${msg(cell.message)}" type="probe-error">${body}</error>\n    </testcase>`;
    case 'skip': return `${open}>\n      <skipped message="${msg(cell.message)}" type="not-applicable"/>\n    </testcase>`;
    case 'undecided': return `${open}>\n      <skipped message="${msg(`undecided: ${cell.message.replace(/^undecided: /, '')}`)}" type="undecided">${body}</skipped>\n    </testcase>`;
    case 'manual': return `${open}>\n      <skipped message="${msg(`manual: ${cell.message}`)}" type="manual">${body}</skipped>\n    </testcase>`;
    case 'waived': return `${open}>\n      <skipped message="${msg(`waived: ${cell.waiver ?? cell.message}`)}" type="waived">${body}</skipped>\n    </testcase>`;
  }
}

/**
 * JUnit XML for a merge: one <testsuite> per target (run), one <testcase>
 * per clause that run checked (classname = section, name = "ID title");
 * outcomes as in the single-run JUnit report. Clauses a run did not check
 * have no testcase in its suite.
 */
export function renderMergeJunit(m: MergedRuns): string {
  let fails = 0;
  let errors = 0;
  let tests = 0;
  const suites = m.columns.map((c) => {
    const cases = casesOf(m, c.index);
    const count = (...st: Status[]) => cases.filter((x) => st.includes(x.cell.status)).length;
    tests += cases.length;
    fails += count('fail');
    errors += count('error');
    const head = `  <testsuite name="${xmlAttr(c.label)}" tests="${cases.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip', 'manual', 'waived', 'undecided')}" timestamp="${xmlAttr(c.startedAt)}" id="${c.index}" package="${xmlAttr(c.spec.id)}">`;
    const props = `    <properties>\n${columnProps(c).map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`).join('\n')}\n    </properties>`;
    return [head, props, ...cases.map((x) => mergeTestcase(x, c)), '  </testsuite>'].join('\n');
  });
  const root = `<testsuites name="${xmlAttr(`vmspec results matrix: ${m.columns.length} target(s)`)}" tests="${tests}" failures="${fails}" errors="${errors}">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n${suites.join('\n')}\n</testsuites>\n`;
}

/**
 * TAP version 14 for a merge: one subtest per target (run), each with its
 * own plan and one test point per clause that run checked (sections as
 * comments); the parent test point is `not ok` when a clause failed or
 * errored, with the run's target and spec in its diagnostics.
 */
export function renderMergeTap(m: MergedRuns): string {
  const out = ['TAP version 14', `# vmspec results matrix: ${m.columns.length} target(s)`];
  for (const w of m.warnings) out.push(`# warning: ${tapDescription(w)}`);
  out.push(`1..${m.columns.length}`);
  const ind = '    ';
  for (const c of m.columns) {
    const name = tapDescription(c.label);
    const cases = casesOf(m, c.index);
    out.push(`# Subtest: ${name}`, `${ind}1..${cases.length}`);
    let section: string | undefined;
    let bad = 0;
    cases.forEach((x, i) => {
      if (x.section !== section) {
        section = x.section;
        out.push(`${ind}# ${tapDescription(section)}`);
      }
      const point = `${i + 1} - ${tapDescription(`${x.row.id} ${x.row.title}`)}`;
      const diag = () => diagnostics({ message: x.cell.message, severity: x.cell.status, level: x.row.level, label: x.row.label, section: x.section, ...(x.cell.waiver ? { waiver: x.cell.waiver } : {}) }, `${ind}  `);
      switch (x.cell.status) {
        case 'pass': out.push(`${ind}ok ${point}`); break;
        case 'fail':
        case 'error': bad++; out.push(`${ind}not ok ${point}`, diag()); break;
        case 'skip': out.push(`${ind}ok ${point} # SKIP ${tapDescription(x.cell.message)}`); break;
        case 'undecided': out.push(`${ind}ok ${point} # SKIP undecided: ${tapDescription(x.cell.message.replace(/^undecided: /, ''))}`); break;
        case 'manual': out.push(`${ind}ok ${point} # SKIP manual: ${tapDescription(x.cell.message)}`); break;
        case 'waived': out.push(`${ind}ok ${point} # waived: ${tapDescription(x.cell.waiver ?? x.cell.message)}`, diag()); break;
      }
    });
    out.push(`${ind}# ${Object.entries(c.summary).map(([k, v]) => `${k} ${v}`).join(', ')}; exit ${c.exitCode}`);
    out.push(`${bad ? 'not ok' : 'ok'} ${c.index + 1} - ${name}`, diagnostics(Object.fromEntries(columnProps(c).filter(([, v]) => v !== ''))));
  }
  return `${out.join('\n')}\n`;
}

export { MERGE_FORMATS, type MergeFormat } from './formats.js';
import type { MergeFormat } from './formats.js';

export function renderMerge(m: MergedRuns, format: MergeFormat): string {
  switch (format) {
    case 'html': return renderMergeHtml(m);
    case 'md': return renderMergeMarkdown(m);
    case 'junit': return renderMergeJunit(m);
    case 'tap': return renderMergeTap(m);
    case 'json': return renderMergeJson(m);
  }
}
