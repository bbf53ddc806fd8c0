import { sha256File } from '../../bytes/file-digest.js';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';

/** An arm64 Debian package file in the cache. */
export interface DebFile {
  /** Package name without architecture ("busybox-static"). */
  name: string;
  version: string;
  path: string;
  sha256: string;
}

export type Progress = (message: string) => void;

export const KERNEL_META_PACKAGE = 'linux-image-arm64';
export const BUSYBOX_PACKAGE = 'busybox-static';
export const GRUB_PACKAGE = 'grub-efi-arm64-bin';

const APT_TIMEOUT = 10 * 60 * 1000;

/** The file name `apt-get download` gives a package (epoch colon as %3a). */
export function debFileName(name: string, version: string): string {
  return `${name}_${version.replace(/:/g, '%3a')}_arm64.deb`;
}

async function tool(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  try {
    const r = await execa(cmd, args, { cwd: opts.cwd, timeout: APT_TIMEOUT, stdin: 'ignore', env: { LC_ALL: 'C' } });
    return r.stdout;
  } catch (e) {
    const err = e as { code?: string; stderr?: string; shortMessage?: string; message: string };
    if (err.code === 'ENOENT') throw new UnsupportedError(`${cmd} is not installed`, 'the reference image is built from Debian arm64 packages: run on Debian/Ubuntu with apt');
    throw new UnsupportedError(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? '').trim() || err.shortMessage || err.message}`);
  }
}

export async function checkArm64(): Promise<void> {
  const foreign = await tool('dpkg', ['--print-foreign-architectures']).catch(() => '');
  const native = await tool('dpkg', ['--print-architecture']).catch(() => '');
  if (!foreign.split(/\s+/).includes('arm64') && native.trim() !== 'arm64') {
    throw new UnsupportedError('apt does not know arm64 packages', 'as root: dpkg --add-architecture arm64 && apt-get update');
  }
}

export interface AptInfo {
  version: string;
  sha256: string;
  depends: string;
}

/** `apt-cache show` of several arm64 packages in one call (each call rebuilds apt's cache: seconds). */
async function aptShow(names: string[], pkgcache: string): Promise<Map<string, AptInfo>> {
  // A private binary cache shared by our calls: apt's own may be disabled
  // (container images), which makes every apt-cache call parse all lists.
  const out = await tool('apt-cache', ['-o', `Dir::Cache::pkgcache=${pkgcache}`, 'show', '--no-all-versions', ...names.map((n) => `${n}:arm64`)]);
  const info = new Map<string, AptInfo>();
  for (const stanza of out.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
    const sha256 = /^SHA256:\s*([0-9a-f]{64})/m.exec(stanza)?.[1];
    const depends = /^Depends:\s*(.*)$/m.exec(stanza)?.[1] ?? '';
    if (name && version && sha256 && !info.has(name)) info.set(name, { version, sha256, depends });
  }
  for (const n of names) {
    if (!info.has(n)) throw new UnsupportedError(`apt-cache show ${n}:arm64 gave no Version/SHA256`, 'run apt-get update');
  }
  return info;
}

/** The kernel image package the meta package depends on (linux-image-6.1.0-NN-arm64). */
function kernelFromDepends(depends: string): string {
  const m = /(linux-image-[0-9][^\s:,(]*-arm64)/.exec(depends);
  if (!m?.[1]) throw new UnsupportedError(`${KERNEL_META_PACKAGE}:arm64 depends on no kernel image (${depends})`, 'run apt-get update');
  return m[1];
}

/** Newest cached file of a package (when apt metadata is unavailable). */
function cachedFallback(debsDir: string, pattern: RegExp): string | undefined {
  if (!existsSync(debsDir)) return undefined;
  const files = readdirSync(debsDir).filter((f) => pattern.test(f)).sort();
  const last = files[files.length - 1];
  return last === undefined ? undefined : join(debsDir, last);
}

/**
 * One package: the cached file when its sha256 matches apt's, else
 * `apt-get download` into the cache (temporary directory, verified, renamed
 * into place). Without apt metadata (`info` undefined), the newest cached
 * file is used.
 */
export async function fetchDeb(name: string, info: AptInfo | undefined, debsDir: string, progress: Progress, why = ''): Promise<DebFile> {
  mkdirSync(debsDir, { recursive: true });
  if (info === undefined) {
    const escaped = name.replace(/[.+]/g, '\\$&');
    const fallback = cachedFallback(debsDir, new RegExp(`^${escaped}_[^_]+_arm64\\.deb$`));
    if (fallback === undefined) throw new UnsupportedError(`no apt metadata for ${name}:arm64 and nothing cached${why ? ` (${why})` : ''}`, 'as root: dpkg --add-architecture arm64 && apt-get update');
    progress(`apt metadata for ${name} unavailable${why ? ` (${why})` : ''}; using cached ${basename(fallback)}`);
    const version = decodeURIComponent(basename(fallback).split('_')[1] ?? '');
    return { name, version, path: fallback, sha256: await sha256File(fallback) };
  }
  const path = join(debsDir, debFileName(name, info.version));
  if (existsSync(path)) {
    const sha = await sha256File(path);
    if (sha === info.sha256) return { name, version: info.version, path, sha256: sha };
    progress(`cached ${basename(path)} does not match apt's sha256: downloading again`);
    rmSync(path, { force: true });
  }
  progress(`downloading ${name}:arm64 ${info.version} (apt-get download)`);
  const tmp = join(debsDir, `.download-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  try {
    await tool('apt-get', ['download', `${name}:arm64=${info.version}`], { cwd: tmp });
    const got = readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    const file = got[0];
    if (got.length !== 1 || file === undefined) throw new UnsupportedError(`apt-get download ${name}:arm64 left ${got.length} files`);
    const sha = await sha256File(join(tmp, file));
    if (sha !== info.sha256) throw new UnsupportedError(`downloaded ${file} has sha256 ${sha}, apt says ${info.sha256}`);
    renameSync(join(tmp, file), path);
    return { name, version: info.version, path, sha256: sha };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface ReferenceDebs {
  kernel: DebFile;
  busybox: DebFile;
  grub: DebFile;
}

/** Local .deb files given by the caller (no apt at all). */
async function localDeb(path: string, name: string): Promise<DebFile> {
  if (!existsSync(path)) throw new UnsupportedError(`${path}: no such .deb`);
  const parts = basename(path).split('_');
  return { name: parts[0] ?? name, version: decodeURIComponent(parts[1] ?? 'unknown'), path, sha256: await sha256File(path) };
}

export async function resolveReferenceDebs(
  debsDir: string,
  progress: Progress,
  opts: { kernelPackage?: string; local?: { kernel?: string; busybox?: string; grub?: string } } = {},
): Promise<ReferenceDebs> {
  const local = opts.local ?? {};
  const wanted = [
    ...(local.busybox === undefined ? [BUSYBOX_PACKAGE] : []),
    ...(local.grub === undefined ? [GRUB_PACKAGE] : []),
  ];
  const needKernel = local.kernel === undefined;
  let info = new Map<string, AptInfo>();
  let kernelName = opts.kernelPackage;
  let why = '';
  if (wanted.length > 0 || needKernel) {
    // apt's binary cache of the package lists, kept beside the debs: building it takes seconds on
    // every call, and apt rebuilds it by itself (write, then rename) when the lists change.
    const aptDir = join(dirname(debsDir), 'apt');
    mkdirSync(aptDir, { recursive: true });
    const pkgcache = join(aptDir, 'pkgcache.bin');
    try {
      await checkArm64();
      const first = [...wanted, ...(needKernel ? [kernelName ?? KERNEL_META_PACKAGE] : [])];
      info = await aptShow(first, pkgcache);
      if (needKernel && kernelName === undefined) {
        kernelName = kernelFromDepends((info.get(KERNEL_META_PACKAGE) as AptInfo).depends);
        info = new Map([...info, ...(await aptShow([kernelName], pkgcache))]);
      }
    } catch (e) {
      // Cached files may still do (offline machine, no apt lists).
      why = (e as Error).message;
      info = new Map();
      if (needKernel && kernelName === undefined) {
        const fallback = cachedFallback(debsDir, /^linux-image-[0-9][^_]*-arm64_[^_]+_arm64\.deb$/);
        if (fallback === undefined) throw e;
        kernelName = basename(fallback).split('_')[0] as string;
      }
    }
  }
  const kernel = local.kernel !== undefined ? await localDeb(local.kernel, 'linux-image') : await fetchDeb(kernelName as string, info.get(kernelName as string), debsDir, progress, why);
  const busybox = local.busybox !== undefined ? await localDeb(local.busybox, BUSYBOX_PACKAGE) : await fetchDeb(BUSYBOX_PACKAGE, info.get(BUSYBOX_PACKAGE), debsDir, progress, why);
  const grub = local.grub !== undefined ? await localDeb(local.grub, GRUB_PACKAGE) : await fetchDeb(GRUB_PACKAGE, info.get(GRUB_PACKAGE), debsDir, progress, why);
  return { kernel, busybox, grub };
}
