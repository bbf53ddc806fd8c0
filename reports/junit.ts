import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import { sectionsOf, type ClauseView } from './model.js';
import { cleanText, oneLine, truncateText } from './sanitize.js';

// Anything outside XML 1.0's Char production (cleanText already made controls visible;
// this is the last line of defence).
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** Text content: XML-illegal characters removed, markup characters escaped. No CDATA, so `]]>` is inert. */
export function xmlText(s: unknown): string {
  return cleanText(String(s ?? ''))
    .replace(NOT_XML_CHAR, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Attribute value (always written in double quotes); newlines and tabs kept as character references. */
export function xmlAttr(s: unknown): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function details(c: ClauseView): string {
  const lines = [
    c.message,
    '',
    `clause: ${c.label}${c.page ? `, p${c.page}` : ''} — ${c.section} (${c.specId})`,
    `level: ${c.level}${c.mandatory ? '' : ' (does not fail the run)'}`,
    `target: ${c.target}`,
    `checked by: ${c.probe ? `probe ${c.probe}${c.params ? ` ${c.params}` : ''}` : 'hand (manual)'}`,
  ];
  if (c.paraphrase) lines.push(`clause says: ${c.paraphrase}`);
  for (const m of c.mismatches) {
    lines.push(`mismatch: ${m.path} ${m.reason}${m.expected !== undefined ? `; expected ${m.expected}` : ''}${m.actual !== undefined ? `; observed ${m.actual}` : ''}`);
  }
  for (const f of c.facts) lines.push(`${f.kind === 'needs' ? 'decidable when' : f.kind === 'when' ? 'applies when' : 'expects'}: ${f.expected}; observed ${f.observed ? truncateText(f.observed.text.replace(/\s*\n\s*/g, ' '), 500) : 'absent'}`);
  if (c.waiver) lines.push(`waiver: ${c.waiver.id}${c.waiver.source ? ` (${c.waiver.source})` : ''}: ${c.waiver.justification}; owner ${c.waiver.owner}; ${c.waiver.expiry}${c.waiver.ticket ? `; ticket ${c.waiver.ticket}` : ''}${c.waiver.hypervisor ? `; hypervisor ${c.waiver.hypervisor}` : ''}${c.waiver.notRun ? '; not run (runs: false)' : ''}`);
  if (c.remediation) lines.push(`remediation: ${c.remediation}`);
  if (c.manual) lines.push(`manual procedure: ${c.manual}`);
  return lines.join('\n');
}

function testcase(c: ClauseView, section: string): string {
  const open = `    <testcase name="${xmlAttr(`${c.id} ${c.title}`)}" classname="${xmlAttr(section)}" time="${seconds(c.durationMs ?? 0)}"`;
  const msg = (s: string) => xmlAttr(oneLine(s, 1000));
  switch (c.status) {
    case 'pass':
      return `${open}/>`;
    case 'fail':
      return `${open}>\n      <failure message="${msg(c.message)}" type="${xmlAttr(c.level)}">${xmlText(details(c))}</failure>\n    </testcase>`;
    case 'error':
      return `${open}>\n      <error message="${msg(c.message)}" type="probe-error">${xmlText(details(c))}</error>\n    </testcase>`;
    case 'skip':
      return `${open}>\n      <skipped message="${msg(c.message)}" type="not-applicable"/>\n    </testcase>`;
    case 'undecided':
      return `${open}>\n      <skipped message="${msg(`undecided: ${c.message.replace(/^undecided: /, '')}`)}" type="undecided">${xmlText(details(c))}</skipped>\n    </testcase>`;
    case 'manual':
      return `${open}>\n      <skipped message="${msg(`manual: ${c.manual ?? c.message}`)}" type="manual">${xmlText(details(c))}</skipped>\n    </testcase>`;
    case 'waived': {
      const why = c.waiver ? `waived: ${c.waiver.justification} (owner ${c.waiver.owner}, ${c.waiver.expiry}${c.waiver.notRun ? ', not run' : ''})` : `waived: ${c.message}`;
      return `${open}>\n      <skipped message="${msg(why)}" type="waived">${xmlText(details(c))}</skipped>\n    </testcase>`;
    }
  }
}

/**
 * JUnit XML: one <testsuite> per spec section, one <testcase> per
 * requirement (classname = section, name = "ID title"); <failure> for fail,
 * <error> for a probe that could not run, <skipped> for skip, undecided,
 * manual and waived (type says which: not-applicable, undecided, manual, waived). Valid against the Jenkins/Surefire JUnit XSD.
 */
export function renderJunit(run: RunWithWaivers, spec?: SpecSet): string {
  const sections = sectionsOf(run, spec);
  const props: [string, string][] = [
    ['vmspec.version', run.tool?.version ?? ''],
    ['spec.id', run.spec.id],
    ['spec.version', run.spec.version],
    ['spec.sha256', run.spec.sha256],
    ['target.kind', run.target.kind],
    ['target.path', run.target.path ?? ''],
    ['target.sha256', run.target.sha256 ?? ''],
    ['exitCode', String(run.exitCode)],
  ];
  const propsXml = `    <properties>\n${props.map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`).join('\n')}\n    </properties>`;
  const suites = sections.map((s, i) => {
    const count = (...st: string[]) => s.clauses.filter((c) => st.includes(c.status)).length;
    const time = s.clauses.reduce((a, c) => a + (c.durationMs ?? 0), 0);
    const head = `  <testsuite name="${xmlAttr(s.title)}" tests="${s.clauses.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip', 'manual', 'waived', 'undecided')}" time="${seconds(time)}" timestamp="${xmlAttr(run.startedAt)}" id="${i}" package="${xmlAttr(run.spec.id)}">`;
    return [head, propsXml, ...s.clauses.map((c) => testcase(c, s.title)), '  </testsuite>'].join('\n');
  });
  const all = sections.flatMap((s) => s.clauses);
  const name = `vmspec ${run.spec.id} ${run.spec.version}: ${run.target.kind}${run.target.path ? ` ${run.target.path}` : ''}`;
  const root = `<testsuites name="${xmlAttr(oneLine(name, 1000))}" tests="${all.length}" failures="${all.filter((c) => c.status === 'fail').length}" errors="${all.filter((c) => c.status === 'error').length}" time="${seconds(run.durationMs)}">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n${suites.join('\n')}\n</testsuites>\n`;
}
