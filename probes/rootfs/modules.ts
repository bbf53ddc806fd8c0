import { FsError, joinPath, walk, type ReadOnlyFilesystem } from '../fs/filesystem.js';
import { linesMatching } from './line-search.js';

/**
 * A kernel's module tree (/lib/modules/V, usually /usr/lib/modules/V):
 * modules.dep as depmod writes it ("kernel/x/a.ko: kernel/y/b.ko ..." with
 * every dependency, transitively, in load order), modules.builtin (the
 * tristate drivers built in, by path), and the module files themselves.
 */

export interface ModuleTree {
  /** Canonical path of the tree. */
  dir: string;
  /** modules.dep by module name; null without modules.dep. */
  dep: ModulesDep | null;
  /** Names listed in modules.builtin or modules.builtin.modinfo; null when both are missing. */
  builtin: Set<string> | null;
  /** The files the built-in names came from. */
  builtinFrom: ('modules.builtin' | 'modules.builtin.modinfo')[];
  /** Found by walking kernel/ when there is no modules.dep: name → relative path. */
  walked: Map<string, string> | null;
  problems: string[];
}

export interface ModuleLookup {
  /** Module name with '-' folded to '_'. */
  name: string;
  /** Absolute path of the module file in the image, or null when absent. */
  file: string | null;
  /** Listed in modules.dep (or found by the walk). */
  listed: boolean;
  /** Dependencies by name (from modules.dep; [] when unknown). */
  deps: string[];
  /** Listed in modules.builtin. */
  builtin: boolean;
}

const MAX_METADATA = 16 * 1024 * 1024;
const MAX_WALK = 50_000;

/** How module files end: .ko, compressed or not (the longer ones first). */
const MODULE_SUFFIXES = ['.ko.gz', '.ko.xz', '.ko.zst', '.ko'];

/** The module suffix `path` ends with, or null. */
function moduleSuffix(path: string): string | null {
  for (const s of MODULE_SUFFIXES) if (path.endsWith(s)) return s;
  return null;
}

/** Module name of a path: basename without .ko[.gz|.xz|.zst], '-' folded to '_' (as kmod does). */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const suffix = moduleSuffix(base);
  return normaliseModuleName(suffix ? base.slice(0, base.length - suffix.length) : base);
}

export function normaliseModuleName(name: string): string {
  return name.includes('-') ? name.replaceAll('-', '_') : name;
}

function readText(fs: ReadOnlyFilesystem, path: string): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: false }).decode(fs.readFile(path, { maxBytes: MAX_METADATA }));
  } catch (e) {
    if (e instanceof FsError) return null;
    throw e;
  }
}

/** One module's line of modules.dep. */
export interface ModuleDep {
  /** Path relative to the tree. */
  path: string;
  /** Dependency names, in load order. */
  deps: string[];
}

/** Names as kmod's are made: looked up by a pattern search; any other by reading every line. */
const PLAIN_NAME = /^[A-Za-z0-9_]+$/;

/**
 * modules.dep by module name (a later line for the same name wins: the
 * line whose path, before its first ':' and trimmed, ends in NAME.ko,
 * .ko.gz, .ko.xz or .ko.zst, a '_' in NAME written '-' or '_'). A verify
 * asks for a handful of ~1,000 to ~6,000 modules, so each is found by
 * one search of the text, and only the lines it finds are read (reading
 * every line was ~3-7 ms of a verify); those lines are judged exactly as
 * the full reading would.
 */
export class ModulesDep {
  readonly #text: string;
  readonly #found = new Map<string, ModuleDep | null>();
  #all: Map<string, ModuleDep> | null = null;

  constructor(text: string) {
    this.#text = text;
  }

  get(name: string): ModuleDep | undefined {
    let dep = this.#found.get(name);
    if (dep === undefined) {
      dep = PLAIN_NAME.test(name) ? this.#search(name) : (this.all().get(name) ?? null);
      this.#found.set(name, dep);
    }
    return dep ?? undefined;
  }

  /** The last line for `name`: candidates found by a search of the text, each judged as a line. */
  #search(name: string): ModuleDep | null {
    const text = this.#text;
    const pattern = new RegExp(`${name.replace(/_/g, '[-_]')}\\.ko(?:\\.gz|\\.xz|\\.zst)?[^\\S\\n]*:`, 'g');
    let found: ModuleDep | null = null;
    for (const { line } of linesMatching(text, pattern)) {
      const read = lineDep(line);
      if (read?.name === name) found = read.dep;
    }
    return found;
  }

  /** Every line read, by name. */
  all(): ReadonlyMap<string, ModuleDep> {
    if (!this.#all) {
      this.#all = new Map();
      for (const text of this.#text.split('\n')) {
        const line = lineDep(text);
        if (line) this.#all.set(line.name, line.dep);
      }
    }
    return this.#all;
  }
}

