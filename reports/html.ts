import { crypto } from '../bytes/lazy-builtins.js';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { packageRoot } from '../package/paths.js';
import type { SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';
import { TOOL_VERSION } from '../package/version.js';
import { buildReportModel } from './model.js';

/** The nunjucks templates: reports/templates in the package (source and dist builds alike). */
export const templateDir = join(packageRoot, 'reports', 'templates');

let env: nunjucks.Environment | undefined;

/** One environment, autoescape ON: every `{{ value }}` is HTML-escaped unless a template marks it `| safe`. */
export function templates(): nunjucks.Environment {
  if (env) return env;
  env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templateDir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  return env;
}

function cspHash(content: string): string {
  return `sha256-${crypto().createHash('sha256').update(content, 'utf8').digest('base64')}`;
}

/**
 * Render a self-contained HTML page: CSS and script inline, no external
 * asset, and a Content-Security-Policy that lets only this page's own
 * style and script (by hash) apply, so injected markup could never run.
 * `| safe` is used only for the page's own CSS and script.
 */
export function renderPage(template: string, context: Record<string, unknown>, opts: { script?: boolean } = {}): string {
  const e = templates();
  const css = e.render('_style.css.njk', {});
  const js = opts.script ? e.render('_filters.js.njk', {}) : '';
  return e.render(template, {
    ...context,
    css,
    styleHash: cspHash(css),
    js,
    scriptHash: js ? cspHash(js) : '',
    generator: `vmspec ${TOOL_VERSION}`,
  });
}

/** The HTML report of one run: metadata, summary, clauses by section, traceability matrix, filters. */
export function renderHtml(run: RunWithWaivers, spec?: SpecSet): string {
  const model = buildReportModel(run, spec);
  const specNote = spec ? `paraphrases from ${spec.id} ${spec.version} (sha256 ${spec.sha256.slice(0, 12)}…)` : '';
  return renderPage('report.njk', { r: model, specNote, hasNotSelected: model.matrix.some((m) => m.status === 'not selected') }, { script: true });
}
