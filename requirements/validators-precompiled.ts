import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../package/paths.js';
import type { SchemaName } from './validators-compile.js';
import type { Validator } from './schemas.js';

/**
 * The validators `npm run build` precompiled (build/validators.ts). One
 * path for source and built runs alike, so tests run from source use them too.
 */
export const PRECOMPILED_VALIDATORS = join(packageRoot, 'dist', 'requirements', 'validators.generated.cjs');

type PrecompiledModule = Record<SchemaName, Validator> & { schemaDigest?: string };

const require = createRequire(import.meta.url);

/** The precompiled validators when they were built from exactly these schemas, else undefined. */
export function loadPrecompiled(digest: string): Record<SchemaName, Validator> | undefined {
  if (!existsSync(PRECOMPILED_VALIDATORS)) return undefined;
  const mod = require(PRECOMPILED_VALIDATORS) as PrecompiledModule;
  return mod.schemaDigest === digest ? mod : undefined;
}
