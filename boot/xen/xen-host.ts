import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';
import { packageRoot } from '../../package/paths.js';
import type { CpioEntry } from '../reference/cpio.js';
import { defaultCacheDir } from '../reference/build.js';
import { resolveReferenceDebs, type DebFile, type Progress } from '../reference/debs.js';
import { buildDebianRoot, type DebianRoot } from '../nested/debian-root.js';
import { packInitramfs } from '../nested/initramfs.js';
import { publishCacheEntry } from '../cache-entry.js';

/**
 * The L1 Xen host `vmspec boot --hypervisor xen` runs under QEMU TCG
 * (docs/xen.md): Debian's Xen 4.17 hypervisor, the Debian arm64 kernel as
 * dom0 and a dom0 initramfs holding the xl toolstack (xen-utils-4.17 and
 * the libraries it links), xenstored, xenconsoled, the hotplug scripts with
 * bash and flock, the kernel's Xen backend modules, busybox, and /init
 * (boot/xen/dom0-init.sh), which runs one domU from a job disk.
 *
 * The packages come from boot/nested/debian-root.ts (their Depends
 * closure, extracted and cached); deterministic and cached like the
 * reference image: the key hashes that root's key, the kernel and busybox
 * debs, dom0-init.sh and this recipe; the build is renamed into
 * $XDG_CACHE_HOME/vmspec/xen-host/<key> when complete.
 */

export const XEN_HOST_BUILDER_VERSION = 1;

/**
 * What dom0 runs, as Debian packages; their Depends are followed
 * (boot/nested/debian-root.ts) except XEN_HOST_EXCLUDE. The ELF NEEDED
 * closure of the binaries dom0 runs is checked at build time
 * (`missingLibraries`).
 */
export const XEN_HOST_PACKAGES: readonly string[] = [
  'xen-hypervisor-4.17-arm64',
  'xen-utils-4.17',
  'xenstore-utils',
  // The hotplug scripts (/etc/xen/scripts/block) are bash and lock with flock (util-linux), which busybox-static lacks.
  'bash',
  'util-linux',
];

/** Not followed: a one-job dom0 runs no Python tool, no udev, no init system, no package maintainer scripts. */
export const XEN_HOST_EXCLUDE: readonly string[] = [
  'python3', 'udev', 'ucf', 'debconf', 'sysvinit-utils', 'lsb-base', 'perl-base', 'init-system-helpers',
  'libpam-modules', 'libpam-runtime', 'libpam0g', 'libsystemd0', 'libudev1', 'libselinux1', 'libaudit1', 'base-files', 'debianutils',
];

/** Not needed by a dom0 that runs one job: documentation, Python bindings, init scripts, the hypervisor itself (loaded by QEMU). */
const DROPPED = [/^usr\/share(\/|$)/, /^boot(\/|$)/, /^usr\/lib\/python3/, /^usr\/lib\/xen-4\.17\/lib\/python(\/|$)/, /^usr\/lib\/aarch64-linux-gnu\/gconv(\/|$)/, /^etc\/init\.d(\/|$)/, /^etc\/default(\/|$)/, /^usr\/lib\/xen-4\.17\/boot(\/|$)/];

/**
 * dom0's modules, in insmod order (modules.order names, '-' read as '_'):
 * virtio for the L0 disks and console ports, then the Xen device drivers
 * xl needs (event channels, privcmd under xenfs, grant tables) and blkback.
 */
export const DOM0_MODULES: readonly string[] = [
  'virtio_pci_legacy_dev',
  'virtio_pci_modern_dev',
  'virtio_pci',
  'virtio_blk',
  'virtio_console',
  'xen_evtchn',
  'xen_privcmd',
  'xenfs',
  'xen_gntdev',
  'xen_gntalloc',
  'xen_blkback',
];

/** The hypervisor binary in xen-hypervisor-4.17-arm64 (an arm64 Image QEMU loads with -kernel). */
export const XEN_BINARY = 'boot/xen-4.17-arm64';

export interface XenHostBuildInfo {
  builderVersion: number;
  key: string;
  xenVersion: string;
  kernelVersion: string;
  sourceDateEpoch: number;
  packages: { name: string; version: string; sha256: string }[];
  modules: string[];
  files: Record<string, { size: number; sha256: string }>;
}

