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
 * full loader. The snapshot keeps those files' bytes and a run compares
 * them: exact, and cheaper than a digest (hashing would load node:crypto,
 * ~3 ms of every start).
 *
 * The file is one line of JSON (the spec, and each source file's name and
 * length), a newline, then the source files' bytes in that order: the
 * comparison is a memcmp per file, with no UTF-8 decoding and no JSON
 * string parsing of ~85 KB of YAML at every start.
 */
export const SPEC_SNAPSHOT_DIR = join(packageRoot, 'dist', 'spec-snapshots');
const SNAPSHOT_VERSION = 4;

/** The *.yaml files a spec is loaded from, by file name (sorted), as bytes. */
export type YamlFiles = Record<string, Uint8Array>;
/** The same files' byte lengths, in the order their bytes follow the JSON line. */
type YamlLengths = Record<string, number>;

interface Snapshot {
  version: number;
  /** The spec's own *.yaml files, and those of each spec its `sameCheckAs` clauses name (null: not found). */
  sources: { own: YamlLengths; others: Record<string, YamlLengths | null> };
  /** The spec with every file path relative to its directory. */
  spec: SpecSet;
}

/** Every *.yaml file of a directory, by name. */
export function yamlFiles(dir: string): YamlFiles {
  const files: YamlFiles = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) files[f] = readFileSync(join(dir, f));
  return files;
}

/** The specs a spec's `sameCheckAs` clauses take checks from, with their files now (null: not found). */
function othersOf(dir: string, spec: Pick<SpecSet, 'requirements'>): Record<string, YamlFiles | null> {
  const others: Record<string, YamlFiles | null> = {};
  for (const name of sameCheckSpecNames(spec)) {
    const other = sameCheckSpecDir(dir, name);
    others[name] = other ? yamlFiles(other) : null;
  }
  return others;
}

const lengths = (files: YamlFiles): YamlLengths => Object.fromEntries(Object.entries(files).map(([n, b]) => [n, b.length]));

/** Reads the source bytes that follow the JSON line back, in the order they were written. */
class SourceBytes {
  #at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  /** True when `files` has exactly the names of `recorded` and each file's bytes are the next ones. */
  same(recorded: YamlLengths | null | undefined, files: YamlFiles | null): boolean {
    if (!recorded || !files) return !recorded && !files;
    const names = Object.keys(recorded);
    if (names.length !== Object.keys(files).length) return false;
    for (const name of names) {
      const now = files[name];
      const len = recorded[name]!;
      if (!now || now.length !== len || this.#at + len > this.bytes.length) return false;
      if (!Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.#at, len).equals(now)) return false;
      this.#at += len;
    }
    return true;
  }
}

/** True while every file the snapshot was made from reads the same today. */
function current(dir: string, snap: Snapshot, bytes: SourceBytes): boolean {
  if (!bytes.same(snap.sources.own, yamlFiles(dir))) return false;
  const names = sameCheckSpecNames(snap.spec);
  if (names.join('\0') !== Object.keys(snap.sources.others).sort().join('\0')) return false;
  return names.every((name) => {
    const other = sameCheckSpecDir(dir, name);
    return bytes.same(snap.sources.others[name], other ? yamlFiles(other) : null);
  });
}

export function snapshotPath(dir: string): string {
  return join(SPEC_SNAPSHOT_DIR, `${basename(dir)}.snapshot`);
}

/** The snapshot file for a loaded built-in spec: the JSON line, then the source files' bytes. */
export function snapshotOf(spec: SpecSet): Buffer {
  const rel = (file: string) => basename(file);
  const portable: SpecSet = {
    ...spec,
    dir: '',
    sections: spec.sections.map((s) => ({ ...s, file: rel(s.file), requirements: [] })),
    requirements: spec.requirements.map((r) => ({ ...r, source: { ...r.source, file: rel(r.source.file) } })),
  };
  const own = yamlFiles(spec.dir);
  const others = othersOf(spec.dir, spec);
  const sources: Snapshot['sources'] = { own: lengths(own), others: Object.fromEntries(Object.entries(others).map(([n, f]) => [n, f && lengths(f)])) };
  const order = [own, ...Object.keys(sources.others).map((n) => others[n]).filter((f): f is YamlFiles => f !== null)];
  // JSON.stringify escapes every newline inside strings, so the JSON is one line.
  return Buffer.concat([Buffer.from(`${JSON.stringify({ version: SNAPSHOT_VERSION, sources, spec: portable } satisfies Snapshot)}\n`), ...order.flatMap((f) => Object.values(f))]);
}

/** The built-in spec in `dir` from its snapshot, or undefined when there is none or it is stale. */
export function readSnapshot(dir: string, path: string = snapshotPath(dir), builtinRoot: string = specRoot): SpecSet | undefined {
  if (dirname(dir) !== builtinRoot) return undefined;
  if (!existsSync(path)) return undefined;
  let snap: Snapshot;
  let bytes: SourceBytes;
  try {
    const file = readFileSync(path);
    const line = file.indexOf(0x0a);
    if (line < 0) return undefined;
    snap = JSON.parse(file.toString('utf8', 0, line)) as Snapshot;
    bytes = new SourceBytes(file.subarray(line + 1));
  } catch {
    return undefined;
  }
  if (snap.version !== SNAPSHOT_VERSION || typeof snap.sources?.own !== 'object' || !current(dir, snap, bytes)) return undefined;
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