/** One line of modules.dep read: "path: dep dep…", the path ending in a module suffix; null for any other line. */
function lineDep(line: string): { name: string; dep: ModuleDep } | null {
  const i = line.indexOf(':');
  if (i <= 0) return null;
  const path = line.slice(0, i).trim();
  if (!moduleSuffix(path)) return null;
  return { name: moduleName(path), dep: { path, deps: line.slice(i + 1).trim().split(/\s+/).filter(Boolean).map(moduleName) } };
}

export function parseModulesDep(text: string): ModulesDep {
  return new ModulesDep(text);
}

/**
 * Module names in modules.builtin.modinfo: the .modinfo records of every
 * built-in module, "name.key=value" each ended by a NUL
 * (scripts/Makefile.vmlinux; kmod reads it for `modinfo` of built-ins).
 */
export function builtinModinfoNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const rec of text.split('\0')) {
    const dot = rec.indexOf('.');
    const eq = rec.indexOf('=');
    if (dot > 0 && eq > dot) out.add(normaliseModuleName(rec.slice(0, dot)));
  }
  return out;
}

/** Opens a module tree's metadata. ParseError from a damaged filesystem propagates. */
export function openModuleTree(fs: ReadOnlyFilesystem, dir: string): ModuleTree {
  const problems: string[] = [];
  const depText = readText(fs, joinPath(dir, 'modules.dep'));
  const builtinText = readText(fs, joinPath(dir, 'modules.builtin'));
  const modinfoText = readText(fs, joinPath(dir, 'modules.builtin.modinfo'));
  const builtinFrom: ModuleTree['builtinFrom'] = [];
  let builtin: Set<string> | null = null;
  if (builtinText !== null) {
    builtin = new Set(builtinText.split('\n').filter(Boolean).map(moduleName));
    builtinFrom.push('modules.builtin');
  }
  if (modinfoText !== null) {
    builtin ??= new Set();
    for (const name of builtinModinfoNames(modinfoText)) builtin.add(name);
    builtinFrom.push('modules.builtin.modinfo');
  }
  let walked: Map<string, string> | null = null;
  if (depText === null) {
    problems.push(`${dir}/modules.dep is missing: module dependencies are not checked`);
    walked = new Map();
    if (fs.exists(joinPath(dir, 'kernel'))) {
      for (const e of walk(fs, joinPath(dir, 'kernel'), { maxEntries: MAX_WALK, maxDepth: 32 })) {
        if (e.type === 'file' && moduleSuffix(e.path)) {
          const name = moduleName(e.path);
          if (!walked.has(name)) walked.set(name, e.path.slice(dir.length + 1));
        }
      }
    }
  }
  return {
    dir,
    dep: depText === null ? null : parseModulesDep(depText),
    builtin,
    builtinFrom,
    walked,
    problems,
  };
}

/** Where a module is and what it needs (looked up once per filesystem, tree and name). */
/** Lookups made, per filesystem and tree: a module looked up early (Probe.prepare) is not looked up again. */
const lookups = new WeakMap<ReadOnlyFilesystem, WeakMap<ModuleTree, Map<string, ModuleLookup>>>();

export function lookupModule(fs: ReadOnlyFilesystem, tree: ModuleTree, module: string): ModuleLookup {
  let byTree = lookups.get(fs);
  if (!byTree) lookups.set(fs, (byTree = new WeakMap()));
  let made = byTree.get(tree);
  if (!made) byTree.set(tree, (made = new Map()));
  let look = made.get(module);
  if (!look) made.set(module, (look = lookUp(fs, tree, module)));
  return look;
}

function lookUp(fs: ReadOnlyFilesystem, tree: ModuleTree, module: string): ModuleLookup {
  const name = normaliseModuleName(module);
  const builtin = tree.builtin?.has(name) ?? false;
  const listedDep = tree.dep?.get(name);
  const rel = listedDep?.path ?? tree.walked?.get(name) ?? null;
  let file: string | null = null;
  if (rel !== null) {
    const abs = joinPath(tree.dir, rel);
    if (fs.exists(abs)) file = abs;
  }
  return { name, file, listed: rel !== null, deps: listedDep?.deps ?? [], builtin };
}
