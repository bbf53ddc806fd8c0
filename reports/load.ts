import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { explainErrors, validator } from '../requirements/schemas.js';
import { SelectionError } from '../engine/select.js';
import { displayPath } from '../package/display-path.js';
import { loadSpec, resolveSpecDir, type SpecSet } from '../requirements/spec-load.js';
import type { RunWithWaivers } from '../engine/waivers.js';

/** Results files larger than this are refused (observed facts are bounded by the probes; this is a sanity cap). */
export const MAX_RESULTS_BYTES = 256 * 1024 * 1024;

/**
 * A results file that cannot be used: not JSON, or not valid against
 * schema/results.schema.json. A usage/input error (exit 2): it extends
 * SelectionError so the CLI maps it so.
 */
export class ResultsFileError extends SelectionError {}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Parse and validate results JSON; every problem is named with its JSON path (or line:column for syntax errors). */
export function parseResults(text: string, file: string): RunWithWaivers {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? (({ line, column }) => `${line}:${column}`)(lineColumn(text, Number(pos[1]))) : '1:1';
    throw new ResultsFileError(`${file}:${where}: not valid JSON (${msg.split('\n')[0]})`);
  }
  const validate = validator('results');
  if (!validate(value)) {
    const problems = explainErrors(validate.errors);
    // ajv reports the offending value only in verbose mode; name it here for pattern errors.
    const at = (path: (string | number)[]) => path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), value);
    const shown = problems.slice(0, 10).map((p) => `  ${file}: ${p.message.replace('"undefined" does not have', () => `${JSON.stringify(String(at(p.path)).slice(0, 80))} does not have`)}`);
    if (problems.length > 10) shown.push(`  … and ${problems.length - 10} more`);
    throw new ResultsFileError(`${file} is not a vmspec results file (schema/results.schema.json):\n${shown.join('\n')}`);
  }
  return value as RunWithWaivers;
}

/** Read a results file written by `vmspec verify --format json` (or `--report json:FILE`). */
export function loadResultsFile(path: string): RunWithWaivers {
  const shown = displayPath(path);
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_RESULTS_BYTES) throw new ResultsFileError(`${shown}: ${size} bytes is larger than the ${MAX_RESULTS_BYTES}-byte limit for a results file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ResultsFileError) throw e;
    throw new ResultsFileError(`${shown}: cannot read: ${(e as Error).message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '')}`);
  }
  return parseResults(text, shown);
}

function tryLoad(dir: string): SpecSet | undefined {
  try {
    if (!existsSync(join(dir, 'spec.yaml'))) return undefined;
    const { spec, issues } = loadSpec(dir);
    return issues.length ? undefined : spec;
  } catch {
    return undefined;
  }
}

/**
 * The spec to render a run with. An explicit --spec wins (and must load).
 * Otherwise the built-in spec of the run's id or the directory the run
 * recorded, preferring one whose sha256 matches the run; none when neither
 * loads (the report then stands on the results alone).
 */
export function specForRun(run: RunWithWaivers, explicit?: string): SpecSet | undefined {
  if (explicit) {
    const dir = resolveSpecDir(explicit);
    const { spec, issues } = loadSpec(dir);
    if (!spec || issues.length) throw new SelectionError(`--spec ${explicit}: the spec has errors (run \`vmspec spec lint ${explicit}\`)`);
    return spec;
  }
  const candidates: SpecSet[] = [];
  let builtin: string | undefined;
  try {
    builtin = /^vmspec-v\d+$/.test(run.spec.id) ? resolveSpecDir(run.spec.id) : undefined;
  } catch {
    builtin = undefined;
  }
  for (const dir of [builtin, typeof run.spec.path === 'string' && run.spec.path ? run.spec.path : undefined]) {
    if (!dir) continue;
    const s = tryLoad(dir);
    if (s && s.id === run.spec.id) candidates.push(s);
  }
  return candidates.find((s) => s.sha256 === run.spec.sha256) ?? candidates[0];
}
