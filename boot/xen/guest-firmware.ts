import { sha256File } from '../../bytes/file-digest.js';
import { accessSync, appendFileSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';
import { packageRoot } from '../../package/paths.js';
import { defaultCacheDir } from '../reference/build.js';
import type { Progress } from '../reference/debs.js';
import {
  CROSS_COMPILE,
  fragmentNotApplied,
  guestFirmwareCacheKey,
  guestFirmwareRecipe,
  parseKconfig,
  RECORDED_OPTIONS,
  UBOOT_CONFIG_FRAGMENT,
  UBOOT_DEFCONFIG,
  UBOOT_PATCHES,
  UBOOT_SOURCE_PACKAGE,
  type GuestFirmwareRecipe,
} from './guest-firmware-config.js';
import { publishCacheEntry } from '../cache-entry.js';

/**
 * A UEFI firmware for a Xen Arm domU (the xl `kernel =`), which Debian does
 * not ship: U-Boot's Xen guest board built from Debian's own `u-boot` source
 * package (`apt-get source`, so deb-src must be configured) with Debian's
 * aarch64 cross compiler. Cached under <cacheDir>/xen-guest-firmware/<key>,
 * key = source version + .dsc sha256 + defconfig + fragment + builder
 * version; built with SOURCE_DATE_EPOCH from debian/changelog and build paths
 * mapped away, so a rebuild gives the same bytes. docs/xen.md "Guest firmware".
 */

export interface BuildXenGuestFirmwareOptions {
  /** Cache root (default $XDG_CACHE_HOME/vmspec or ~/.cache/vmspec). */
  cacheDir?: string;
  onProgress?: Progress;
  /** Abort the build: every process started is killed (its whole process group). */
  signal?: AbortSignal;
  /** Environment of the tools (default process.env): PATH finds them, APT_CONFIG picks apt's sources. */
  env?: NodeJS.ProcessEnv;
  /** Rebuild even when cached. */
  force?: boolean;
}

export interface XenGuestFirmwareInfo {
  recipe: GuestFirmwareRecipe;
  key: string;
  sourceDateEpoch: number;
  compiler: string;
  /** u-boot.bin */
  size: number;
  sha256: string;
  buildSeconds: number;
  /** RECORDED_OPTIONS as the built .config has them ('n' = not set, absent = not offered). */
  options: Record<string, string>;
}

export interface XenGuestFirmware {
  /** The firmware binary to give xl as `kernel =`. */
  path: string;
  /** The full U-Boot .config of the build. */
  config: string;
  dir: string;
  key: string;
  cached: boolean;
  info: XenGuestFirmwareInfo;
}

/** Each tool the build runs, with the Debian package that provides it. */
export const BUILD_TOOLS: readonly { command: string; pkg: string }[] = [
  { command: 'apt-get', pkg: 'apt' },
  { command: 'dpkg-source', pkg: 'dpkg-dev' },
  { command: 'dpkg-parsechangelog', pkg: 'dpkg-dev' },
  { command: 'make', pkg: 'make' },
  { command: 'gcc', pkg: 'gcc' },
  { command: `${CROSS_COMPILE}gcc`, pkg: 'gcc-aarch64-linux-gnu' },
  { command: 'bison', pkg: 'bison' },
  { command: 'flex', pkg: 'flex' },
  { command: 'bc', pkg: 'bc' },
  { command: 'patch', pkg: 'patch' },
  { command: 'nice', pkg: 'coreutils' },
];

/** Headers the host tools (mkimage's FIT signing) compile against. */
export const BUILD_HEADERS: readonly { path: string; pkg: string }[] = [{ path: '/usr/include/openssl/evp.h', pkg: 'libssl-dev' }];

const MAKE_JOBS = 2;

/** The local patches with their text (boot/xen/, shipped with the package). */
export function guestFirmwarePatches(): { file: string; path: string; text: string }[] {
  return UBOOT_PATCHES.map((p) => {
    const path = join(packageRoot, 'boot', 'xen', p.file);
    return { file: p.file, path, text: readFileSync(path, 'utf8') };
  });
}

function onPath(command: string, pathVar: string): boolean {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** The tools and headers missing from this PATH, as `command (package)`; empty when the build can run. */
export function missingBuildTools(pathVar: string, headerExists: (p: string) => boolean = existsSync): { what: string; pkg: string }[] {
  return [
    ...BUILD_TOOLS.filter((t) => !onPath(t.command, pathVar)).map((t) => ({ what: t.command, pkg: t.pkg })),
    ...BUILD_HEADERS.filter((h) => !headerExists(h.path)).map((h) => ({ what: h.path, pkg: h.pkg })),
  ];
}

export function missingToolsError(missing: { what: string; pkg: string }[]): UnsupportedError {
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  return new UnsupportedError(
    `cannot build the Xen guest firmware (U-Boot ${UBOOT_DEFCONFIG}): missing ${missing.map((m) => `${m.what} (${m.pkg})`).join(', ')}`,
    `as root: apt-get install --no-install-recommends ${pkgs.join(' ')}`,
  );
}

export const DEB_SRC_HINT =
  'add a deb-src entry for your Debian mirror, e.g. /etc/apt/sources.list.d/debian-src.sources with "Types: deb-src" and the URIs/Suites/Components of debian.sources, then apt-get update';

/** The source `apt-get source` would fetch, from its --print-uris listing. */
export function parseSourceUris(listing: string, pkg: string): { version: string; dsc: string; dscSha256: string } | undefined {
  for (const line of listing.split('\n')) {
    // 'URI' NAME_VERSION.dsc SIZE SHA256:HEX
    const m = /^'[^']+' (\S+)_(\S+)\.dsc \d+ SHA256:([0-9a-f]{64})$/.exec(line.trim());
    if (m && m[1] === pkg) return { version: m[2]!, dsc: `${m[1]}_${m[2]}.dsc`, dscSha256: m[3]! };
  }
  return undefined;
}

interface RunOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Where the whole output goes (make's is long); the error shows its tail. */
  log?: string;
}

/** Resolves when no process of the group is left (make may exit before its compilers); SIGKILL after 3 s. */
async function groupGone(group: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-group, i < 30 ? 0 : 'SIGKILL');
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Run a tool in its own process group; an abort kills the group (make's compilers too). */
async function run(cmd: string, args: string[], o: RunOptions): Promise<string> {
  o.signal?.throwIfAborted();
  const child = execa(cmd, args, {
    cwd: o.cwd,
    env: { ...o.env, LC_ALL: 'C' },
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    all: true,
    reject: false,
  });
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    const group = child.pid;
    if (group === undefined) return;
    try {
      process.kill(-group, 'SIGTERM');
    } catch {
      return;
    }
    killTimer = setTimeout(() => {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 3000);
  };
  o.signal?.addEventListener('abort', kill, { once: true });
  try {
    const r = await child;
    const all = typeof r.all === 'string' ? r.all : '';
    if (o.log !== undefined) appendFileSync(o.log, `$ ${cmd} ${args.join(' ')}\n${all}\n`);
    if (o.signal?.aborted && child.pid !== undefined) await groupGone(child.pid);
    o.signal?.throwIfAborted();
    if (r.exitCode === undefined && /ENOENT/.test(r.message ?? '')) {
      throw missingToolsError([{ what: cmd, pkg: BUILD_TOOLS.find((t) => t.command === cmd)?.pkg ?? cmd }]);
    }
    if (r.exitCode !== 0) {
      const tail = all.split('\n').slice(-25).join('\n');
      throw new UnsupportedError(`${cmd} ${args.join(' ')} failed (${r.exitCode === undefined ? r.signal ?? 'no exit code' : `exit ${r.exitCode}`}):\n${tail}`);
    }
    return typeof r.stdout === 'string' ? r.stdout : '';
  } finally {
    o.signal?.removeEventListener('abort', kill);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
}

/** Which u-boot source apt would fetch (`apt-get source`'s choice): its version and .dsc digest. */
export async function resolveXenGuestFirmwareSource(o: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<{ version: string; dsc: string; dscSha256: string }> {
  let listing: string;
  try {
    listing = await run('apt-get', ['source', '--print-uris', UBOOT_SOURCE_PACKAGE], { env: o.env ?? process.env, cwd: tmpdir(), ...(o.signal ? { signal: o.signal } : {}) });
  } catch (e) {
    if (e instanceof UnsupportedError && /deb-src/.test(e.message)) {
      throw new UnsupportedError(`apt has no source packages (no deb-src entry), so Debian's ${UBOOT_SOURCE_PACKAGE} source cannot be fetched`, DEB_SRC_HINT);
    }
    if (e instanceof UnsupportedError && /Unable to find a source package/.test(e.message)) {
      throw new UnsupportedError(`apt knows no ${UBOOT_SOURCE_PACKAGE} source package`, `${DEB_SRC_HINT} (is the deb-src entry's index fetched? apt-get update)`);
    }
    throw e;
  }
  const src = parseSourceUris(listing, UBOOT_SOURCE_PACKAGE);
  if (src === undefined) throw new UnsupportedError(`apt-get source --print-uris ${UBOOT_SOURCE_PACKAGE} listed no .dsc with a SHA256:\n${listing}`);
  return src;
}

function elapsed(t0: number): string {
  return `${Math.round((performance.now() - t0) / 1000)} s`;
}

/** Build (or find in the cache) U-Boot's Xen guest firmware; resolves to the cached build. */
export async function buildXenGuestFirmware(opts: BuildXenGuestFirmwareOptions = {}): Promise<XenGuestFirmware> {
  const progress: Progress = opts.onProgress ?? (() => {});
  const env = opts.env ?? process.env;
  const signal = opts.signal;
  const cacheRoot = join(opts.cacheDir ?? defaultCacheDir(), 'xen-guest-firmware');
  mkdirSync(cacheRoot, { recursive: true });

  const missing = missingBuildTools(env.PATH ?? '');
  if (missing.length > 0) throw missingToolsError(missing);

  progress(`resolving Debian's ${UBOOT_SOURCE_PACKAGE} source package (apt-get source --print-uris)`);
  const src = await resolveXenGuestFirmwareSource({ env, ...(signal ? { signal } : {}) });
  const patches = guestFirmwarePatches();
  const recipe = guestFirmwareRecipe(src.version, src.dscSha256, patches);
  const key = guestFirmwareCacheKey(recipe);
  const dir = join(cacheRoot, key);
  const path = join(dir, 'u-boot.bin');
  const configPath = join(dir, 'u-boot.config');
  const infoPath = join(dir, 'build.json');
  if (!opts.force && existsSync(infoPath) && existsSync(path)) {
    progress(`Xen guest firmware ${key} is cached: ${path}`);
    return { path, config: configPath, dir, key, cached: true, info: JSON.parse(readFileSync(infoPath, 'utf8')) as XenGuestFirmwareInfo };
  }

  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const info = await buildInto(tmp, recipe, key, src.dsc, patches, env, progress, signal);
    progress('removing the build tree');
    await rm(join(tmp, 'work'), { recursive: true, force: true });
    if (opts.force) rmSync(dir, { recursive: true, force: true });
    publishCacheEntry(tmp, dir, infoPath);
    progress(`Xen guest firmware ${key} built in ${info.buildSeconds} s: ${path}`);
    return { path, config: configPath, dir, key, cached: false, info: JSON.parse(readFileSync(infoPath, 'utf8')) as XenGuestFirmwareInfo };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function buildInto(
  tmp: string,
  recipe: GuestFirmwareRecipe,
  key: string,
  dscName: string,
  patches: { file: string; path: string }[],
  env: NodeJS.ProcessEnv,
  progress: Progress,
  signal: AbortSignal | undefined,
): Promise<XenGuestFirmwareInfo> {
  const t0 = performance.now();
  const work = join(tmp, 'work');
  const dl = join(work, 'dl');
  const srcDir = join(work, 'src');
  const out = join(work, 'out');
  const log = join(tmp, 'build.log');
  mkdirSync(dl, { recursive: true });
  const o = { env, log, ...(signal ? { signal } : {}) };

  progress(`downloading ${UBOOT_SOURCE_PACKAGE} ${recipe.sourceVersion} source (apt-get source, about 16 MB)`);
  await run('apt-get', ['source', '--download-only', `${UBOOT_SOURCE_PACKAGE}=${recipe.sourceVersion}`], { ...o, cwd: dl });
  const dsc = join(dl, dscName);
  if (!existsSync(dsc)) throw new UnsupportedError(`apt-get source did not leave ${dscName} in ${dl}: ${readdirSync(dl).join(', ')}`);
  const got = await sha256File(dsc);
  if (got !== recipe.dscSha256) throw new UnsupportedError(`${dscName}: sha256 ${got}, apt listed ${recipe.dscSha256}`);

  progress('unpacking the source with Debian\'s patches (dpkg-source -x)');
  await run('dpkg-source', ['-x', dsc, srcDir], { ...o, cwd: work });
  for (const p of patches) {
    progress(`applying ${p.file}`);
    await run('patch', ['-p1', '--forward', '--batch', '-i', p.path], { ...o, cwd: srcDir });
  }
  const sde = Number((await run('dpkg-parsechangelog', ['-l', join(srcDir, 'debian', 'changelog'), '-STimestamp'], o)).trim());
  if (!Number.isSafeInteger(sde) || sde <= 0) throw new UnsupportedError(`debian/changelog of ${UBOOT_SOURCE_PACKAGE} gave no timestamp`);

  // Same bytes whatever the temporary directory: no absolute build paths, fixed date, user, host.
  const makeEnv = { ...env, SOURCE_DATE_EPOCH: String(sde), KBUILD_BUILD_USER: 'vmspec', KBUILD_BUILD_HOST: 'vmspec' };
  const makeArgs = [`O=${out}`, `CROSS_COMPILE=${CROSS_COMPILE}`, `KCFLAGS=-ffile-prefix-map=${srcDir}/= -ffile-prefix-map=${out}/=`];
  const mk = { ...o, env: makeEnv, cwd: srcDir };

  progress(`configuring ${UBOOT_DEFCONFIG} plus ${UBOOT_CONFIG_FRAGMENT.length} fragment lines`);
  await run('make', [...makeArgs, UBOOT_DEFCONFIG], mk);
  appendFileSync(join(out, '.config'), UBOOT_CONFIG_FRAGMENT.map((f) => `${f.line}\n`).join(''));
  await run('make', [...makeArgs, 'olddefconfig'], mk);
  const configText = readFileSync(join(out, '.config'), 'utf8');
  const config = parseKconfig(configText);
  const dropped = fragmentNotApplied(config);
  if (dropped.length > 0) throw new UnsupportedError(`U-Boot ${recipe.sourceVersion} did not keep these options (a Kconfig dependency is missing): ${dropped.join('; ')}`);

  const tb = performance.now();
  progress(`compiling U-Boot (nice make -j${MAKE_JOBS}; about 1.5 min on 2 idle cores)`);
  await run('nice', ['-n', '10', 'make', `-j${MAKE_JOBS}`, ...makeArgs], mk);
  progress(`compiled in ${elapsed(tb)}`);
  const bin = join(out, 'u-boot.bin');
  if (!existsSync(bin)) throw new UnsupportedError(`make finished without ${bin} (see ${log})`);

  const compiler = (await run(`${CROSS_COMPILE}gcc`, ['--version'], o)).split('\n')[0] ?? '';
  copyFileSync(bin, join(tmp, 'u-boot.bin'));
  writeFileSync(join(tmp, 'u-boot.config'), configText);
  const options: Record<string, string> = {};
  for (const name of RECORDED_OPTIONS) {
    const v = config.get(name);
    if (v !== undefined) options[name] = v;
  }
  const info: XenGuestFirmwareInfo = {
    recipe,
    key,
    sourceDateEpoch: sde,
    compiler,
    size: statSync(bin).size,
    sha256: await sha256File(bin),
    buildSeconds: Math.round((performance.now() - t0) / 1000),
    options,
  };
  writeFileSync(join(tmp, 'build.json'), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}
