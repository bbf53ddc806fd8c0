import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { arr, obj, str, type FactsOf } from '../facts-schema.js';
import type { Memo } from '../types.js';
import { NotFoundError, UnreadableInGuestError, splitGuestPath, type Sysroot } from '../sysroot/types.js';

/**
 * How evidence probes read a guest's files. A missing file is a fact
 * (`undefined`), never an error; a file the collector could not read in
 * the guest is a fact too (recorded in `unreadable`, with the collector's
 * reason). What IS an error: a bundle that contradicts its own manifest —
 * a file whose bytes differ (the Sysroot refuses it), a file the manifest
 * does not list, or a file the manifest lists that is gone. Those throw
 * ParseError, so every clause that depends on the file is an `error`
 * naming it rather than a verdict drawn from altered evidence.
 *
 * Reads are memoised per run (one EvidenceReader per Sysroot in the Memo),
 * so probes sharing a file (dmesg, the ACPI tables) read it once.
 */
export class EvidenceReader {
  readonly #root: Sysroot;
  readonly #cache = new Map<string, { ok: true; value: unknown } | { ok: false; error: unknown }>();
  /** Guest path → the collector's reason, for files it could not read in the guest. */
  readonly unreadable = new Map<string, string>();

  constructor(root: Sysroot) {
    this.#root = root;
  }

  get root(): Sysroot {
    return this.#root;
  }

  /** The manifest's file list, when the evidence is a bundle with one. */
  #listed(): Record<string, unknown> | undefined {
    return this.#root.manifest?.files;
  }

  #once<T>(key: string, compute: () => T): T {
    const hit = this.#cache.get(key);
    if (hit) {
      if (hit.ok) return hit.value as T;
      throw hit.error;
    }
    try {
      const value = compute();
      this.#cache.set(key, { ok: true, value });
      return value;
    } catch (error) {
      this.#cache.set(key, { ok: false, error });
      throw error;
    }
  }

  #rel(path: string): string {
    return splitGuestPath(path, this.#root.name).join('/');
  }

  /** A file's bytes, or undefined when it is absent or was unreadable in the guest. */
  bytes(path: string, maxBytes?: number): Uint8Array | undefined {
    return this.#once(`b\0${path}\0${maxBytes ?? ''}`, () => {
      const before = this.#root.issues.length;
      let data: Uint8Array;
      try {
        data = this.#root.readFile(path, maxBytes === undefined ? undefined : { maxBytes });
      } catch (e) {
        if (e instanceof UnreadableInGuestError) {
          this.unreadable.set(e.path, e.reason);
          return undefined;
        }
        if (e instanceof NotFoundError) {
          const rel = this.#rel(path);
          const listed = this.#listed();
          if (listed && Object.hasOwn(listed, rel)) {
            throw new ParseError(this.#root.name, -1, `${rel} is listed in the bundle's manifest but missing from the bundle: the bundle was altered or damaged`);
          }
          return undefined;
        }
        if (e instanceof UnsupportedError && / is a directory$/.test(e.message)) return undefined;
        // Live, as a user who may not read it (ACPI tables, efivars, /proc/tty/driver are root's): a fact.
        if (this.#root.kind === 'live' && e instanceof UnsupportedError && /permission denied/.test(e.message)) {
          const norm = `/${this.#rel(path)}`;
          this.unreadable.set(norm, 'permission denied (run as root)');
          return undefined;
        }
        throw e;
      }
      const listed = this.#listed();
      const rel = this.#rel(path);
      if (listed && !Object.hasOwn(listed, rel)) {
        // Read through a symlink, the Sysroot records the resolved path; verify() may have recorded it already.
        const issues = this.#root.issues;
        const unlisted = issues.slice(before).find((i) => i.kind === 'unlisted') ?? issues.find((i) => i.kind === 'unlisted' && i.path === rel);
        if (unlisted) throw new ParseError(this.#root.name, -1, `${unlisted.path} is in the bundle but not in its manifest: the bundle was altered`);
      }
      return data;
    });
  }

  /** A file as UTF-8 text, or undefined. */
  text(path: string, maxBytes?: number): string | undefined {
    const b = this.bytes(path, maxBytes);
    return b === undefined ? undefined : new TextDecoder('utf-8').decode(b);
  }

  /** First line of a small text file, trimmed; undefined when absent. */
  line(path: string): string | undefined {
    const t = this.text(path, 64 * 1024);
    return t === undefined ? undefined : (t.split('\n')[0] ?? '').trim();
  }

  /**
   * Names in a directory, or undefined when it is absent (or not a
   * directory). With a manifest, a listed file missing from the directory
   * is an altered bundle (ParseError): a deleted table must not read as a
   * table the firmware never provided.
   */
  list(path: string): string[] | undefined {
    return this.#once(`d\0${path}`, () => {
      const st = this.#root.stat(path);
      if (st === undefined || st.type !== 'dir') return undefined;
      const names = this.#root.readdir(path);
      const listed = this.#listed();
      if (listed) {
        const rel = this.#rel(path);
        const prefix = rel === '' ? '' : `${rel}/`;
        const have = new Set(names);
        for (const f of Object.keys(listed)) {
          if (!f.startsWith(prefix)) continue;
          const child = f.slice(prefix.length).split('/')[0];
          if (child !== undefined && child !== '' && !have.has(child)) {
            throw new ParseError(this.#root.name, -1, `${f} is listed in the bundle's manifest but missing from the bundle: the bundle was altered or damaged`);
          }
        }
      }
      return names;
    });
  }

  /** A symlink's target text, or undefined when the path is absent or not a symlink. */
  link(path: string): string | undefined {
    try {
      return this.#root.readlink(path);
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof UnsupportedError) return undefined;
      throw e;
    }
  }

  exists(path: string): boolean {
    return this.#root.exists(path);
  }

  isDir(path: string): boolean {
    return this.#root.stat(path)?.type === 'dir';
  }

  /** Was this guest path looked for by the collector and found absent? (bundles only) */
  recordedAbsent(path: string): boolean {
    return this.#root.manifest?.absent.includes(path) ?? false;
  }

  /** Run a derived computation once per reader (parsed tables, dmesg facts). */
  derived<T>(key: string, compute: () => T): T {
    return this.#once(`x\0${key}`, compute);
  }
}

