/**
 * The output formats of every report command, in a module with no
 * renderer behind it: the CLI lists them in --help and checks options
 * without loading the renderers (and nunjucks) until something is rendered.
 */
export const REPORT_FORMATS = ['html', 'md', 'junit', 'tap', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The usual file extension of each format. */
export const REPORT_EXTENSIONS: Record<ReportFormat, string> = { html: '.html', md: '.md', junit: '.xml', tap: '.tap', json: '.json' };

export function isReportFormat(f: string): f is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(f);
}

export const DIFF_FORMATS = ['text', 'md', 'json'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

export const MERGE_FORMATS = ['html', 'md', 'junit', 'tap', 'json'] as const;
export type MergeFormat = (typeof MERGE_FORMATS)[number];

export const SPEC_RENDER_FORMATS = ['html', 'md'] as const;
export type SpecRenderFormat = (typeof SPEC_RENDER_FORMATS)[number];

export const SPEC_DIFF_FORMATS = ['text', 'md', 'json'] as const;
export type SpecDiffFormat = (typeof SPEC_DIFF_FORMATS)[number];
