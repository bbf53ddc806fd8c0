import { RUN_FORMATS, type FormatSet } from '../reports/formats.js';
import { useColour } from '../reports/style.js';
import { writeAtomic } from '../reports/write.js';
import { finishRun } from '../engine/finish.js';
import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import type { PreparedReports, ReportTarget } from './options.js';
import { writeStdout } from './stdout.js';

/** Output to a file (atomically) or to standard output; says where it went only on a terminal. */
export function writeOutput(content: string, output: string | undefined): void {
  if (output) {
    writeAtomic(output, content);
    if (process.stderr.isTTY) process.stderr.write(`wrote ${output}\n`);
  } else {
    writeStdout(content);
  }
}

/**
 * Render-then-write, for every command: the subject in one format of its
 * set, to --output or standard output. Colour only on a terminal, never in a file.
 */
export async function renderOutput<S, F extends string>(
  formats: FormatSet<S, F>,
  format: F,
  subject: S,
  o: { output?: string | undefined; spec?: SpecSet | undefined; verbose?: boolean | undefined },
): Promise<void> {
  const render = await formats.renderer(format);
  // Only text formats paint (RenderOptions.colour); asking the terminal costs a start node:tty when stdout is a device.
  const colour = !o.output && format === 'text' && useColour();
  writeOutput(render(subject, { colour, verbose: o.verbose ?? false, ...(o.spec ? { spec: o.spec } : {}) }), o.output);
}

/** Render and write (atomically) every requested report; returns the files written. */
export async function writeReports(run: RunWithWaivers, targets: ReportTarget[], spec?: SpecSet, verbose = false): Promise<string[]> {
  for (const t of targets) {
    const render = await RUN_FORMATS.renderer(t.format);
    writeAtomic(t.file, render(run, { colour: false, verbose, ...(spec ? { spec } : {}) }));
  }
  return targets.map((t) => t.file);
}

/** After the run: its verdict (waivers applied, engine/finish.ts), then every --report written. */
export async function finishReports<R extends RunWithWaivers>(run: R, prepared: PreparedReports, spec?: SpecSet, now: Date = new Date(), verbose = false): Promise<R> {
  const finished = finishRun(run, prepared.waivers, now);
  const written = await writeReports(finished, prepared.targets, spec, verbose);
  if (written.length && process.stderr.isTTY) process.stderr.write(`wrote ${written.join(', ')}\n`);
  return finished;
}
