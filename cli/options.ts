import { Option, type Command } from 'commander';
import { formatForFile, isFormatOf, RUN_FORMATS, type FormatSet, type RunFormat } from '../reports/formats.js';
import { profileNames, SelectionError, type SelectionFlags } from '../engine/select.js';
import { loadWaivers, type Waiver } from '../engine/waivers.js';

/**
 * Every option more than one command takes, defined once: --spec, the
 * selection options, --report/--waivers, --format/--output, and the value
 * parsers behind them.
 */

/** A repeatable option's values, in order. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** A whole number from 1 to max, or a usage error naming the option. */
export function positiveInt(name: string, v: string, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new SelectionError(`--${name} ${JSON.stringify(v)}: expected a whole number from 1 to ${max}`);
  return n;
}

/** The built-in spec a command uses unless told otherwise. */
export const DEFAULT_SPEC = 'vmspec-v2';

/** What --spec means differs by command; the option is the same. */
export const SPEC_HELP = {
  check: 'spec to check against: vmspec-v2, vmspec-v1, or a directory with spec.yaml',
  show: 'spec: vmspec-v2, vmspec-v1, or a directory',
  render: 'spec: vmspec-v2, vmspec-v1, or a directory with spec.yaml',
  reportRender: 'spec for section order, paraphrases and coverage (default: the spec the run used, when found)',
  reportMerge: 'spec for row order (default: the first run\'s spec, when found)',
} as const;

/** --spec NAME|DIR; `defaultSpec` null: the command finds the spec itself (from the results). */
export function specOption(help: string, defaultSpec: string | null = DEFAULT_SPEC): Option {
  const o = new Option('--spec <name|dir>', help);
  return defaultSpec === null ? o : o.default(defaultSpec);
}

/** The options of every command that judges clauses (verify, boot, lava-job) and of `spec list`. */
export interface SpecSelectionFlags extends SelectionFlags {
  spec: string;
}

export function addSelectionOptions(cmd: Command, opts: { specHelp?: string } = {}): Command {
  return cmd
    .addOption(specOption(opts.specHelp ?? SPEC_HELP.check))
    .option('--profile <name>', `named selection (${profileNames().join(', ')})`)
    .option('--only <ids>', 'requirement ids or globs, comma-separated (e.g. V2-IMG-*)', collect)
    .option('--section <title>', 'section title or part of it (repeatable)', collect)
    .option('--level <level>', 'MUST, SHOULD, ... or "mandatory" (repeatable, comma-separated)', collect)
    .option('--target <kind>', 'image, firmware, hypervisor or guest (repeatable, comma-separated)', collect)
    .option('--tags <tag>', 'requirements carrying a tag (repeatable, comma-separated)', collect);
}

/** --format, its choices read from the subject's format set (so --help lists exactly what renders). */
export function formatOption(formats: FormatSet<never, string> | readonly string[], o: { default?: string; help?: string } = {}): Option {
  const names = Array.isArray(formats) ? formats : (formats as FormatSet<never, string>).names;
  const opt = new Option('--format <format>', o.help ?? 'output format').choices([...names]);
  return o.default === undefined ? opt : opt.default(o.default);
}

export function outputOption(what?: string): Option {
  return new Option('-o, --output <file>', `write ${what ? `${what} ` : ''}to a file (atomically) instead of standard output`);
}

export function verboseOption(): Option {
  return new Option('-v, --verbose', 'show the reason for passing clauses too, and remediation for failures');
}

/** The format to write: --format, else the one --output's extension names, else the command's default. */
export function formatFor<F extends string>(formats: FormatSet<never, F>, o: { format?: F; output?: string }, fallback: F): F {
  return o.format ?? formatForFile(formats, o.output) ?? fallback;
}

// ---- --report FORMAT:FILE and --waivers for verify and boot ----------------------------------

export interface ReportTarget {
  format: RunFormat;
  file: string;
}

/** What `prepareReports` checked before the run, for `finishReports` after it. */
export interface PreparedReports {
  targets: ReportTarget[];
  waivers?: Waiver[];
}

/** Options for verify and boot: --report FORMAT:FILE (repeatable) and --waivers FILE. */
export function addReportOptions(cmd: Command): Command {
  return cmd
    .option('--report <format:file>', `also write a report (${RUN_FORMATS.names.join(', ')}), e.g. html:report.html; repeatable`, collect)
    .option('--waivers <file>', 'YAML waivers: an unexpired waiver turns a failing or undecided clause into "waived" (see docs/reports.md)');
}

/**
 * Parse `--report` values: `FORMAT:FILE` (html:out.html, junit:out.xml), or
 * a bare FILE whose extension names the format (.txt .html .md .xml .tap .json).
 */
export function parseReportTargets(values: string[] | undefined): ReportTarget[] {
  const names = RUN_FORMATS.names.join(', ');
  const out: ReportTarget[] = [];
  for (const v of values ?? []) {
    const m = /^([a-z]+):(.+)$/.exec(v);
    if (m && isFormatOf(RUN_FORMATS, m[1]!)) {
      out.push({ format: m[1], file: m[2]! });
      continue;
    }
    if (m && m[1]!.length > 1) throw new SelectionError(`--report ${v}: unknown format "${m[1]}" (one of ${names}; e.g. --report html:report.html)`);
    const inferred = formatForFile(RUN_FORMATS, v);
    if (!inferred) throw new SelectionError(`--report ${v}: say the format as FORMAT:FILE (${names}), e.g. --report junit:results.xml`);
    out.push({ format: inferred, file: v });
  }
  const files = out.map((t) => t.file);
  const dup = files.find((f, i) => files.indexOf(f) !== i);
  if (dup) throw new SelectionError(`--report: ${dup} is named twice`);
  return out;
}

/** Check --report and --waivers before anything runs (fail fast with file:line). */
export function prepareReports(o: { report?: string[]; waivers?: string }): PreparedReports {
  const targets = parseReportTargets(o.report);
  return o.waivers ? { targets, waivers: loadWaivers(o.waivers) } : { targets };
}
