import { Option, type Command } from 'commander';
import { RUN_FORMATS, type RunFormat } from '../reports/formats.js';
import { selectionFrom } from '../engine/select.js';
import { loadSpecOrThrow } from '../requirements/spec-load.js';
import { EXIT_HELP } from './help.js';
import { addReportOptions, addSelectionOptions, formatOption, outputOption, prepareReports, verboseOption, type SpecSelectionFlags } from './options.js';
import { finishReports, renderOutput } from './output.js';

interface VerifyFlags extends SpecSelectionFlags {
  format: RunFormat;
  output?: string;
  verbose?: boolean;
  sha256?: boolean;
  backing: 'follow' | 'refuse';
  evidence?: string;
  live?: boolean;
  report?: string[];
  waivers?: string;
}

/** `vmspec verify`: a disk image and/or in-guest evidence against the spec, without booting. */
export function addVerifyCommand(program: Command): void {
  addReportOptions(addSelectionOptions(
    program
      .command('verify')
      .description('check a disk image (without booting it) and/or in-guest evidence against the spec, clause by clause')
      .argument('[image]', 'disk image: raw or qcow2 (opened read-only)'),
  ))
    .option('--evidence <bundle>', 'in-guest evidence from collect.sh: a bundle directory, a tar (or the raw evidence disk holding one), or a serial log with a console frame')
    .option('--live', 'read this running system as the evidence (run inside the guest, as root)')
    .addOption(formatOption(RUN_FORMATS, { default: 'text' }))
    .addOption(outputOption('the report'))
    .addOption(verboseOption())
    .option('--sha256', 'record the sha256 of the whole image (or evidence tar) file (reads every byte)')
    .addOption(new Option('--backing <mode>', 'qcow2 backing files: follow (read-only; a backing file that cannot be opened fails IMG-CONTAINER, and the clauses that read the disk are undecided) or refuse').choices(['follow', 'refuse']).default('refuse'))
    .addHelpText('after', `
Selection:
  With no --profile, --only, --section, --level, --target or --tags, verify
  checks the clauses what you gave can observe: IMAGE gives the image clauses
  and those judged from its root filesystem (the guest OS's drivers);
  --evidence/--live gives the clauses the guest's evidence decides (guest,
  firmware, hypervisor). Clauses that need a running guest or the host side of
  a boot are left to \`vmspec verify --evidence\` and \`vmspec boot\`. Any
  selection option selects from the whole spec, as written.

Statuses:
  SKIP       not applicable to this target (its condition does not hold, or
             the inputs given cannot show its target)
  UNDECIDED  applies, but its input was missing or unreadable: not judged
${EXIT_HELP}`)
    .action(async (image: string | undefined, o: VerifyFlags) => {
      // Probes load only when a verify runs (--help, spec list stay fast).
      const { checkTargets, verify } = await import('../engine/verify.js');
      checkTargets({ image, evidence: o.evidence, live: o.live });
      const prepared = prepareReports(o); // fail fast: --report syntax, waiver file errors with file:line
      const spec = loadSpecOrThrow(o.spec);
      const run = await finishReports(await verify({
        spec, selection: selectionFrom(o), sha256: o.sha256 ?? false, backing: o.backing,
        ...(prepared.waivers ? { waivers: prepared.waivers } : {}),
        ...(image !== undefined ? { image } : {}), ...(o.evidence !== undefined ? { evidence: o.evidence } : {}), ...(o.live ? { live: true } : {}),
      }), prepared, spec, new Date(), o.verbose ?? false);
      await renderOutput(RUN_FORMATS, o.format, run, { output: o.output, spec, verbose: o.verbose });
      process.exitCode = run.exitCode;
    });
}
