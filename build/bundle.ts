import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { packageRoot } from '../package/paths.js';

/**
 * Build step (`npm run build`): the CLI as one ESM bundle with split chunks
 * (dist/bundle/), which bin/*.js load. A few files instead of a few hundred
 * modules is most of a fast start; dynamic imports (probes, renderers,
 * nunjucks, ora) stay chunks loaded only by the commands that use them. The
 * runtime dependencies are bundled in, so an installed package needs no
 * node_modules.
 */

/** The module whose `main(argv)` is the CLI. */
export const ENTRY = 'cli/main.ts';
export const BUNDLE_DIR = join(packageRoot, 'dist', 'bundle');

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

/**
 * The probe table imports each probe on its own; in the bundle that is a file
 * per probe, and Node's ESM loader pays per file. Bundled, the probes of one input
 * kind (image, evidence, boot) are one chunk: an image-only run still loads no
 * evidence probe. A table line this does not recognise keeps its own chunk.
 */
const probeGroups: Plugin = {
  name: 'probe-groups',
  setup(b) {
    const groups = new Map<string, string[]>();
    b.onLoad({ filter: /\/probes\/table\.generated\.ts$/ }, async (args) => {
      const text = (await readFile(args.path, 'utf8')).replace(
        /input: '(\w+)', load: async \(\) => \(await import\('(\.\/[^']+)\.js'\)\)/g,
        (_, input: string, path: string) => {
          const members = groups.get(input) ?? [];
          members.push(join(dirname(args.path), `${path}.ts`));
          groups.set(input, members);
          // Each probe module under a name of its own: two probes exporting the same name stay apart.
          return `input: '${input}', load: async () => (await import('probe-group:${input}')).m${members.length - 1}`;
        },
      );
      return { contents: text, loader: 'ts' };
    });
    // The chunk is named after this path: dist/bundle/probes-<input>-HASH.js (test/probes/table.test.ts traces it).
    b.onResolve({ filter: /^probe-group:/ }, (args) => ({ path: `probes-${args.path.slice('probe-group:'.length)}`, namespace: 'probe-group' }));
    b.onLoad({ filter: /.*/, namespace: 'probe-group' }, (args) => ({
      contents: (groups.get(args.path.slice('probes-'.length)) ?? []).map((p, i) => `export * as m${i} from ${JSON.stringify(p)};`).join('\n'),
      loader: 'ts',
      resolveDir: packageRoot,
    }));
  },
};

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

await rm(BUNDLE_DIR, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { main: ENTRY },
  outdir: BUNDLE_DIR,
  splitting: true,
  format: 'esm',
  chunkNames: '[name]-[hash]',
  minify: true,
  // What is left to `require` at run time (vendor files, node: built-ins, the precompiled validators) goes
  // through this; made on first use, since every chunk carries it and few need it.
  banner: { js: "import { createRequire as __vmspecCreateRequire } from 'node:module'; let __vmspecRequire; const require = (id) => (__vmspecRequire ??= __vmspecCreateRequire(import.meta.url))(id);" },
  plugins: [probeGroups, vendored],
});
for (const [file, contents] of Object.entries(VENDOR_FILES)) {
  await build({ ...common, stdin: { contents, resolveDir: packageRoot, loader: 'js' }, outfile: join(BUNDLE_DIR, 'vendor', file), format: 'cjs', minify: true });
}
