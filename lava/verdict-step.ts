import { join } from 'node:path';
import { packageRoot } from '../package/paths.js';
import { shellQuote } from './shell-quote.js';
import { STEP_CASES } from './names.js';

/**
 * The verdict step's command. It and the job log fetcher it runs are files
 * in lava/verdict-image/, shipped in the verdict image
 * (scripts/lava-verdict-image.sh), so the job's inline definition is one
 * line: LAVA stores the whole inline definition in the metadata of the
 * step's `lava` result and keeps at most 4096 bytes of it
 * (lava_results_app/dbutils.py map_scanned_results, docs/scale.md).
 */
export const VERDICT_COMMAND = 'vmspec-lava-verdict';
export const VERDICT_IMAGE_FILES = join(packageRoot, 'lava', 'verdict-image');

/** What the step judges against: the built-in spec, the job's slug, the selection. */
export interface VerdictTarget {
  /** Built-in spec name (the container has only the built-in specs). */
  spec: string;
  /** Per-job slug: names the evidence file, so merged reports label the column by it. */
  slug: string;
  /** Requirement id -> LAVA test case name, in spec order. */
  cases: Map<string, string>;
}

/** A shell job's verdict step: judge the bundle the guest uploaded, PUT the results beside it. */
export function bundleVerdictStep(o: VerdictTarget & { bundleUrl: string; resultsUrl: string }): string {
  return step('bundle', [o.bundleUrl, o.resultsUrl, o.spec, o.slug, ids(o.cases)]);
}

/**
 * A console job's verdict step: judge the evidence frame in the job's own
 * log, fetched from the server's REST API (lavaUrl: as the worker's
 * containers reach it, ends with /).
 */
export function consoleVerdictStep(o: VerdictTarget & { lavaUrl: string }): string {
  return step('console', [o.lavaUrl, o.spec, o.slug, ids(o.cases)]);
}

/**
 * The command, every argument one quoted word. If the image lacks the
 * command (an image built before it was shipped), the shell's "not found"
 * is in the log and vmspec-verify fails in LAVA.
 */
function step(mode: 'bundle' | 'console', args: string[]): string {
  return `${VERDICT_COMMAND} ${mode} ${args.map(shellQuote).join(' ')} || lava-test-case ${STEP_CASES.verify} --result fail`;
}

/** The ids as the command takes them: comma-separated, each a word of letters, digits, dots, underscores or hyphens. */
function ids(cases: Map<string, string>): string {
  for (const id of cases.keys()) {
    if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new Error(`requirement id "${id}" cannot be passed to ${VERDICT_COMMAND}: ids are letters, digits, dots, underscores and hyphens`);
  }
  return [...cases.keys()].join(',');
}
