import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';
import { sha256File } from '../../bytes/file-digest.js';
import { defaultCacheDir } from '../reference/build.js';
import { checkArm64, type DebFile, type Progress } from '../reference/debs.js';
import { publishCacheEntry } from '../cache-entry.js';

/**
 * An arm64 root tree from Debian packages, for the nested hypervisor hosts
 * (boot/nested/kvm-host.ts, boot/xen): the packages asked for and their
 * Depends and Pre-Depends, followed recursively with apt's candidate
 * versions (the first alternative apt knows; `exclude` names packages not
 * to follow), fetched with `apt-get download` into the shared debs cache
 * (each verified against apt's SHA256), and extracted with `dpkg-deb -x`
 * into $cache/debian-root/<key>/root, key = the builder version and the
 * sorted deb sha256s. No maintainer script runs: the tree is what the
 * packages ship. Built in a temporary directory and renamed into place.
 */

/** Bump when the extraction recipe changes in a way the deb hashes do not show. */
export const DEBIAN_ROOT_VERSION = 1;

/** At most this many packages: a runaway closure is a mistake, not a root. */
const MAX_PACKAGES = 2000;
const APT_TIMEOUT = 10 * 60 * 1000;

export interface DebianRootOptions {
  packages: string[];
  /** Packages whose dependencies are not followed and which are not fetched (e.g. python3, perl-base, debconf). */
  exclude?: string[];
  /** Cache root (default $XDG_CACHE_HOME/vmspec). */
  cacheDir?: string;
  onProgress?: Progress;
  signal?: AbortSignal;
}

export interface DebianRoot {
  /** The extracted tree (read it, never write it: it is shared through the cache). */
  dir: string;
  /** Every package in the tree, sorted by name. */
  debs: DebFile[];
  key: string;
}

/** What the builder records beside the tree. */
export interface DebianRootInfo {
  version: number;
  key: string;
  requested: string[];
  exclude: string[];
  packages: { name: string; version: string; sha256: string }[];
  /** Dependency groups no known package satisfied (purely virtual names): skipped, listed here. */
  unresolved: string[];
}

