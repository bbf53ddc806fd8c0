import type { RunResults, Status } from '../engine/results.js';
import { painter, safeTerminalText, type Style } from './style.js';

const BADGE: Record<Status, { word: string; style: Style }> = {
  pass: { word: 'PASS', style: 'green' },
  fail: { word: 'FAIL', style: 'red' },
  skip: { word: 'SKIP', style: 'grey' },
  error: { word: 'ERROR', style: 'magenta' },
  waived: { word: 'WAIVED', style: 'yellow' },
  manual: { word: 'MANUAL', style: 'cyan' },
  undecided: { word: 'UNDECIDED', style: 'magenta' },
};

const EXIT_MEANING: Record<number, string> = {
  0: 'every selected MUST/SHALL clause passed',
  1: 'a MUST/SHALL clause failed',
  3: 'a probe could not run',
  4: 'a MUST/SHALL clause is undecided: not judged, so not passed',
};

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** One line per clause, grouped by section in spec order, summary last. */
export function renderText(run: RunResults, opts: { colour: boolean; verbose?: boolean }): string {
  const paint = painter(opts.colour);
  const lines: string[] = [];
  const t = run.target;
  const target = t.kind === 'none' ? 'no target' : `${t.kind} ${safeTerminalText(t.path ?? '')}${t.format ? ` (${t.format}${t.size !== null ? `, ${formatBytes(t.size)}` : ''})` : ''}`;
  lines.push(paint('bold', `vmspec ${run.tool.version} · ${run.spec.title} ${run.spec.version} (${run.spec.id}) · ${target}`));
  const idWidth = Math.min(34, Math.max(...run.results.map((r) => r.id.length), 10));
  let section = '';
  for (const r of run.results) {
    if (r.ref.section !== section) {
      section = r.ref.section;
      lines.push('', paint('bold', `${section} (p${r.ref.page})`));
    }
    const b = BADGE[r.status];
    const badge = paint(b.style, b.word.padEnd(6));
    const level = r.level.padEnd(11);
    const showReason = r.status !== 'pass' || opts.verbose;
    const reason = showReason ? paint('dim', ` — ${safeTerminalText(r.message)}`) : '';
    lines.push(`  ${badge} ${r.id.padEnd(idWidth)} ${level} ${safeTerminalText(r.title)}${reason}`);
    if (r.status === 'fail' && r.remediation && opts.verbose) lines.push(`         ${paint('yellow', 'fix:')} ${safeTerminalText(r.remediation)}`);
    const waiver = (r as { waiver?: { justification?: unknown; owner?: unknown; expires?: unknown; runs?: unknown } }).waiver;
    if (r.status === 'waived' && waiver) {
      const until = typeof waiver.expires !== 'string' || !waiver.expires.trim() || waiver.expires === 'no expiry' ? 'no expiry' : `until ${waiver.expires}`;
      lines.push(`         ${paint('yellow', 'waived:')} ${safeTerminalText(String(waiver.justification))} (${safeTerminalText(String(waiver.owner))}, ${safeTerminalText(until)}${waiver.runs === false ? ', not run' : ''})`);
    }
  }
  const warnings = (run as { warnings?: unknown }).warnings;
  if (Array.isArray(warnings) && warnings.length) {
    lines.push('', paint('yellow', 'Warnings:'), ...warnings.map((w) => `  ${safeTerminalText(String(w))}`));
  }
  const s = run.summary;
  // Results written before `undecided` existed have no such key: shown only when there is one.
  const keys = (['pass', 'fail', 'skip', 'error', 'waived', 'manual', 'undecided'] as const).filter((k) => k !== 'undecided' || (s[k] ?? 0) > 0);
  const parts = keys.map((k) => {
    const text = `${s[k]} ${k}`;
    return s[k] && k !== 'pass' && k !== 'skip' && k !== 'manual' ? paint(BADGE[k].style, text) : text;
  });
  lines.push('', `${paint('bold', 'Summary:')} ${parts.join(', ')} — exit ${run.exitCode} (${EXIT_MEANING[run.exitCode] ?? ''})`);
  return `${lines.join('\n')}\n`;
}
