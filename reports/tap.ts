import { yamlLines } from './yaml-emit.js';
import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import { describeSafely, sectionsOf, type ClauseView } from './model.js';
import { boundJson, cleanText, DISPLAY_LIMITS, oneLine } from './sanitize.js';

const TAP_JSON = { ...DISPLAY_LIMITS, string: 1000, arrayItems: 30, objectKeys: 60, depth: 8 };

/** A test point description: one line, `\` and `#` escaped (TAP 14). */
export function tapDescription(s: string): string {
  return oneLine(s, 1000).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

/** Directive text (after `# SKIP`): one line, escaped like a description so it cannot add a directive. */
function directiveText(s: string): string {
  return tapDescription(oneLine(s, 500));
}

/**
 * YAML diagnostics, indented two spaces. Strings are always quoted on a
 * single line (no block scalars, no folding), so no value can forge the
 * closing `...` or a test point.
 */
export function diagnostics(block: Record<string, unknown>, indent = '  '): string {
  return [`${indent}---`, ...yamlLines(flatStrings(block), indent), `${indent}...`].join('\n');
}

/** Every string with control characters made visible and line breaks written as `\n`: nothing spans lines. */
function flatStrings(v: unknown): unknown {
  if (typeof v === 'string') return cleanText(v).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  if (Array.isArray(v)) return v.map(flatStrings);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [flatStrings(k) as string, flatStrings(x)]));
  return v;
}

function expectedOf(run: RunWithWaivers, c: ClauseView): { when?: string[]; expect?: string[] } | undefined {
  const r = run.results[c.index];
  const e = r?.expected;
  if (!e || typeof e !== 'object' || Array.isArray(e)) return undefined;
  const list = (k: 'when' | 'expect') => (Array.isArray((e as Record<string, unknown>)[k]) ? ((e as Record<string, unknown>)[k] as unknown[]).map((x) => oneLine(describeSafely(x), 500)) : undefined);
  const when = list('when');
  const expect = list('expect');
  return { ...(when ? { when } : {}), ...(expect ? { expect } : {}) };
}

function diagFor(run: RunWithWaivers, c: ClauseView): Record<string, unknown> {
  const raw = run.results[c.index];
  const d: Record<string, unknown> = {
    message: oneLine(c.message, 4000),
    severity: c.status,
    level: c.level,
    mandatory: c.mandatory,
    target: c.target,
    ref: { spec: c.specId, section: c.section, label: c.label, page: c.page },
  };
  if (c.probe) d.probe = c.probe;
  const expected = expectedOf(run, c);
  if (expected) d.expected = expected;
  if (raw && raw.observed !== null && raw.observed !== undefined) {
    const b = boundJson(raw.observed, TAP_JSON);
    d.observed = b.value;
    if (b.truncated) d.observedTruncated = 'values shortened for display; the JSON results hold them in full';
  }
  if (c.mismatches.length) d.mismatches = c.mismatches;
  if (c.waiver) d.waiver = c.waiver;
  if (c.remediation) d.remediation = oneLine(c.remediation);
  if (c.manual) d.manual = oneLine(c.manual);
  return d;
}

/**
 * TAP version 14: a plan, one test point per requirement in spec order.
 * fail/error → `not ok` with YAML diagnostics (message, expected, observed,
 * ref); skip/manual → `ok … # SKIP reason`; waived → `ok … # waived: why`
 * with diagnostics; sections as comments.
 */
export function renderTap(run: RunWithWaivers, spec?: SpecSet): string {
  const sections = sectionsOf(run, spec);
  const total = sections.reduce((a, s) => a + s.clauses.length, 0);
  const out = ['TAP version 14', `# vmspec ${oneLine(run.tool?.version ?? '')}: ${oneLine(`${run.spec.title ?? ''} ${run.spec.version} (${run.spec.id})`)}; target ${oneLine(run.target.kind === 'none' ? 'none' : `${run.target.kind} ${run.target.path ?? ''}`)}`, `1..${total}`];
  let n = 0;
  for (const s of sections) {
    out.push(`# ${s.title}${s.page ? ` (p${s.page})` : ''}`);
    for (const c of s.clauses) {
      n++;
      const desc = tapDescription(`${c.id} ${c.title}`);
      switch (c.status) {
        case 'pass':
          out.push(`ok ${n} - ${desc}`);
          break;
        case 'fail':
        case 'error':
          out.push(`not ok ${n} - ${desc}`, diagnostics(diagFor(run, c)));
          break;
        case 'skip':
          out.push(`ok ${n} - ${desc} # SKIP ${directiveText(c.message)}`);
          break;
        case 'undecided':
          out.push(`ok ${n} - ${desc} # SKIP undecided: ${directiveText(c.message.replace(/^undecided: /, ''))}`);
          break;
        case 'manual':
          out.push(`ok ${n} - ${desc} # SKIP manual: ${directiveText(c.manual ?? c.message)}`);
          break;
        case 'waived':
          out.push(`ok ${n} - ${desc} # waived: ${directiveText(c.waiver?.justification ?? c.message)}`, diagnostics(diagFor(run, c)));
          break;
      }
    }
  }
  out.push(`# ${Object.entries(run.summary).map(([k, v]) => `${k} ${v}`).join(', ')}; exit ${run.exitCode}`);
  return `${out.join('\n')}\n`;
}