/**
 * One probe's view of the evidence: the same reads, plus a record of the
 * guest paths it looked at (reported as `sources`, so an auditor sees what
 * each verdict rests on) and of those the collector could not read.
 */
export class Tracker {
  readonly #paths = new Set<string>();
  readonly #unreadable = new Map<string, string>();

  constructor(readonly reader: EvidenceReader) {}

  #note(path: string, found: boolean): void {
    const norm = '/' + splitGuestPath(path, this.reader.root.name).join('/');
    if (found) this.#paths.add(norm);
    const why = this.reader.unreadable.get(norm);
    if (why !== undefined) this.#unreadable.set(norm, why);
  }

  bytes(path: string, maxBytes?: number): Uint8Array | undefined {
    const b = this.reader.bytes(path, maxBytes);
    this.#note(path, b !== undefined);
    return b;
  }

  text(path: string, maxBytes?: number): string | undefined {
    const t = this.reader.text(path, maxBytes);
    this.#note(path, t !== undefined);
    return t;
  }

  line(path: string): string | undefined {
    const l = this.reader.line(path);
    this.#note(path, l !== undefined);
    return l;
  }

  list(path: string): string[] | undefined {
    const names = this.reader.list(path);
    this.#note(path, names !== undefined);
    return names;
  }

  link(path: string): string | undefined {
    const l = this.reader.link(path);
    this.#note(path, l !== undefined);
    return l;
  }

  exists(path: string): boolean {
    return this.reader.exists(path);
  }

  isDir(path: string): boolean {
    return this.reader.isDir(path);
  }

  recordedAbsent(path: string): boolean {
    return this.reader.recordedAbsent(path);
  }

  /**
   * A computation shared between probes (parsed ACPI tables, dmesg facts):
   * run once per evidence, its paths credited to every probe that uses it.
   */
  derived<T>(key: string, compute: (t: Tracker) => T): T {
    const r = this.reader.derived(key, () => {
      const sub = new Tracker(this.reader);
      const value = compute(sub);
      return { value, paths: [...sub.#paths], unreadable: [...sub.#unreadable] };
    });
    for (const p of r.paths) this.#paths.add(p);
    for (const [p, why] of r.unreadable) this.#unreadable.set(p, why);
    return r.value;
  }

  /** The `sources` and `unreadable` facts every evidence probe reports. */
  sourceFacts(): FactsOf<typeof SOURCE_FACTS_SCHEMA> {
    return {
      sources: [...this.#paths].sort(),
      unreadable: [...this.#unreadable].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, reason]) => ({ path, reason })),
    };
  }
}

/** Every evidence probe reports which guest files it read (and which were unreadable in the guest): spread into its facts. */
export const SOURCE_FACTS = {
  sources: arr(str(), 'guest paths this probe read from the evidence'),
  unreadable: arr(obj({ path: str(), reason: str() }), 'paths the collector could not read in the guest, with its reason'),
};
const SOURCE_FACTS_SCHEMA = obj(SOURCE_FACTS);

const READER_KEY = 'evidence.reader';

/** The run's EvidenceReader (one per run, in the Memo). Throws when no evidence was given. */
export function evidenceReader(inputs: { evidence?: Sysroot; memo: Memo }, probe: string): EvidenceReader {
  const root = inputs.evidence;
  if (!root) throw new UnsupportedError(`${probe} needs in-guest evidence (vmspec verify --evidence BUNDLE, or --live)`);
  return inputs.memo.get(`${READER_KEY}\0${root.name}`, () => new EvidenceReader(root));
}

/** A fresh Tracker for one probe run. */
export function tracker(inputs: { evidence?: Sysroot; memo: Memo }, probe: string): Tracker {
  return new Tracker(evidenceReader(inputs, probe));
}

