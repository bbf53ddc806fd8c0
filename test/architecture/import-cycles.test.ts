import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

/**
 * No runtime import cycle among the source modules: a cycle makes the load
 * order decide which side sees the other half-initialised, and ties modules
 * that should stand alone. The graph is the static one (`import`, `export
 * ... from`); `import type` and imports of types only are erased, so they
 * do not count, and `await import()` loads after both sides are complete.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Relative specifiers this module loads at run time, as written. */
function runtimeImports(text: string, fileName = 'module.ts'): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const s of source.statements) {
    if (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier)) {
      const clause = s.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const typesOnly = clause && !clause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (typesOnly) continue;
      out.push(s.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(s) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) {
      if (s.isTypeOnly) continue;
      const named = s.exportClause;
      if (named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)) continue;
      out.push(s.moduleSpecifier.text);
    }
  }
  return out.filter((m) => m.startsWith('.'));
}

/** Every cycle's modules (strongly connected components of more than one module, or a module importing itself). */
function findCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** The module a relative specifier names: `./x.js` is the source `./x.ts`. */
function resolveSource(from: string, spec: string): string | undefined {
  const p = resolve(dirname(from), spec);
  for (const candidate of [p.replace(/\.js$/, '.ts'), p, `${p}.ts`, join(p, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

t.test('runtimeImports counts value imports and re-exports, not type-only ones', async (t) => {
  t.same(runtimeImports([
    "import { a } from './a.js';",
    "import type { B } from './b.js';",
    "import { type C } from './c.js';",
    "import { type D, d } from './d.js';",
    "import './e.js';",
    "export { f } from './f.js';",
    "export type { G } from './g.js';",
    "import { h } from 'node:fs';",
    "const i = await import('./i.js');",
  ].join('\n')), ['./a.js', './d.js', './e.js', './f.js']);
});

t.test('findCycles finds cycles and only cycles', async (t) => {
  t.same(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']], ['e', ['e']], ['f', []]])), [['a', 'b', 'c'], ['e']]);
  t.same(findCycles(new Map([['a', ['b']], ['b', []], ['c', ['a', 'b']]])), []);
});

t.test('the source modules (tsconfig.build.json) import one another without a cycle', async (t) => {
  const { include } = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const files = include.flatMap((dir) => sourceFiles(join(root, dir)));
  t.ok(files.length > 100, `${files.length} source modules`);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets = runtimeImports(readFileSync(f, 'utf8'), f).map((spec) => resolveSource(f, spec));
    graph.set(relative(root, f), targets.filter((x): x is string => x !== undefined).map((x) => relative(root, x)));
  }
  t.same(findCycles(graph), [], 'runtime import cycles');
});
