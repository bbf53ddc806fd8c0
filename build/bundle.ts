import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { packageRoot } from '../package/paths.js';

/**
 * Build step (`npm run build`): the CLI as one CommonJS bundle,
 * dist/bundle/main.cjs, plus V8's code cache for it, which
 * bin/bundle-loader.cjs loads. One file instead of a few hundred modules, and
 * code deserialised instead of compiled, is most of a fast start (Node 20
 * offers a code cache to CommonJS scripts only). Laziness is kept where it
 * pays: modules reached by dynamic import (probes, renderers, boot) are
 * initialised only when a command imports them, and yaml, ajv and nunjucks
 * are files of their own, read only by the runs that need them. The runtime
 * dependencies are bundled in, so an installed package needs no node_modules.
 */
/** The module whose `main(argv)` is the CLI. */
export const ENTRY = 'cli/main.ts';
export const BUNDLE_DIR = join(packageRoot, 'dist', 'bundle');
/** The CLI as one CommonJS file: the one kind of module V8's code cache can serve on Node 20. */
export const BUNDLE_FILE = join(BUNDLE_DIR, 'main.cjs');
export const CODE_CACHE_FILE = join(BUNDLE_DIR, 'main.cjs.v8cache');

/**
 * The CommonJS packages the sources load on demand (yaml and ajv synchronously,
 * through createRequire; nunjucks for html only): each is a file of its own in
 * dist/bundle/vendor/, required only when a run needs it, so other runs do not
 * even parse them (together ~580 KB).
 * ajv-formats shares ajv's code generator (it checks `instanceof`), so both are one file.
 */
const VENDOR_FILES: Record<string, string> = {
  'yaml.cjs': "module.exports = require('yaml');",
  'nunjucks.cjs': "module.exports = require('nunjucks');",
  'ajv.cjs': "module.exports = { ajv: require('ajv'), 'ajv-formats': require('ajv-formats') };",
};

/**
 * A module whose exports load the vendor file on first use: a probe that imports
 * yaml (cloud-init user-data) or the report module that imports nunjucks (for
 * html only) costs nothing until it parses or renders something.
 */
function loadedOnFirstUse(pkg: string): string {
  const names = Object.keys(createRequire(import.meta.url)(pkg) as object);
  return `let m; for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => (m ??= require('./vendor/${pkg}.cjs'))[name] });`;
}

const VENDORED: Record<string, string> = {
  yaml: loadedOnFirstUse('yaml'),
  nunjucks: loadedOnFirstUse('nunjucks'),
  ajv: "module.exports = require('./vendor/ajv.cjs').ajv;",
  'ajv-formats': "module.exports = require('./vendor/ajv.cjs')['ajv-formats'];",
};

const common: BuildOptions = { absWorkingDir: packageRoot, bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' };

const vendored: Plugin = {
  name: 'vendored',
  setup(b) {
    // The sources reach yaml and ajv through createRequire (an ESM module has no `require`);
    // esbuild leaves such a call alone, so the declaration goes and `require` is esbuild's to resolve.
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/^const require = createRequire\(import\.meta\.url\);$/m, ''), loader: 'ts' };
    });
    b.onResolve({ filter: /^(yaml|nunjucks|ajv|ajv-formats)$/ }, (args) => ({ path: args.path, namespace: 'vendored' }));
    b.onLoad({ filter: /.*/, namespace: 'vendored' }, (args) => ({ contents: VENDORED[args.path], loader: 'js' }));
    // Resolved at run time next to the chunk that requires it (all chunks are in dist/bundle/).
    b.onResolve({ filter: /^\.\/vendor\//, namespace: 'vendored' }, (args) => ({ path: args.path, external: true }));
  },
};

/**
 * commander requires node:child_process at load for executable subcommands,
 * which vmspec does not have; loading it (with net and stream behind it) is
 * ~3 ms of every start. The require becomes one made on first use. The build
 * fails if commander's line changes, so the saving cannot silently go.
 */
const COMMANDER_CHILD_PROCESS = "const childProcess = require('node:child_process');";
const commanderLazyChildProcess: Plugin = {
  name: 'commander-lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(COMMANDER_CHILD_PROCESS)) throw new Error(`${args.path}: expected \`${COMMANDER_CHILD_PROCESS}\` (commander changed; update build/bundle.ts)`);
      const lazy = "const childProcess = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });";
      return { contents: text.replace(COMMANDER_CHILD_PROCESS, lazy), loader: 'js' };
    });
  },
};

await rm(BUNDLE_DIR, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: [ENTRY],
  outfile: BUNDLE_FILE,
  format: 'cjs',
  minify: true,
  // The sources are ESM; in one CommonJS file `import.meta.url` is the bundle's own URL.
  define: { 'import.meta.url': '__vmspecBundleUrl' },
  banner: { js: "const __vmspecBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // For test/probes/lazy-loading.test.ts: maps code executed in the bundle back to its source file.
  sourcemap: 'external',
  plugins: [vendored, commanderLazyChildProcess],
});
// bin/bundle-loader.cjs reads the bundle as latin1 (no UTF-8 decoding at start): esbuild escapes non-ASCII by default; keep it so.
const nonAscii = (await readFile(BUNDLE_FILE)).findIndex((b) => b > 0x7f);
if (nonAscii >= 0) throw new Error(`${BUNDLE_FILE}: byte ${nonAscii} is not ASCII; bin/bundle-loader.cjs reads the bundle as latin1`);
for (const [file, contents] of Object.entries(VENDOR_FILES)) {
  await build({ ...common, stdin: { contents, resolveDir: packageRoot, loader: 'js' }, outfile: join(BUNDLE_DIR, 'vendor', file), format: 'cjs', minify: true });
}
writeCodeCache();

/** V8's code cache for the bundle, made after warm-up runs (build/code-cache.cjs); bin/bundle-loader.cjs reads it. */
function writeCodeCache(): void {
  // The warm-up runs write reports to fd 1 (cli/stdout.ts): discarded here.
  execFileSync(process.execPath, [join(packageRoot, 'build', 'code-cache.cjs'), BUNDLE_FILE, CODE_CACHE_FILE], { stdio: ['ignore', 'ignore', 'inherit'] });
}