interface Candidate {
  version: string;
  /** arm64, or all for an architecture-independent package. */
  arch: 'arm64' | 'all';
  sha256: string;
  /** Depends and Pre-Depends, each group a list of alternatives. */
  needs: string[][];
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any" → groups of
 * alternative package names (version constraints and the :any/:arm64
 * qualifiers dropped: apt's candidate is taken).
 */
export function parseDependsField(field: string): string[][] {
  const groups: string[][] = [];
  for (const group of field.split(',')) {
    const alternatives = group
      .split('|')
      .map((alt) => alt.trim().replace(/\s*\(.*?\)\s*/g, '').replace(/\s*\[.*?\]\s*/g, '').replace(/\s*<.*?>\s*/g, '').split(':')[0]?.trim() ?? '')
      .filter((n) => n !== '');
    for (const n of alternatives) {
      if (!PACKAGE_NAME.test(n)) throw new UnsupportedError(`apt gave a dependency ${JSON.stringify(n)} that is not a Debian package name`);
    }
    if (alternatives.length > 0) groups.push(alternatives);
  }
  return groups;
}

/** apt-cache show for many arm64 names at once; names apt does not know as real packages (virtual ones) are absent from the map. */
async function aptCandidates(names: string[], pkgcache: string, signal?: AbortSignal): Promise<Map<string, Candidate>> {
  const found = new Map<string, Candidate>();
  if (names.length === 0) return found;
  await aptShowInto(found, names.map((n) => `${n}:arm64`), pkgcache, signal);
  // apt-cache show NAME:arm64 shows nothing for an architecture-independent package: ask NAME:all for those.
  await aptShowInto(found, names.filter((n) => !found.has(n)).map((n) => `${n}:all`), pkgcache, signal);
  return found;
}

async function aptShowInto(found: Map<string, Candidate>, specs: string[], pkgcache: string, signal?: AbortSignal): Promise<void> {
  if (specs.length === 0) return;
  const r = await execa('apt-cache', ['-o', `Dir::Cache::pkgcache=${pkgcache}`, 'show', '--no-all-versions', ...specs], {
    reject: false, timeout: APT_TIMEOUT, stdin: 'ignore', env: { LC_ALL: 'C' }, ...(signal ? { cancelSignal: signal } : {}),
  });
  if (r.failed && (r as { code?: string }).code === 'ENOENT') throw new UnsupportedError('apt-cache is not installed', 'the nested hosts are built from Debian arm64 packages: run on Debian/Ubuntu with apt');
  signal?.throwIfAborted();
  for (const stanza of String(r.stdout ?? '').split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const arch = /^Architecture:\s*(\S+)/m.exec(stanza)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
    const sha256 = /^SHA256:\s*([0-9a-f]{64})/m.exec(stanza)?.[1];
    if (!name || !version || !sha256 || found.has(name) || (arch !== 'arm64' && arch !== 'all')) continue;
    const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(stanza)?.[1] ?? '';
    found.set(name, { version, arch, sha256, needs: [...parseDependsField(field('Pre-Depends')), ...parseDependsField(field('Depends'))] });
  }
}

/** The closure of `packages` under Depends/Pre-Depends (first alternative apt knows), `exclude` left out. */
async function resolveClosure(packages: string[], exclude: Set<string>, pkgcache: string, progress: Progress, signal?: AbortSignal): Promise<{ chosen: Map<string, Candidate>; unresolved: string[] }> {
  const chosen = new Map<string, Candidate>();
  const known = new Map<string, Candidate | null>();
  const unresolved = new Set<string>();
  let groups: string[][] = packages.map((p) => [p]);
  for (const p of packages) if (!PACKAGE_NAME.test(p)) throw new UnsupportedError(`${JSON.stringify(p)} is not a Debian package name`);
  while (groups.length > 0) {
    const lookup = [...new Set(groups.flat())].filter((n) => !known.has(n));
    const got = await aptCandidates(lookup, pkgcache, signal);
    for (const n of lookup) known.set(n, got.get(n) ?? null);
    const next: string[][] = [];
    for (const group of groups) {
      if (group.some((n) => chosen.has(n) || exclude.has(n))) continue;
      const pick = group.find((n) => known.get(n));
      if (pick === undefined) {
        if (packages.includes(group[0] as string) && group.length === 1) throw new UnsupportedError(`apt knows no arm64 package ${group[0]}`, 'check the name; run apt-get update');
        unresolved.add(group.join(' | '));
        continue;
      }
      const c = known.get(pick) as Candidate;
      chosen.set(pick, c);
      if (chosen.size > MAX_PACKAGES) throw new UnsupportedError(`the dependency closure of ${packages.join(', ')} passed ${MAX_PACKAGES} packages`, 'exclude the packages not needed at run time');
      next.push(...c.needs);
    }
    groups = next;
  }
  if (unresolved.size > 0) progress(`no real package for: ${[...unresolved].join(', ')} (virtual or unknown; skipped)`);
  return { chosen, unresolved: [...unresolved].sort() };
}

/** The debs of `chosen` in the cache, downloading the missing ones in one `apt-get download` call; each checked against apt's sha256. */
async function fetchAll(chosen: Map<string, Candidate>, debsDir: string, progress: Progress, signal?: AbortSignal): Promise<DebFile[]> {
  mkdirSync(debsDir, { recursive: true });
  const out: DebFile[] = [];
  const missing: [string, Candidate][] = [];
  for (const [name, c] of chosen) {
    const path = join(debsDir, debName(name, c));
    if (existsSync(path) && (await sha256File(path)) === c.sha256) out.push({ name, version: c.version, path, sha256: c.sha256 });
    else missing.push([name, c]);
  }
  if (missing.length > 0) {
    progress(`downloading ${missing.length} arm64 packages (apt-get download)`);
    const tmp = join(debsDir, `.download-${process.pid}-${Date.now()}`);
    mkdirSync(tmp, { recursive: true });
    try {
      const r = await execa('apt-get', ['download', ...missing.map(([n, c]) => `${n}:${c.arch}=${c.version}`)], {
        cwd: tmp, reject: false, timeout: APT_TIMEOUT, stdin: 'ignore', env: { LC_ALL: 'C' }, ...(signal ? { cancelSignal: signal } : {}),
      });
      signal?.throwIfAborted();
      if (r.exitCode !== 0) throw new UnsupportedError(`apt-get download failed: ${String(r.stderr ?? '').trim() || r.shortMessage}`, 'check the network and apt sources (arm64 enabled: dpkg --add-architecture arm64 && apt-get update)');
      for (const [name, c] of missing) {
        const file = debName(name, c);
        const got = join(tmp, file);
        if (!existsSync(got)) throw new UnsupportedError(`apt-get download left no ${file}`);
        const sha = await sha256File(got);
        if (sha !== c.sha256) throw new UnsupportedError(`downloaded ${file} has sha256 ${sha}, apt says ${c.sha256}`);
        const path = join(debsDir, file);
        renameSync(got, path);
        out.push({ name, version: c.version, path, sha256: sha });
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The file name `apt-get download` gives (epoch colon as %3a; arch all for architecture-independent packages). */
function debName(name: string, c: Pick<Candidate, 'version' | 'arch'>): string {
  return `${name}_${c.version.replace(/:/g, '%3a')}_${c.arch}.deb`;
}

export function debianRootKey(debs: readonly Pick<DebFile, 'sha256'>[]): string {
  const recipe = { version: DEBIAN_ROOT_VERSION, debs: debs.map((d) => d.sha256).sort() };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 24);
}

/** Build (or find in the cache) the root tree of `packages` and their dependencies. */
export async function buildDebianRoot(o: DebianRootOptions): Promise<DebianRoot> {
  const progress = o.onProgress ?? (() => {});
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const exclude = new Set(o.exclude ?? []);
  if (o.packages.length === 0) throw new UnsupportedError('buildDebianRoot: no packages asked for');
  await checkArm64();
  const aptDir = join(cacheDir, 'apt');
  mkdirSync(aptDir, { recursive: true });
  progress(`resolving ${o.packages.join(', ')} and their dependencies (arm64)`);
  const { chosen, unresolved } = await resolveClosure(o.packages, exclude, join(aptDir, 'pkgcache.bin'), progress, o.signal);
  const debs = await fetchAll(chosen, join(cacheDir, 'debs'), progress, o.signal);
  const key = debianRootKey(debs);
  const base = join(cacheDir, 'debian-root', key);
  const dir = join(base, 'root');
  const infoPath = join(base, 'root.json');
  if (existsSync(infoPath) && existsSync(dir)) {
    progress(`Debian root ${key} is cached (${debs.length} packages)`);
    return { dir, debs, key };
  }
  const tmp = `${base}.tmp-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'root'), { recursive: true });
  try {
    progress(`extracting ${debs.length} packages (dpkg-deb -x)`);
    for (const d of debs) {
      o.signal?.throwIfAborted();
      const r = await execa('dpkg-deb', ['-x', d.path, join(tmp, 'root')], { reject: false, timeout: APT_TIMEOUT, stdin: 'ignore', env: { LC_ALL: 'C' } });
      if (r.exitCode !== 0) throw new UnsupportedError(`dpkg-deb -x ${d.path} failed: ${String(r.stderr ?? '').trim() || r.shortMessage}`, 'apt-get install dpkg');
    }
    const info: DebianRootInfo = {
      version: DEBIAN_ROOT_VERSION,
      key,
      requested: [...o.packages],
      exclude: [...exclude].sort(),
      packages: debs.map((d) => ({ name: d.name, version: d.version, sha256: d.sha256 })),
      unresolved,
    };
    writeFileSync(join(tmp, 'root.json'), JSON.stringify(info, null, 2) + '\n');
    publishCacheEntry(tmp, base, infoPath);
    progress(`Debian root ${key} built: ${dir}`);
    return { dir, debs, key };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The record written beside a built tree. */
export function readDebianRootInfo(root: DebianRoot): DebianRootInfo {
  return JSON.parse(readFileSync(join(root.dir, '..', 'root.json'), 'utf8')) as DebianRootInfo;
}
