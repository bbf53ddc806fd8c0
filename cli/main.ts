import { Command, CommanderError } from 'commander';
import { ParseError, UnsupportedError } from '../bytes/errors.js';
import { safeTerminalText } from '../reports/style.js';
import { EXIT } from '../engine/results.js';
import { SelectionError } from '../engine/select.js';
import { SpecError } from '../requirements/spec-load.js';
import { TOOL_VERSION } from '../package/version.js';
import { addBootCommand } from './boot.js';
import { EXIT_HELP } from './help.js';
import { addLavaJobCommand } from './lava-job.js';
import { addProbeCommands } from './probe.js';
import { addReferenceCommands } from './reference.js';
import { addReportCommands } from './report.js';
import { addSpecCommands } from './spec.js';
import { addVerifyCommand } from './verify.js';
import { writeStdout } from './stdout.js';

// Probes, lint (ajv), the boot layer and the renderers load inside the actions
// that use them (`await import`), so `--version`, `--help` and `spec list` do not pay for them.

/** The whole command line: cli/ alone parses options and wires the layers below it. */
export function buildProgram(): Command {
  const program = new Command('vmspec')
    .description('Compliance suite for the VM System Specification for ARM Processors (v2, v1)')
    .version(TOOL_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Help and version through writeStdout: `vmspec --help | head` ends quietly, like every other output.
    .configureOutput({ writeOut: writeStdout })
    .addHelpText('after', EXIT_HELP);
  addVerifyCommand(program);
  addSpecCommands(program);
  addReferenceCommands(program);
  addBootCommand(program);
  addLavaJobCommand(program);
  addReportCommands(program);
  addProbeCommands(program);
  return program;
}

/** Entry point: maps every known error to a one-line message and its exit code. */
export async function main(argv: string[]): Promise<void> {
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
