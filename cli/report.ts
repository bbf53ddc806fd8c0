import type { Command } from 'commander';
import { DIFF_OUTPUT_FORMATS, MERGE_OUTPUT_FORMATS, RUN_FORMATS, type DiffFormat, type MergeFormat, type RunFormat } from '../reports/formats.js';
import { finishRun } from '../engine/finish.js';
import { loadSpecOrThrow } from '../requirements/spec-load.js';
import { loadWaivers } from '../engine/waivers.js';
import { formatFor, formatOption, outputOption, SPEC_HELP, specOption, verboseOption } from './options.js';
import { renderOutput } from './output.js';

/** `vmspec report …`: render, compare and merge results files. Loaders and renderers load inside the actions. */
export function addReportCommands(program: Command): void {
  const report = program.command('report').description('render, compare and merge results files (from verify --format json or --report json:FILE)');

  report
    .command('render')
    .description(`render a results file as ${RUN_FORMATS.names.slice(0, -1).join(', ')} or ${RUN_FORMATS.names.at(-1)} (validated against the results schema first)`)
    .argument('<results>', 'results JSON')
    .addOption(formatOption(RUN_FORMATS, { help: 'output format (default: from --output\'s extension, else html)' }))
    .addOption(outputOption('the report'))
    .addOption(verboseOption())
    .addOption(specOption(SPEC_HELP.reportRender, null))
    .option('--waivers <file>', 'apply waivers (YAML) before rendering; summary and exit code are recomputed')
    .action(async (file: string, o: { format?: RunFormat; output?: string; verbose?: boolean; spec?: string; waivers?: string }) => {
      const { loadResultsFile, specForRun } = await import('../reports/load.js');
      const waivers = o.waivers ? loadWaivers(o.waivers) : undefined;
      const loaded = loadResultsFile(file);
      const spec = specForRun(loaded, o.spec);
      const run = finishRun(loaded, waivers, new Date());
      await renderOutput(RUN_FORMATS, formatFor(RUN_FORMATS, o, 'html'), run, { output: o.output, spec, verbose: o.verbose });
    });

  report
    .command('diff')
    .description('compare two results files: regressions (pass → fail/error), fixes, new and removed clauses, spec changes; exit 1 on regressions')
    .argument('<old>', 'results JSON of the earlier run')
    .argument('<new>', 'results JSON of the later run')
    .addOption(formatOption(DIFF_OUTPUT_FORMATS, { default: 'text' }))
    .addOption(outputOption())
    .action(async (oldFile: string, newFile: string, o: { format: DiffFormat; output?: string }) => {
      const [{ loadResultsFile }, { diffExitCode, diffRuns }] = await Promise.all([import('../reports/load.js'), import('../reports/diff.js')]);
      const d = diffRuns(loadResultsFile(oldFile), loadResultsFile(newFile));
      await renderOutput(DIFF_OUTPUT_FORMATS, o.format, d, { output: o.output });
      process.exitCode = diffExitCode(d);
    });

  report
    .command('merge')
    .description('combine runs of different targets into one targets × clauses matrix (html, md, junit: a testsuite per target, tap: a subtest per target, json)')
    .argument('<results...>', 'results JSON files (one per target)')
    .addOption(formatOption(MERGE_OUTPUT_FORMATS, { help: 'output format (default: from --output\'s extension, else html)' }))
    .addOption(outputOption())
    .addOption(specOption(SPEC_HELP.reportMerge, null))
    .action(async (files: string[], o: { format?: MergeFormat; output?: string; spec?: string }) => {
      const [{ loadResultsFile, specForRun }, { mergeRuns }] = await Promise.all([import('../reports/load.js'), import('../reports/merge.js')]);
      const now = new Date();
      const inputs = files.map((f) => ({ run: finishRun(loadResultsFile(f), undefined, now), source: f }));
      const spec = o.spec ? loadSpecOrThrow(o.spec) : inputs[0] ? specForRun(inputs[0].run) : undefined;
      await renderOutput(MERGE_OUTPUT_FORMATS, formatFor(MERGE_OUTPUT_FORMATS, o, 'html'), mergeRuns(inputs, spec), { output: o.output });
    });
}
