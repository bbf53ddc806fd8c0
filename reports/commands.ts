import { extname } from 'node:path';
import { Option, type Command } from 'commander';
import { SelectionError } from '../runner/select.js';
import { loadSpecOrThrow, type SpecSet } from '../runner/spec-load.js';
import { applyWaivers, loadWaivers, type RunWithWaivers, type Waiver } from '../runner/waivers.js';
import {
  DIFF_FORMATS, isReportFormat, MERGE_FORMATS, REPORT_EXTENSIONS, REPORT_FORMATS, SPEC_DIFF_FORMATS, SPEC_RENDER_FORMATS,
  type DiffFormat, type MergeFormat, type ReportFormat, type SpecDiffFormat, type SpecRenderFormat,
} from './formats.js';
import { useColour } from './style.js';
import { emitReport, writeAtomic } from './write.js';

// Renderers (and nunjucks behind them) load inside the actions that render.


function formatFromExtension(file: string | undefined): ReportFormat | undefined {
  if (!file) return undefined;
  const ext = extname(file).toLowerCase();
  if (ext === '.htm') return 'html';
  if (ext === '.markdown') return 'md';
  return (Object.entries(REPORT_EXTENSIONS) as [ReportFormat, string][]).find(([, e]) => e === ext)?.[0];
}

// ---- --report FORMAT:FILE for verify and boot ----------------------------------------------

export interface ReportTarget {
  format: ReportFormat;
  file: string;
}

/**
 * Parse `--report` values: `FORMAT:FILE` (html:out.html, junit:out.xml), or
 * a bare FILE whose extension names the format (.html .md .xml .tap .json).
 */
export function parseReportTargets(values: string[] | undefined): ReportTarget[] {
  const out: ReportTarget[] = [];
  for (const v of values ?? []) {
    const m = /^([a-z]+):(.+)$/.exec(v);
    if (m && isReportFormat(m[1]!)) {
      out.push({ format: m[1], file: m[2]! });
      continue;
    }
    if (m && m[1]!.length > 1) throw new SelectionError(`--report ${v}: unknown format "${m[1]}" (one of ${REPORT_FORMATS.join(', ')}; e.g. --report html:report.html)`);
    const inferred = formatFromExtension(v);
    if (!inferred) throw new SelectionError(`--report ${v}: say the format as FORMAT:FILE (${REPORT_FORMATS.join(', ')}), e.g. --report junit:results.xml`);
    out.push({ format: inferred, file: v });
  }
  const files = out.map((t) => t.file);
  const dup = files.find((f, i) => files.indexOf(f) !== i);
  if (dup) throw new SelectionError(`--report: ${dup} is named twice`);
  return out;
}

/** Render and write (atomically) every requested report; returns the files written. */
export async function writeReports(run: RunWithWaivers, targets: ReportTarget[], spec?: SpecSet): Promise<string[]> {
  if (!targets.length) return [];
  const { render } = await import('./render.js');
  for (const t of targets) writeAtomic(t.file, render(run, t.format, spec));
  return targets.map((t) => t.file);
}

