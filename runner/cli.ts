import { Command, CommanderError, Option } from 'commander';
import { ParseError, UnsupportedError } from '../probes/errors.js';
import { addBootCommands, addReferenceCommands } from '../boot/commands.js';
import { addLavaCommands } from '../lava/commands.js';
import { addReportCommands, addReportOptions, addSpecRenderCommands, finishReports, prepareReports } from '../reports/commands.js';
import { REPORT_FORMATS, type ReportFormat } from '../reports/formats.js';
import { useColour, painter, safeTerminalText } from '../reports/style.js';
import { emitReport } from '../reports/write.js';
import { describe } from './expect.js';
import { EXIT, type Selection } from './results.js';
import { select, SelectionError } from './select.js';
import { addSelectionOptions, selectionFrom, type SelectionFlags } from './selection-options.js';
import { displayPath } from './display-path.js';
import { loadSpecOrThrow, resolveSpecDir, SpecError } from './spec-load.js';
import { TOOL_VERSION } from './version.js';
import type { Requirement } from './requirement.js';

// Probes, lint (ajv) and the renderers load inside the actions that use them
// (`await import`), so `--version`, `--help` and `spec list` do not pay for them.

const EXIT_HELP = `
Exit codes:
  0  every selected MUST/SHALL clause passed (or was waived)
  1  a MUST/SHALL clause failed (spec lint: problems found)
  2  usage or input error (bad option, unreadable image or spec)
  3  a probe could not run (the verdict is incomplete)

Environment:
  NO_COLOR      disable colour (colour is used only on a terminal)
  FORCE_COLOR   force colour
  VMSPEC_DEBUG  print stack traces for internal errors`;

