import type { ErrorObject } from 'ajv';
import { compileSchemas, readSchemaSources, schemaDigest, schemaId, type SchemaName } from './validators-compile.js';
import { loadPrecompiled } from './validators-precompiled.js';

export type { SchemaName } from './validators-compile.js';

/** A schema check: true when `data` is valid, else `errors` says why (ajv's error objects, verbose). */
export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

let validators: ((name: SchemaName) => Validator) | undefined;

/**
 * The precompiled validators from the build (no ajv at run time), or, when
 * running from source before a build or with schemas edited since, the same
 * schemas compiled here with the same options: identical errors either way.
 */
function validatorTable(): (name: SchemaName) => Validator {
  if (validators) return validators;
  const sources = readSchemaSources();
  const precompiled = loadPrecompiled(schemaDigest(sources));
  if (precompiled) {
    validators = (name) => precompiled[name];
    return validators;
  }
  const ajv = compileSchemas(sources);
  validators = (name) => {
    const fn = ajv.getSchema(schemaId(name));
    if (!fn) throw new Error(`schema ${name} is not registered`);
    return fn as Validator;
  };
  return validators;
}

export function validator(name: SchemaName): Validator {
  return validatorTable()(name);
}

/** A validation problem in plain English, with the JSON path it concerns. */
export interface SchemaProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Turn ajv's errors into few, readable problems. `oneOf` branches produce a
 * cascade of errors; keep the most specific ones and phrase them for people.
 */
export function explainErrors(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  if (!errors?.length) return [];
  const out = new Map<string, SchemaProblem>();
  const oneOfFailures = errors.filter((e) => e.keyword === 'oneOf');
  // Errors from inside oneOf branches are noise when the branch itself is explained.
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && !e.schemaPath.includes('/oneOf/'));
  for (const e of specific) add(out, e);
  for (const e of oneOfFailures) if (!specific.some((s) => s.instancePath === e.instancePath)) add(out, e);
  return [...out.values()];
}

function add(out: Map<string, SchemaProblem>, e: ErrorObject): void {
  const path = pointerToPath(e.instancePath);
  const where = path.length ? path.join('.') : 'the document';
  let message: string;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': message = `${where}: missing required field "${String(p.missingProperty)}"`; break;
    case 'additionalProperties': message = `${where}: unknown field "${String(p.additionalProperty)}" (check the spelling; allowed fields are in the schema)`; path.push(String(p.additionalProperty)); break;
    case 'enum': message = `${where}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`; break;
    case 'const': message = `${where}: must be ${JSON.stringify(p.allowedValue)}`; break;
    case 'type': message = `${where}: must be ${String(p.type)}`; break;
    case 'pattern': message = `${where}: "${String(e.data).slice(0, 80)}" does not have the expected form (${String(p.pattern)})`; break;
    case 'minLength': case 'maxLength': case 'minItems': case 'maxItems': case 'minimum': case 'maximum': case 'minProperties': case 'maxProperties':
      message = `${where}: ${e.message ?? e.keyword}`; break;
    case 'uniqueItems': message = `${where}: has duplicate items (${String(p.i)} and ${String(p.j)})`; break;
    case 'oneOf': message = oneOfMessage(where, e); break;
    case 'not': message = `${where}: has a field combination that is not allowed`; break;
    default: message = `${where}: ${e.message ?? e.keyword}`;
  }
  const key = `${path.join('.')}|${message}`;
  if (!out.has(key)) out.set(key, { path, message });
}

function oneOfMessage(where: string, e: ErrorObject): string {
  // ajv runs in verbose mode, so the schema holding the oneOf is known.
  const title = (e.parentSchema as { title?: string } | undefined)?.title;
  if (title === 'Requirement') {
    const restated = sameCheckRestated(e.data);
    if (restated.length) return `${where}: "sameCheckAs" takes probe, params, needs, when and expect from the clause it names; remove ${restated.map((k) => `"${k}"`).join(', ')}`;
    return `${where}: a requirement needs either "probe" and "expect" (automated), "sameCheckAs" (another spec's clause's check) or "manual" (by hand): exactly one of these`;
  }
  if (title === 'Expectation') {
    return `${where}: an expectation needs "fact" and exactly one operator (equals, subset, gte, lte, oneOf, matches, contains, every, some, exists)`;
  }
  return `${where}: must match exactly one of the allowed forms`;
}

/** The fields a requirement with `sameCheckAs` writes out although that clause provides them (or `manual`). */
function sameCheckRestated(data: unknown): string[] {
  if (typeof data !== 'object' || data === null || !('sameCheckAs' in data)) return [];
  return ['probe', 'params', 'needs', 'when', 'expect', 'manual'].filter((k) => k in data);
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