/** What `prepareReports` checked before the run, for `finishReports` after it. */
export interface PreparedReports {
  targets: ReportTarget[];
  waivers?: Waiver[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Options for verify and boot: --report FORMAT:FILE (repeatable) and --waivers FILE. */
export function addReportOptions(cmd: Command): Command {
  return cmd
    .option('--report <format:file>', `also write a report (${REPORT_FORMATS.join(', ')}), e.g. html:report.html; repeatable`, collect)
    .option('--waivers <file>', 'YAML waivers: an unexpired waiver turns a failing clause into "waived" (see docs/reports.md)');
}

/** Check --report and --waivers before anything runs (fail fast with file:line). */
export function prepareReports(o: { report?: string[]; waivers?: string }): PreparedReports {
  const targets = parseReportTargets(o.report);
  return o.waivers ? { targets, waivers: loadWaivers(o.waivers) } : { targets };
}

/** After the run: apply waivers (summary and exit code recomputed), then write every --report. */
export async function finishReports(run: RunWithWaivers, prepared: PreparedReports, spec?: SpecSet, now: Date = new Date()): Promise<RunWithWaivers> {
  const waived = prepared.waivers ? applyWaivers(run, prepared.waivers, now) : run;
  const written = await writeReports(waived, prepared.targets, spec);
  if (written.length && process.stderr.isTTY) process.stderr.write(`wrote ${written.join(', ')}\n`);
  return waived;
}

// ---- vmspec report … ---------------------------------------------------------------------

export function addReportCommands(program: Command): void {
  const report = program.command('report').description('render, compare and merge results files (from verify --format json or --report json:FILE)');

  report
    .command('render')
    .description('render a results file as html, md, junit, tap or json (validated against the results schema first)')
    .argument('<results>', 'results JSON')
    .addOption(new Option('--format <format>', 'output format (default: from --output\'s extension, else html)').choices([...REPORT_FORMATS]))
    .option('-o, --output <file>', 'write the report to a file (atomically) instead of standard output')
    .option('--spec <name|dir>', 'spec for section order, paraphrases and coverage (default: the spec the run used, when found)')
    .option('--waivers <file>', 'apply waivers (YAML) before rendering; summary and exit code are recomputed')
    .action(async (file: string, o: { format?: ReportFormat; output?: string; spec?: string; waivers?: string }) => {
      const [{ loadResultsFile, specForRun }, { render }] = await Promise.all([import('./load.js'), import('./render.js')]);
      const waivers = o.waivers ? loadWaivers(o.waivers) : undefined;
      let run = loadResultsFile(file);
      const spec = specForRun(run, o.spec);
      if (waivers) run = applyWaivers(run, waivers, new Date());
      const format = o.format ?? formatFromExtension(o.output) ?? 'html';
      emitReport(render(run, format, spec), o.output);
    });

  report
    .command('diff')
    .description('compare two results files: regressions (pass → fail/error), fixes, new and removed clauses, spec changes; exit 1 on regressions')
    .argument('<old>', 'results JSON of the earlier run')
    .argument('<new>', 'results JSON of the later run')
    .addOption(new Option('--format <format>', 'output format').choices([...DIFF_FORMATS]).default('text'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of standard output')
    .action(async (oldFile: string, newFile: string, o: { format: DiffFormat; output?: string }) => {
      const [{ loadResultsFile }, { diffExitCode, diffRuns, renderDiff }] = await Promise.all([import('./load.js'), import('./diff.js')]);
      const d = diffRuns(loadResultsFile(oldFile), loadResultsFile(newFile));
      emitReport(renderDiff(d, o.format, { colour: !o.output && o.format === 'text' && useColour() }), o.output);
      process.exitCode = diffExitCode(d);
    });

  report
    .command('merge')
    .description('combine runs of different targets into one targets × clauses matrix (html, md, junit: a testsuite per target, tap: a subtest per target, json)')
    .argument('<results...>', 'results JSON files (one per target)')
    .addOption(new Option('--format <format>', 'output format (default: from --output\'s extension, else html)').choices([...MERGE_FORMATS]))
    .option('-o, --output <file>', 'write to a file (atomically) instead of standard output')
    .option('--spec <name|dir>', 'spec for row order (default: the first run\'s spec, when found)')
    .action(async (files: string[], o: { format?: MergeFormat; output?: string; spec?: string }) => {
      const [{ loadResultsFile, specForRun }, { mergeRuns, renderMerge }] = await Promise.all([import('./load.js'), import('./merge.js')]);
      const inputs = files.map((f) => ({ run: loadResultsFile(f), source: f }));
      const spec = o.spec ? loadSpecOrThrow(o.spec) : inputs[0] ? specForRun(inputs[0].run) : undefined;
      const fromExt = formatFromExtension(o.output);
      const format: MergeFormat = o.format ?? (fromExt && (MERGE_FORMATS as readonly string[]).includes(fromExt) ? fromExt : 'html');
      emitReport(renderMerge(mergeRuns(inputs, spec), format), o.output);
    });
}

// ---- vmspec spec render / spec diff ------------------------------------------------------------

export function addSpecRenderCommands(spec: Command): void {
  spec
    .command('render')
    .description('render the spec from its YAML: sections, requirements, how each is checked, clause labels and pages')
    .option('--spec <name|dir>', 'spec: vmspec-v2, vmspec-v1, or a directory with spec.yaml', 'vmspec-v2')
    .addOption(new Option('--format <format>', 'output format').choices([...SPEC_RENDER_FORMATS]).default('html'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of standard output')
    .action(async (o: { spec: string; format: SpecRenderFormat; output?: string }) => {
      const { renderSpec } = await import('./spec-render.js');
      emitReport(renderSpec(loadSpecOrThrow(o.spec), o.format), o.output);
    });

  spec
    .command('diff')
    .description('list clauses added, removed and changed between two spec versions (matched by id without the V1-/V2- prefix, then by clause label)')
    .argument('<old>', 'spec name or directory, e.g. vmspec-v1')
    .argument('<new>', 'spec name or directory, e.g. vmspec-v2')
    .addOption(new Option('--format <format>', 'output format').choices([...SPEC_DIFF_FORMATS]).default('text'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of standard output')
    .action(async (a: string, b: string, o: { format: SpecDiffFormat; output?: string }) => {
      const { diffSpecs, renderSpecDiff } = await import('./spec-render.js');
      const d = diffSpecs(loadSpecOrThrow(a), loadSpecOrThrow(b));
      emitReport(renderSpecDiff(d, o.format, { colour: !o.output && o.format === 'text' && useColour() }), o.output);
    });
}