export function buildProgram(): Command {
  const program = new Command('vmspec')
    .description('Compliance suite for the VM System Specification for ARM Processors (v2, v1)')
    .version(TOOL_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', EXIT_HELP);

  addReportOptions(addSelectionOptions(
    program
      .command('verify')
      .description('check a disk image (without booting it) and/or in-guest evidence against the spec, clause by clause')
      .argument('[image]', 'disk image: raw or qcow2 (opened read-only)'),
  ))
    .option('--evidence <bundle>', 'in-guest evidence from collect.sh: a bundle directory, a tar (or the raw evidence disk holding one), or a serial log with a console frame')
    .option('--live', 'read this running system as the evidence (run inside the guest, as root)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', ...REPORT_FORMATS]).default('text'))
    .option('-o, --output <file>', 'write the report to a file (atomically) instead of standard output')
    .option('-v, --verbose', 'show the reason for passing clauses too, and remediation for failures')
    .option('--sha256', 'record the sha256 of the whole image (or evidence tar) file (reads every byte)')
    .addOption(new Option('--backing <mode>', 'qcow2 backing files: follow (read-only) or refuse').choices(['follow', 'refuse']).default('refuse'))
    .addHelpText('after', EXIT_HELP)
    .action(async (image: string | undefined, o: SelectionFlags & { format: 'text' | ReportFormat; output?: string; verbose?: boolean; sha256?: boolean; backing: 'follow' | 'refuse'; evidence?: string; live?: boolean; report?: string[]; waivers?: string }) => {
      const { checkTargets, verify } = await import('./verify.js');
      checkTargets({ image, evidence: o.evidence, live: o.live });
      const prepared = prepareReports(o); // fail fast: --report syntax, waiver file errors with file:line
      const spec = loadSpecOrThrow(o.spec);
      const run = await finishReports(await verify({
        spec, selection: selectionFrom(o), sha256: o.sha256 ?? false, backing: o.backing,
        ...(prepared.waivers ? { waivers: prepared.waivers } : {}),
        ...(image !== undefined ? { image } : {}), ...(o.evidence !== undefined ? { evidence: o.evidence } : {}), ...(o.live ? { live: true } : {}),
      }), prepared, spec);
      const content = o.format === 'text'
        ? (await import('../reports/text.js')).renderText(run, { colour: !o.output && useColour(), verbose: o.verbose ?? false })
        : (await import('../reports/render.js')).render(run, o.format, spec);
      emitReport(content, o.output);
      process.exitCode = run.exitCode;
    });

  const spec = program.command('spec').description('work with the spec as data: lint, list, show, render, diff');
  addSpecRenderCommands(spec);

  spec
    .command('lint')
    .description('validate a spec directory: schema, unique ids, probes, params, fact paths, clause coverage')
    .argument('[dir]', 'spec name or directory (default: every built-in spec)')
    .action(async (dir: string | undefined) => {
      const { lintSpec } = await import('./lint.js');
      const dirs = dir ? [resolveSpecDir(dir)] : [resolveSpecDir('vmspec-v2'), resolveSpecDir('vmspec-v1')];
      let problems = 0;
      for (const d of dirs) {
        const { spec: s, issues } = lintSpec(d);
        for (const i of issues) process.stderr.write(`${i.file}:${i.line}:${i.column}: ${i.message}\n`);
        problems += issues.length;
        if (s) process.stdout.write(`${displayPath(d)}: ${s.id} ${s.version}, ${s.requirements.length} requirements, ${issues.length ? `${issues.length} problem(s)` : 'clean'}\n`);
        else process.stdout.write(`${displayPath(d)}: ${issues.length} problem(s)\n`);
      }
      process.exitCode = problems ? EXIT.failed : EXIT.ok;
    });

  addSelectionOptions(spec.command('list').description('list requirements (after selection)'))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((o: SelectionFlags & { format: string }) => {
      const s = loadSpecOrThrow(o.spec);
      const reqs = select(s.requirements, selectionFrom(o));
      if (o.format === 'json') {
        process.stdout.write(`${JSON.stringify(reqs.map(publicRequirement), null, 2)}\n`);
        return;
      }
      const paint = painter(useColour());
      const w = Math.max(10, ...reqs.map((r) => r.id.length));
      let section = '';
      for (const r of reqs) {
        if (r.ref.section !== section) {
          section = r.ref.section;
          process.stdout.write(`${paint('bold', `${section} (p${r.ref.page})`)}\n`);
        }
        const how = r.probe ? r.probe : 'manual';
        process.stdout.write(`  ${r.id.padEnd(w)}  ${r.ref.label.padEnd(8)} ${r.level.padEnd(11)} ${r.target.padEnd(10)} ${how.padEnd(22)} ${r.title}\n`);
      }
      process.stdout.write(`${reqs.length} requirement(s) in ${s.id} ${s.version}\n`);
    });

  spec
    .command('show')
    .description('show one requirement in full')
    .argument('<id>', 'requirement id')
    .option('--spec <name|dir>', 'spec: vmspec-v2, vmspec-v1, or a directory', 'vmspec-v2')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((id: string, o: { spec: string; format: string }) => {
      const s = loadSpecOrThrow(o.spec);
      const r = s.requirements.find((x) => x.id.toUpperCase() === id.toUpperCase());
      if (!r) throw new SelectionError(`no requirement "${id}" in ${s.id} (see \`vmspec spec list --spec ${o.spec}\`)`);
      if (o.format === 'json') {
        process.stdout.write(`${JSON.stringify(publicRequirement(r), null, 2)}\n`);
        return;
      }
      process.stdout.write(showText(r));
    });

  addReferenceCommands(program);
  addBootCommands(program);
  addLavaCommands(program);
  addReportCommands(program);

  program
    .command('probe')
    .description('list the registered probes')
    .command('list')
    .description('list probes with their input and summary')
    .action(async () => {
      const { PROBES } = await import('../probes/registry.js');
      for (const p of PROBES) process.stdout.write(`${p.name.padEnd(24)} ${p.input.padEnd(9)} ${p.summary}\n`);
    });

  return program;
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

/** Entry point: maps every known error to a one-line message and its exit code. */
export async function main(argv: string[]): Promise<void> {
  // `vmspec spec list | head`: a closed pipe ends the output, not the process with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e);
  }
}

function reportError(e: unknown): number {
  const say = (m: string) => process.stderr.write(`vmspec: ${safeTerminalText(m)}\n`);
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
    return EXIT.usage; // commander already printed the message
  }
  if (e instanceof SpecError) {
    say('the spec has errors:');
    for (const i of e.issues) process.stderr.write(`  ${i.file}:${i.line}:${i.column}: ${i.message}\n`);
    return EXIT.usage;
  }
  if (e instanceof SelectionError) {
    say(e.message);
    return EXIT.usage;
  }
  if (e instanceof ParseError || e instanceof UnsupportedError) {
    say(`${e.message}${e instanceof UnsupportedError && e.hint ? ` (${e.hint})` : ''}`);
    return EXIT.usage;
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT' || err?.code === 'EACCES' || err?.code === 'EISDIR') {
    say(`${err.message.replace(/^\w+: /, '')}`);
    return EXIT.usage;
  }
  if (process.env.VMSPEC_DEBUG) console.error(e);
  say(`internal error: ${err?.message ?? String(e)} (set VMSPEC_DEBUG=1 for a stack trace, and please report it)`);
  return EXIT.probeError;
}
