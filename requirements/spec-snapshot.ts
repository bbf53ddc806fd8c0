import { createHash } from 'node:crypto';
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
 * full loader.
 */
export const SPEC_SNAPSHOT_DIR = join(packageRoot, 'dist', 'spec-snapshots');
const SNAPSHOT_VERSION = 2;

interface Snapshot {
  version: number;
  digest: string;
  /** The spec with every file path relative to its directory. */
  spec: SpecSet;
}

/** sha256 over the directory's *.yaml files (names and contents, sorted by name). */
export function specDirDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    hash.update(`${f}\0`);
    hash.update(readFileSync(join(dir, f)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** specDirDigest of the spec, combined with those of the specs it takes checks from (if any). */
function snapshotDigest(dir: string, spec: Pick<SpecSet, 'requirements'>): string {
  const own = specDirDigest(dir);
  const others = sameCheckSpecNames(spec);
  if (!others.length) return own;
  const hash = createHash('sha256').update(own);
  for (const name of others) {
    const other = sameCheckSpecDir(dir, name);
    hash.update(`\0${name}\0${other ? specDirDigest(other) : 'missing'}`);
  }
  return hash.digest('hex');
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
  return JSON.stringify({ version: SNAPSHOT_VERSION, digest: snapshotDigest(spec.dir, spec), spec: portable } satisfies Snapshot);
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
  if (snap.version !== SNAPSHOT_VERSION || snap.digest !== snapshotDigest(dir, snap.spec)) return undefined;
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
