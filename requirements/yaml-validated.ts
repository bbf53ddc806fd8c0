import type { ErrorObject } from 'ajv';
import { explainErrors, type SchemaProblem, type Validator } from './schemas.js';
import { parseYaml, YamlError, type ParsedYaml, type YamlIssue } from './yaml-document.js';

/**
 * The steps every YAML input file takes (waivers, reference catalogue, LAVA
 * matrices): safe YAML, not empty, valid against its JSON Schema, every
 * problem at its file:line:column. Callers wrap the issues in their own error.
 */
export type ValidatedYaml = { ok: true; parsed: ParsedYaml } | { ok: false; issues: YamlIssue[] };

export function parseValidatedYaml(
  text: string,
  file: string,
  o: { validate: Validator; whenEmpty: string; explain?: (errors: ErrorObject[], value: unknown) => SchemaProblem[] },
): ValidatedYaml {
  let parsed: ParsedYaml;
  try {
    parsed = parseYaml(text, file);
  } catch (e) {
    if (e instanceof YamlError) return { ok: false, issues: e.issues };
    throw e;
  }
  if (parsed.value === null || parsed.value === undefined) {
    return { ok: false, issues: [{ file, line: 1, column: 1, message: `the file is empty; ${o.whenEmpty}` }] };
  }
  if (!o.validate(parsed.value)) {
    const problems = o.explain ? o.explain(o.validate.errors ?? [], parsed.value) : explainErrors(o.validate.errors);
    return { ok: false, issues: problems.map((p) => ({ file, ...parsed.locate(p.path), message: p.message })) };
  }
  return { ok: true, parsed };
}
