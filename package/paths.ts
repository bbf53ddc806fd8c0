import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/**
 * The package root, found from this module whether it runs from source
 * (package/) or compiled (dist/package/): the first ancestor with package.json.
 */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('vmspec: cannot find its package root (package.json)');
})();

export const specRoot = join(packageRoot, 'spec');
export const schemaRoot = join(packageRoot, 'schema');
