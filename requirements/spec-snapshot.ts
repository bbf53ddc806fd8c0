import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { packageRoot, specRoot } from '../package/paths.js';
import { sameCheckSpecDir, sameCheckSpecNames } from './same-check.js';
import { displayPath } from '../package/display-path.js';
import type { SpecSet } from './spec-load.js';

/**
 * Built-in specs as `npm run build` loaded them (build/spec-snapshots.ts):
 * parsing ~50 KB of YAML is most of a cold `vmspec verify`, so a run reads
 * the snapshot instead when every *.yaml file of the spec directory is
 * byte for byte what the snapshot was made from — and so is every *.yaml
 * file of the specs its `sameCheckAs` clauses take checks from. Anything
 * else (a changed file, a spec of one's own, `spec lint`) goes through the
 * full loader. The snapshot keeps those files' texts and a run compares
 * them: exact, and cheaper than a digest (hashing would load node:crypto,
 * ~3 ms of every start).
 */
export const SPEC_SNAPSHOT_DIR = join(packageRoot, 'dist', 'spec-snapshots');
const SNAPSHOT_VERSION = 3;

/** The *.yaml files a spec is loaded from, by file name, as text. */
export type YamlTexts = Record<string, string>;

interface Snapshot {
  version: number;
  /** The spec's own *.yaml files, and those of each spec its `sameCheckAs` clauses name (null: not found). */
  sources: { own: YamlTexts; others: Record<string, YamlTexts | null> };
  /** The spec with every file path relative to its directory. */
  spec: SpecSet;
}

/** Every *.yaml file of a directory, by name. */
export function yamlTexts(dir: string): YamlTexts {
  const texts: YamlTexts = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) texts[f] = readFileSync(join(dir, f), 'utf8');
  return texts;
}

function sameTexts(a: YamlTexts | null | undefined, b: YamlTexts | null): boolean {
  if (!a || !b) return a === b;
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((n) => Object.hasOwn(b, n) && a[n] === b[n]);
}

/** What the spec in `dir` is loaded from, now. */
function sourcesOf(dir: string, spec: Pick<SpecSet, 'requirements'>): Snapshot['sources'] {
  const others: Record<string, YamlTexts | null> = {};
  for (const name of sameCheckSpecNames(spec)) {
    const other = sameCheckSpecDir(dir, name);
    others[name] = other ? yamlTexts(other) : null;
  }
  return { own: yamlTexts(dir), others };
}

/** True while every file the snapshot was made from reads the same today. */
function current(dir: string, snap: Snapshot): boolean {
  if (!sameTexts(snap.sources.own, yamlTexts(dir))) return false;
  const names = sameCheckSpecNames(snap.spec);
  if (names.join('\0') !== Object.keys(snap.sources.others).sort().join('\0')) return false;
  return names.every((name) => {
    const other = sameCheckSpecDir(dir, name);
    return sameTexts(snap.sources.others[name], other ? yamlTexts(other) : null);
  });
}

export function snapshotPath(dir: string): string {
  return join(SPEC_SNAPSHOT_DIR, `${basename(dir)}.json`);
}

/** The snapshot text for a loaded built-in spec. */
export function snapshotOf(spec: SpecSet): string {
  const rel = (file: string) => basename(file);
  const portable: SpecSet = {
    ...spec,
    dir: '',
    sections: spec.sections.map((s) => ({ ...s, file: rel(s.file), requirements: [] })),
    requirements: spec.requirements.map((r) => ({ ...r, source: { ...r.source, file: rel(r.source.file) } })),
  };
  return JSON.stringify({ version: SNAPSHOT_VERSION, sources: sourcesOf(spec.dir, spec), spec: portable } satisfies Snapshot);
}

/** The built-in spec in `dir` from its snapshot, or undefined when there is none or it is stale. */
export function readSnapshot(dir: string, path: string = snapshotPath(dir), builtinRoot: string = specRoot): SpecSet | undefined {
  if (dirname(dir) !== builtinRoot) return undefined;
  if (!existsSync(path)) return undefined;
  let snap: Snapshot;
  try {
    snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  } catch {
    return undefined;
  }
  if (snap.version !== SNAPSHOT_VERSION || typeof snap.sources?.own !== 'object' || !current(dir, snap)) return undefined;
  // A handful of section files for ~100 requirements: each path is made once (this runs at every start).
  const shown = new Map<string, string>();
  const abs = (file: string) => shown.get(file) ?? shown.set(file, displayPath(join(dir, file))).get(file)!;
  const requirements = snap.spec.requirements.map((r) => ({ ...r, source: { ...r.source, file: abs(r.source.file) } }));
  const bySection = new Map<string, typeof requirements>();
  for (const r of requirements) {
    const list = bySection.get(r.source.file);
    if (list) list.push(r);
    else bySection.set(r.source.file, [r]);
  }
  return {
    ...snap.spec,
    dir,
    sections: snap.spec.sections.map((s) => ({ ...s, file: abs(s.file), requirements: bySection.get(abs(s.file)) ?? [] })),
    requirements,
  };
}
