import type { Command } from 'commander';
import { SPEC_DIFF_OUTPUT_FORMATS, SPEC_OUTPUT_FORMATS, type SpecDiffFormat, type SpecRenderFormat } from '../reports/formats.js';
import { painter, useColour } from '../reports/style.js';
import { describe } from '../requirements/expect.js';
import { EXIT } from '../engine/results.js';
import type { Requirement } from '../requirements/requirement.js';
import { select, selectionFrom, SelectionError } from '../engine/select.js';
import { displayPath } from '../package/display-path.js';
import { loadSpecOrThrow, resolveSpecDir } from '../requirements/spec-load.js';
import { addSelectionOptions, formatOption, outputOption, SPEC_HELP, specOption, type SpecSelectionFlags } from './options.js';
import { renderOutput } from './output.js';
import { writeStdout } from './stdout.js';

/** `vmspec spec …`: the spec as data (render, diff, lint, list, show). */
export function addSpecCommands(program: Command): void {
  const spec = program.command('spec').description('work with the spec as data: lint, list, show, render, diff');
  addSpecRenderCommands(spec);

  spec
    .command('lint')
    .description('validate a spec directory: schema, unique ids, probes, params, fact paths, clause coverage')
    .argument('[dir]', 'spec name or directory (default: every built-in spec)')
    .action(async (dir: string | undefined) => {
      // ajv loads only when linting.
      const { lintSpec } = await import('../requirements/lint.js');
      const dirs = dir ? [resolveSpecDir(dir)] : [resolveSpecDir('vmspec-v2'), resolveSpecDir('vmspec-v1')];
      let problems = 0;
      for (const d of dirs) {
        const { spec: s, issues } = lintSpec(d);
        for (const i of issues) process.stderr.write(`${i.file}:${i.line}:${i.column}: ${i.message}\n`);
        problems += issues.length;
        if (s) writeStdout(`${displayPath(d)}: ${s.id} ${s.version}, ${s.requirements.length} requirements, ${issues.length ? `${issues.length} problem(s)` : 'clean'}\n`);
        else writeStdout(`${displayPath(d)}: ${issues.length} problem(s)\n`);
      }
      process.exitCode = problems ? EXIT.failed : EXIT.ok;
    });

  addSelectionOptions(spec.command('list').description('list requirements (after selection)'))
    .addOption(formatOption(['table', 'json'], { default: 'table' }))
    .action((o: SpecSelectionFlags & { format: string }) => {
      const s = loadSpecOrThrow(o.spec);
      const reqs = select(s.requirements, selectionFrom(o));
      if (o.format === 'json') {
        writeStdout(`${JSON.stringify(reqs.map(publicRequirement), null, 2)}\n`);
        return;
      }
      const paint = painter(useColour());
      const w = Math.max(10, ...reqs.map((r) => r.id.length));
      let section = '';
      for (const r of reqs) {
        if (r.ref.section !== section) {
          section = r.ref.section;
          writeStdout(`${paint('bold', `${section} (p${r.ref.page})`)}\n`);
        }
        const how = r.probe ? r.probe : 'manual';
        writeStdout(`  ${r.id.padEnd(w)}  ${r.ref.label.padEnd(8)} ${r.level.padEnd(11)} ${r.target.padEnd(10)} ${how.padEnd(22)} ${r.title}\n`);
      }
      writeStdout(`${reqs.length} requirement(s) in ${s.id} ${s.version}\n`);
    });

  spec
    .command('show')
    .description('show one requirement in full')
    .argument('<id>', 'requirement id')
    .addOption(specOption(SPEC_HELP.show))
    .addOption(formatOption(['text', 'json'], { default: 'text' }))
    .action((id: string, o: { spec: string; format: string }) => {
      const s = loadSpecOrThrow(o.spec);
      const r = s.requirements.find((x) => x.id.toUpperCase() === id.toUpperCase());
      if (!r) throw new SelectionError(`no requirement "${id}" in ${s.id} (see \`vmspec spec list --spec ${o.spec}\`)`);
      if (o.format === 'json') {
        writeStdout(`${JSON.stringify(publicRequirement(r), null, 2)}\n`);
        return;
      }
      writeStdout(showText(r));
    });
}

/** `vmspec spec render` and `vmspec spec diff`, mounted on the `spec` command. */
export function addSpecRenderCommands(spec: Command): void {
  spec
    .command('render')
    .description('render the spec from its YAML: sections, requirements, how each is checked, clause labels and pages')
    .addOption(specOption(SPEC_HELP.render))
    .addOption(formatOption(SPEC_OUTPUT_FORMATS, { default: 'html' }))
    .addOption(outputOption())
    .action(async (o: { spec: string; format: SpecRenderFormat; output?: string }) => {
      await renderOutput(SPEC_OUTPUT_FORMATS, o.format, loadSpecOrThrow(o.spec), { output: o.output });
    });

  spec
    .command('diff')
    .description('list clauses added, removed and changed between two spec versions (matched by id without the V1-/V2- prefix, then by clause label)')
    .argument('<old>', 'spec name or directory, e.g. vmspec-v1')
    .argument('<new>', 'spec name or directory, e.g. vmspec-v2')
    .addOption(formatOption(SPEC_DIFF_OUTPUT_FORMATS, { default: 'text' }))
    .addOption(outputOption())
    .action(async (a: string, b: string, o: { format: SpecDiffFormat; output?: string }) => {
      const { diffSpecs } = await import('../reports/spec-render.js');
      await renderOutput(SPEC_DIFF_OUTPUT_FORMATS, o.format, diffSpecs(loadSpecOrThrow(a), loadSpecOrThrow(b)), o);
    });
}

function publicRequirement(r: Requirement): Omit<Requirement, 'source'> & { source: string } {
  return { ...r, source: `${displayPath(r.source.file)}:${r.source.line}` };
}

function showText(r: Requirement): string {
  const lines = [
    `${r.id}  ${r.title}`,
    `  clause:   ${r.ref.label} — ${r.ref.section}, p${r.ref.page} (${r.ref.spec})`,
    `  level:    ${r.level}${r.levelAsWritten !== r.level ? ` (written ${r.levelAsWritten})` : ''}${r.informative ? ', informative' : ''}`,
    `  target:   ${r.target}`,
    `  text:     ${r.text}`,
  ];
  if (r.probe) {
    lines.push(`  probe:    ${r.probe}${Object.keys(r.params).length ? ` ${JSON.stringify(r.params)}` : ''}`);
    if (r.when) lines.push(`  applies:  when ${r.when.map(describe).join('; ')}`);
    lines.push(`  expects:  ${r.expect!.map(describe).join('; ')}`);
  } else {
    lines.push(`  manual:   ${r.manual}`);
  }
  if (r.remediation) lines.push(`  fix:      ${r.remediation}`);
  if (r.tags.length) lines.push(`  tags:     ${r.tags.join(', ')}`);
  lines.push(`  defined:  ${displayPath(r.source.file)}:${r.source.line}`);
  return `${lines.join('\n')}\n`;
}
