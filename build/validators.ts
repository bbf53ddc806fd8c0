import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { buildSync } from 'esbuild';
import { packageRoot } from '../package/paths.js';
import { compileSchemas, readSchemaSources, schemaDigest, schemaId, SCHEMA_NAMES } from '../requirements/validators-compile.js';
import { PRECOMPILED_VALIDATORS } from '../requirements/validators-precompiled.js';

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
const standalone = `${code}\nexports.schemaDigest = ${JSON.stringify(schemaDigest(sources))};\n`;

// The standalone code requires a few ajv runtime helpers (ucs2length, equal, formats);
// bundled in, the module needs no node_modules, so an installed package runs it as is.
const bundled = buildSync({
  stdin: { contents: standalone, resolveDir: packageRoot, loader: 'js', sourcefile: 'validators.generated.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  write: false,
  logLevel: 'warning',
});
const out = bundled.outputFiles[0]!.text;

// Written whole then renamed: a run starting meanwhile sees the old module or the new one.
mkdirSync(dirname(PRECOMPILED_VALIDATORS), { recursive: true });
const tmp = `${PRECOMPILED_VALIDATORS}.tmp-${process.pid}`;
writeFileSync(tmp, out);
renameSync(tmp, PRECOMPILED_VALIDATORS);
