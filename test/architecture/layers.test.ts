import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../fixtures/cache.js';

/**
 * The layer rule (docs/architecture.md): imports only go down.
 *   bytes, package  →  probes  →  requirements  →  engine  →  reports  →  boot, lava  →  cli
 * A module may import its own layer and any layer below; nothing imports cli/.
 * Static, re-exporting and dynamic (`await import`) imports all count, type-only ones too.
 */
const RANK: Record<string, number> = { bytes: 0, package: 0, probes: 1, requirements: 2, engine: 3, reports: 4, boot: 5, lava: 5, cli: 6 };

const IMPORT = /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\bimport\s+['"]([^'"]+)['"]/g;

/** The imports of one module that run up the layers, as "file → target". */
export function upwardImports(file: string, text: string): string[] {
  const from = layerOf(file);
  if (from === undefined) return [];
  const bad: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (!spec.startsWith('.')) continue; // packages and node: builtins
    const to = layerOf(resolve(dirname(file), spec));
    if (to !== undefined && RANK[to]! > RANK[from]!) bad.push(`${relative(repoRoot, file)} → ${spec} (${from} imports ${to})`);
  }
  return bad;
}

function layerOf(path: string): string | undefined {
  const top = relative(repoRoot, path).split(/[\\/]/)[0]!;
  return top in RANK ? top : undefined;
}

function tsFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const full = join(dir, e);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return e.endsWith('.ts') && !e.endsWith('.d.ts') ? [full] : [];
  });
}

t.test('the checker finds an upward import of every kind', async (t) => {
  const file = join(repoRoot, 'engine', 'x.ts');
  t.same(upwardImports(file, "import { a } from '../probes/a.js';\nimport type { B } from './b.js';"), [], 'down and sideways are fine');
  t.equal(upwardImports(file, "import {\n  render,\n} from '../reports/render.js';").length, 1, 'a static import over several lines');
  t.equal(upwardImports(file, "const m = await import('../boot/run.js');").length, 1, 'a dynamic import');
  t.equal(upwardImports(file, "export { x } from '../cli/options.js';").length, 1, 'a re-export');
  t.equal(upwardImports(join(repoRoot, 'lava', 'y.ts'), "import { z } from '../boot/z.js';").length, 0, 'boot and lava share a layer');
});

t.test('no module imports up the layers', async (t) => {
  const files = Object.keys(RANK).flatMap((layer) => tsFiles(join(repoRoot, layer)));
  t.ok(files.length > 100, `${files.length} modules checked`);
  const bad = files.flatMap((f) => upwardImports(f, readFileSync(f, 'utf8')));
  t.same(bad, [], 'upward imports');
});
