import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { renderTap } from './tap.js';

/** Every format a run report can be written in. */
export { REPORT_FORMATS, REPORT_EXTENSIONS, isReportFormat, type ReportFormat } from './formats.js';
import type { ReportFormat } from './formats.js';

/**
 * Render one run in one format. `spec` (the spec the run used) gives
 * section order, clause paraphrases and coverage of unselected clauses;
 * without it the report still stands on the results alone.
 */
export function render(run: RunWithWaivers, format: ReportFormat, spec?: SpecSet): string {
  switch (format) {
    case 'html': return renderHtml(run, spec);
    case 'md': return renderMarkdown(run, spec);
    case 'junit': return renderJunit(run, spec);
    case 'tap': return renderTap(run, spec);
    case 'json': return renderJson(run);
  }
}
