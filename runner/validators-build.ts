import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileSchemas, readSchemaSources, schemaDigest, schemaId, SCHEMA_NAMES } from './validators-compile.js';
import { PRECOMPILED_VALIDATORS } from './validators-precompiled.js';

/**
 * Build step (`npm run build`): compile every schema once and write the
 * validators as standalone CommonJS code, so a run loads plain functions
 * instead of loading ajv and compiling on every start.
 */
const require = createRequire(import.meta.url);
const standaloneCode = (require('ajv/dist/standalone') as typeof import('ajv/dist/standalone/index.js')).default;

const sources = readSchemaSources();
const ajv = compileSchemas(sources, { source: true });
const code = standaloneCode(ajv, Object.fromEntries(SCHEMA_NAMES.map((n) => [n, schemaId(n)])));
const out = `${code}\nexports.schemaDigest = ${JSON.stringify(schemaDigest(sources))};\n`;

// Written whole then renamed: a run starting meanwhile sees the old module or the new one.
mkdirSync(dirname(PRECOMPILED_VALIDATORS), { recursive: true });
const tmp = `${PRECOMPILED_VALIDATORS}.tmp-${process.pid}`;
writeFileSync(tmp, out);
renameSync(tmp, PRECOMPILED_VALIDATORS);
