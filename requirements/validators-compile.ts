import { crypto } from '../bytes/lazy-builtins.js';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ajv, Options } from 'ajv';
import { schemaRoot } from '../package/paths.js';

/**
 * Compiling schema/*.schema.json with ajv, shared by the build step
 * (build/validators.ts writes the result as standalone code) and the
 * runtime fallback (schemas.ts, when no matching precompiled module exists).
 * ajv is loaded only when a compile actually happens: it costs ~90 ms to load.
 */

export const SCHEMA_BASE = 'https://vmspec.dev/schema/';
export const SCHEMA_NAMES = ['requirement', 'expectation', 'spec-file', 'spec-index', 'profile', 'results', 'waivers', 'references', 'lava-matrix'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

/** verbose: error messages read `parentSchema` (oneOf titles) and `data` (pattern errors). */
export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true } as const satisfies Options;

export interface SchemaSource {
  file: string;
  text: string;
}

/** Every schema file, sorted by name (the order they are registered in). */
export function readSchemaSources(): SchemaSource[] {
  return readdirSync(schemaRoot).filter((f) => f.endsWith('.schema.json')).sort().map((file) => ({ file, text: readFileSync(join(schemaRoot, file), 'utf8') }));
}

/**
 * What the compiled code depends on: the schema texts and the ajv options.
 * A precompiled module is used only when its digest equals this one, so an
 * edited schema is never judged by stale code.
 */
export function schemaDigest(sources: SchemaSource[]): string {
  const h = crypto().createHash('sha256').update(JSON.stringify(AJV_OPTIONS));
  for (const s of sources) h.update(`\0${s.file}\0${s.text}`);
  return h.digest('hex');
}

// ajv and ajv-formats are CommonJS: require() loads them synchronously, on demand.
const require = createRequire(import.meta.url);
type AddFormats = (ajv: Ajv) => Ajv;

/** One ajv instance with every schema registered by its $id. `source` keeps the generated code (for standalone output). */
export function compileSchemas(sources: SchemaSource[], opts: { source?: boolean } = {}): Ajv {
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const formatsModule = require('ajv-formats') as AddFormats & { default?: AddFormats };
  const addFormats = formatsModule.default ?? formatsModule;
  const ajv = new AjvClass({ ...AJV_OPTIONS, ...(opts.source ? { code: { source: true } } : {}) });
  addFormats(ajv);
  for (const s of sources) ajv.addSchema(JSON.parse(s.text));
  return ajv;
}

export function schemaId(name: SchemaName): string {
  return `${SCHEMA_BASE}${name}.schema.json`;
}