export interface XenHost {
  dir: string;
  /** The hypervisor (QEMU -kernel). */
  xen: string;
  /** dom0's kernel and initramfs (QEMU guest-loader). */
  dom0Kernel: string;
  dom0Initrd: string;
  key: string;
  cached: boolean;
  info: XenHostBuildInfo;
}

export function dom0InitPath(): string {
  return join(packageRoot, 'boot', 'xen', 'dom0-init.sh');
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Build (or find in the cache) the Xen host. */
export async function buildXenHost(o: { cacheDir?: string; onProgress?: Progress; force?: boolean } = {}): Promise<XenHost> {
  const progress: Progress = o.onProgress ?? (() => {});
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const debsDir = join(cacheDir, 'debs');
  const init = readFileSync(dom0InitPath(), 'utf8');
  progress('resolving the Xen host\'s Debian arm64 packages');
  const ref = await resolveReferenceDebs(debsDir, progress);
  const root = await buildDebianRoot({ packages: [...XEN_HOST_PACKAGES], exclude: [...XEN_HOST_EXCLUDE], cacheDir, onProgress: progress });
  const envSde = process.env.SOURCE_DATE_EPOCH;
  const fixedSde = envSde !== undefined && /^[0-9]+$/.test(envSde) ? Number(envSde) : null;
  const key = sha256(JSON.stringify({
    builder: XEN_HOST_BUILDER_VERSION,
    kernel: ref.kernel.sha256,
    busybox: ref.busybox.sha256,
    root: root.key,
    init: sha256(init),
    modules: DOM0_MODULES,
    dropped: DROPPED.map(String),
    sourceDateEpoch: fixedSde,
  })).slice(0, 24);
  const dir = join(cacheDir, 'xen-host', key);
  const infoPath = join(dir, 'build.json');
  if (!o.force && existsSync(infoPath)) {
    const built = JSON.parse(readFileSync(infoPath, 'utf8')) as XenHostBuildInfo;
    progress(`Xen host ${key} is cached: ${dir}`);
    return { dir, xen: join(dir, 'xen'), dom0Kernel: join(dir, 'vmlinuz'), dom0Initrd: join(dir, 'dom0-initrd.img'), key, cached: true, info: built };
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const built = await buildInto(tmp, key, ref.kernel, ref.busybox, root, init, fixedSde, progress);
    rmSync(join(tmp, 'work'), { recursive: true, force: true });
    if (o.force) rmSync(dir, { recursive: true, force: true });
    publishCacheEntry(tmp, dir, infoPath);
    progress(`Xen host ${key} built: ${dir}`);
    return { dir, xen: join(dir, 'xen'), dom0Kernel: join(dir, 'vmlinuz'), dom0Initrd: join(dir, 'dom0-initrd.img'), key, cached: false, info: built };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function extract(deb: DebFile, into: string, members: string[] = []): Promise<void> {
  mkdirSync(into, { recursive: true });
  try {
    await execa('bash', ['-o', 'pipefail', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards -- "${@:3}"', 'extract', deb.path, into, ...members.map((m) => `./${m}`)], { stdin: 'ignore', timeout: 5 * 60 * 1000 });
  } catch (e) {
    throw new UnsupportedError(`extracting ${deb.name} ${deb.version} failed: ${(e as Error).message}`, 'apt-get install dpkg tar');
  }
}

/** NEEDED entries of the ELF files in `entries` that no entry provides (a package missing from XEN_HOST_PACKAGES). */
export async function missingLibraries(root: string, binaries: string[]): Promise<string[]> {
  const missing = new Set<string>();
  const seen = new Set<string>();
  const queue = [...binaries];
  const libDirs = ['lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib', 'usr/lib'];
  while (queue.length > 0) {
    const bin = queue.shift() as string;
    if (seen.has(bin)) continue;
    seen.add(bin);
    const r = await execa('readelf', ['-d', join(root, bin)], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new UnsupportedError(`readelf -d ${bin} failed: ${r.stderr}`, 'apt-get install binutils');
    for (const m of r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
      const lib = m[1] as string;
      const found = libDirs.map((d) => `${d}/${lib}`).find((p) => existsSync(join(root, p)));
      if (found === undefined) missing.add(lib);
      else queue.push(found);
    }
  }
  return [...missing].sort();
}

async function buildInto(out: string, key: string, kernel: DebFile, busybox: DebFile, debianRoot: DebianRoot, init: string, fixedSde: number | null, progress: Progress): Promise<XenHostBuildInfo> {
  const work = join(out, 'work');
  const root = debianRoot.dir;
  const debs = debianRoot.debs;
  const xenBin = join(root, XEN_BINARY);
  if (!existsSync(xenBin)) throw new UnsupportedError(`xen-hypervisor-4.17-arm64 has no /${XEN_BINARY}`);
  const xenVersion = debs.find((d) => d.name === 'xen-hypervisor-4.17-arm64')?.version ?? 'unknown';
  const sde = fixedSde ?? Math.floor(statSync(xenBin).mtimeMs / 1000);
  const missing = await missingLibraries(root, ['usr/lib/xen-4.17/bin/xl', 'usr/lib/xen-4.17/bin/xenstored', 'usr/lib/xen-4.17/bin/xenconsoled', 'usr/lib/xen-4.17/bin/xen-init-dom0', 'usr/bin/xenstore', 'bin/bash', 'usr/bin/flock']);
  if (missing.length > 0) throw new UnsupportedError(`the dom0 toolstack needs libraries no listed package gives: ${missing.join(', ')}`, 'add their packages to XEN_HOST_PACKAGES (boot/xen/xen-host.ts)');

  const kx = join(work, 'kernel');
  await extract(kernel, kx, ['boot/vmlinuz-*', 'lib/modules/*/modules.order', ...DOM0_MODULES.map((m) => `lib/modules/*/${m.replace(/_/g, '[-_]')}.ko`)]);
  const vmlinuzName = readdirSync(join(kx, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (vmlinuzName === undefined) throw new UnsupportedError(`${kernel.name}: no /boot/vmlinuz-*`);
  const kver = vmlinuzName.slice('vmlinuz-'.length);
  const modDir = join(kx, 'lib', 'modules', kver);
  const order = readFileSync(join(modDir, 'modules.order'), 'utf8').split('\n').filter(Boolean);
  const base = (p: string): string => (p.split('/').pop() ?? '').replace(/\.ko$/, '').replace(/-/g, '_');
  const modules = DOM0_MODULES.map((m) => {
    const rel = order.find((p) => base(p) === m);
    if (rel === undefined || !existsSync(join(modDir, rel))) throw new UnsupportedError(`kernel ${kver} has no module ${m} (dom0 needs it as a module: modules.order does not list it)`);
    return rel;
  });
  const bb = join(work, 'busybox');
  await extract(busybox, bb, ['bin/busybox']);

  progress(`building the dom0 initramfs (kernel ${kver}, Xen ${xenVersion})`);
  const extra: CpioEntry[] = [
    // Mount points the package tree lacks (a directory it has stays the tree's).
    ...['proc', 'sys', 'dev', 'tmp', 'run', 'var', 'job', 'etc/vmspec'].filter((p) => !existsSync(join(root, p))).map((p): CpioEntry => ({ type: 'dir', path: p })),
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { type: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 },
    { type: 'file', path: 'bin/busybox', data: readFileSync(join(bb, 'bin', 'busybox')), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'etc/vmspec/dom0-modules', data: Buffer.from(modules.join('\n') + '\n') },
    ...modules.map((m): CpioEntry => ({ type: 'file', path: `lib/modules/${kver}/${m}`, data: readFileSync(join(modDir, m)) })),
  ];
  const initrd = packInitramfs(root, { extra, keep: (path) => !DROPPED.some((re) => re.test(path)), mtime: sde });
  writeFileSync(join(out, 'dom0-initrd.img'), initrd);
  writeFileSync(join(out, 'vmlinuz'), readFileSync(join(kx, 'boot', vmlinuzName)));
  writeFileSync(join(out, 'xen'), readFileSync(xenBin));
  const files: XenHostBuildInfo['files'] = {};
  for (const f of ['xen', 'vmlinuz', 'dom0-initrd.img']) {
    const data = readFileSync(join(out, f));
    files[f] = { size: data.length, sha256: sha256(data) };
  }
  const built: XenHostBuildInfo = {
    builderVersion: XEN_HOST_BUILDER_VERSION,
    key,
    xenVersion,
    kernelVersion: kver,
    sourceDateEpoch: sde,
    packages: [kernel, busybox, ...debs].map((d) => ({ name: d.name, version: d.version, sha256: d.sha256 })),
    modules,
    files,
  };
  writeFileSync(join(out, 'build.json'), JSON.stringify(built, null, 2) + '\n');
  return built;
}
