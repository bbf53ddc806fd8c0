import { extname } from 'node:path';
import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import type { RunDiff } from './diff.js';
import type { MergedRuns } from './merge.js';
import type { SpecDiff } from './spec-render.js';

/**
 * Every output format of every command, as one renderer type (like
 * Spectral's formatters): a command names its subject's format set, and
 * `--format`, `--report FORMAT:FILE` and --help all read the same table.
 * This module has no renderer behind it: renderers (and nunjucks behind
 * them) load on first use, so --help and option checks stay cheap.
 */

/** What a renderer may use besides its subject. */
export interface RenderOptions {
  /** The spec the subject was checked against: section order, paraphrases, coverage (absent: the subject stands alone). */
  spec?: SpecSet;
  /** ANSI colour; only text formats use it, and only on a terminal. */
  colour: boolean;
  /** Text: the reason for passing clauses too, and remediation for failures. */
  verbose: boolean;
}

/** One output format of one kind of subject. */
export type Renderer<S> = (subject: S, options: RenderOptions) => string;

/** The formats one kind of subject can be written in. */
export interface FormatSet<S, F extends string> {
  /** In --help order; the first is no default (each command says its own). */
  readonly names: readonly F[];
  /** The file extensions that name a format (for `--report FILE` and `-o FILE`), first the usual one. */
  readonly extensions: Readonly<Partial<Record<F, readonly string[]>>>;
  renderer(format: F): Promise<Renderer<S>>;
}

/** The formats `render()` (reports/render.ts) writes a run report in: every run format but text. */
export const REPORT_FORMATS = ['html', 'md', 'junit', 'tap', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The usual file extension of each report format. */
export const REPORT_EXTENSIONS: Record<ReportFormat, string> = { html: '.html', md: '.md', junit: '.xml', tap: '.tap', json: '.json' };

export function isReportFormat(f: string): f is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(f);
}

/** A run (verify, boot, report render): the text verify prints, and every report format. */
export const RUN_FORMAT_NAMES = ['text', ...REPORT_FORMATS] as const;
export type RunFormat = (typeof RUN_FORMAT_NAMES)[number];

export const DIFF_FORMATS = ['text', 'md', 'json'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

export const MERGE_FORMATS = ['html', 'md', 'junit', 'tap', 'json'] as const;
export type MergeFormat = (typeof MERGE_FORMATS)[number];

export const SPEC_RENDER_FORMATS = ['html', 'md'] as const;
export type SpecRenderFormat = (typeof SPEC_RENDER_FORMATS)[number];

export const SPEC_DIFF_FORMATS = ['text', 'md', 'json'] as const;
export type SpecDiffFormat = (typeof SPEC_DIFF_FORMATS)[number];

const REPORT_FILE_EXTENSIONS = { html: ['.html', '.htm'], md: ['.md', '.markdown'], junit: ['.xml'], tap: ['.tap'], json: ['.json'] } as const;

export const RUN_FORMATS: FormatSet<RunWithWaivers, RunFormat> = {
  names: RUN_FORMAT_NAMES,
  extensions: { text: ['.txt'], ...REPORT_FILE_EXTENSIONS },
  async renderer(format) {
    if (format === 'text') {
      const { renderText } = await import('./text.js');
      return (run, o) => renderText(run, { colour: o.colour, verbose: o.verbose });
    }
    // json alone needs no report model: the html, markdown and text modules stay unloaded (~2 ms of a start).
    if (format === 'json') {
      const { renderJson } = await import('./json.js');
      return (run) => renderJson(run);
    }
    const { render } = await import('./render.js');
    return (run, o) => render(run, format, o.spec);
  },
};

export const MERGE_OUTPUT_FORMATS: FormatSet<MergedRuns, MergeFormat> = {
  names: MERGE_FORMATS,
  extensions: REPORT_FILE_EXTENSIONS,
  async renderer(format) {
    const { renderMerge } = await import('./merge.js');
    return (m) => renderMerge(m, format);
  },
};

export const DIFF_OUTPUT_FORMATS: FormatSet<RunDiff, DiffFormat> = {
  names: DIFF_FORMATS,
  extensions: { text: ['.txt'], md: REPORT_FILE_EXTENSIONS.md, json: REPORT_FILE_EXTENSIONS.json },
  async renderer(format) {
    const { renderDiff } = await import('./diff.js');
    return (d, o) => renderDiff(d, format, { colour: o.colour });
  },
};

export const SPEC_OUTPUT_FORMATS: FormatSet<SpecSet, SpecRenderFormat> = {
  names: SPEC_RENDER_FORMATS,
  extensions: { html: REPORT_FILE_EXTENSIONS.html, md: REPORT_FILE_EXTENSIONS.md },
  async renderer(format) {
    const { renderSpec } = await import('./spec-render.js');
    return (spec) => renderSpec(spec, format);
  },
};

export const SPEC_DIFF_OUTPUT_FORMATS: FormatSet<SpecDiff, SpecDiffFormat> = {
  names: SPEC_DIFF_FORMATS,
  extensions: { text: ['.txt'], md: REPORT_FILE_EXTENSIONS.md, json: REPORT_FILE_EXTENSIONS.json },
  async renderer(format) {
    const { renderSpecDiff } = await import('./spec-render.js');
    return (d, o) => renderSpecDiff(d, format, { colour: o.colour });
  },
};

export function isFormatOf<F extends string>(set: FormatSet<never, F>, name: string): name is F {
  return (set.names as readonly string[]).includes(name);
}

/** The format a file name's extension names in this set, if any (`report.html` → html). */
export function formatForFile<F extends string>(set: FormatSet<never, F>, file: string | undefined): F | undefined {
  if (!file) return undefined;
  const ext = extname(file).toLowerCase();
  return set.names.find((f) => set.extensions[f]?.includes(ext));
}
