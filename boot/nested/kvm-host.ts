import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';
import { packageRoot } from '../../package/paths.js';
import { defaultCacheDir } from '../reference/build.js';
import type { CpioEntry } from '../reference/cpio.js';
import { resolveReferenceDebs, type DebFile, type Progress } from '../reference/debs.js';
import { buildDebianRoot } from './debian-root.js';
import { packInitramfs } from './initramfs.js';

/**
 * The nested KVM host (L1): an aarch64 Linux that QEMU runs under TCG with
 * EL2 (`-M virt,virtualization=on -cpu max`), whose kernel starts KVM, and
 * whose initramfs runs one guest (L2) with `qemu-system-aarch64 -accel kvm`
 * (boot/nested/kvm-host-init.sh), for boot/nested/kvm-runner.ts.
 *
 *   vmlinuz     the reference image's Debian arm64 kernel (KVM built in)
 *   initrd.img  gzip newc: busybox-static, /usr/bin/qemu-system-aarch64 and
 *               exactly the shared libraries it loads (its DT_NEEDED
 *               closure, read with readelf from the Debian root of
 *               qemu-system-arm:arm64), the virtio/fw_cfg modules, /init
 *
 * No firmware is carried: L1 boots its kernel directly (-kernel), and L2
 * runs the firmware vmspec chose on L0, passed through as a read-only disk.
 * Cached under $cache/kvm-host/<key>, key = the builder version, the kernel
 * deb, the Debian root's key and the init script; deterministic (one
 * timestamp: the kernel's mtime in its .deb).
 */

export const KVM_HOST_VERSION = 2;

/** Packages of the L1 root; what qemu does not load at run time is never followed (the initramfs then takes only the DT_NEEDED closure). */
export const KVM_HOST_PACKAGES = ['qemu-system-arm', 'busybox-static'];
export const KVM_HOST_EXCLUDE = ['python3', 'perl-base', 'debconf', 'adduser', 'qemu-system-data', 'libc-bin'];

/** Loaded in this order by the L1 init (virtio_pci needs both *_dev). */
export const KVM_HOST_MODULES = ['virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'virtio_blk', 'virtio_console', 'qemu_fw_cfg'];

/** The L1 kernel's command line: its console is L0's PL011 (the runner reads the end line there). */
export const KVM_HOST_CMDLINE = 'console=ttyAMA0 panic=-1 quiet';

const LIB_DIRS = ['lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib', 'usr/lib'];

export interface KvmHost {
  dir: string;
  kernel: string;
  initrd: string;
  key: string;
  cached: boolean;
  info: KvmHostInfo;
}

export interface KvmHostInfo {
  version: number;
  key: string;
  kernelVersion: string;
  cmdline: string;
  sourceDateEpoch: number;
  /** Debian's qemu-system-arm:arm64 version: the QEMU that runs the guest under KVM. */
  qemuPackage: { name: string; version: string };
  kernelPackage: { name: string; version: string; sha256: string };
  debianRoot: string;
  /** Shared libraries packed (root-relative), with the loader. */
  libraries: string[];
  modules: string[];
  files: Record<string, { size: number; sha256: string }>;
}

export interface BuildKvmHostOptions {
  cacheDir?: string;
  onProgress?: Progress;
  signal?: AbortSignal;
}

export function kvmHostInitPath(): string {
  return join(packageRoot, 'boot', 'nested', 'kvm-host-init.sh');
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** DT_NEEDED names and the program interpreter of an ELF file, from `readelf` (binutils). */
export async function elfNeeds(path: string): Promise<{ needed: string[]; interpreter: string | null }> {
  let out: string;
  try {
    out = (await execa('readelf', ['-d', '-l', '-W', path], { env: { LC_ALL: 'C' }, stdin: 'ignore', timeout: 60_000 })).stdout;
  } catch (e) {
    const err = e as { code?: string; message: string; stderr?: string };
    if (err.code === 'ENOENT') throw new UnsupportedError('readelf is not installed', 'apt-get install --no-install-recommends binutils');
    throw new UnsupportedError(`readelf ${path} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
  const needed = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]/]+)\]/g)].map((m) => m[1] as string);
  const interpreter = /\[Requesting program interpreter: ([^\]]+)\]/.exec(out)?.[1] ?? null;
  return { needed, interpreter };
}

/** A root-relative path with its symlinks followed inside `root` (absolute targets are root-relative); every link on the way is returned too. */
function resolveInRoot(root: string, rel: string): { file: string; links: string[] } {
  const links: string[] = [];
  let cur = rel.replace(/^\/+/, '');
  for (let hops = 0; hops < 40; hops++) {
    // Resolve symlinked parent directories first (Debian 12 is not merged-/usr, but be safe).
    const parts = cur.split('/');
    let prefix = '';
    let changed = false;
    for (let i = 0; i < parts.length; i++) {
      const next = prefix === '' ? (parts[i] as string) : `${prefix}/${parts[i] as string}`;
      const full = join(root, next);
      if (!existsSync(full) && !isLink(full)) return { file: cur, links };
      if (isLink(full)) {
        const target = readlinkSync(full);
        const base = target.startsWith('/') ? target.replace(/^\/+/, '') : posix.normalize(posix.join(posix.dirname(next), target));
        if (base.startsWith('..')) throw new UnsupportedError(`${next} in the L1 root links outside it (${target})`);
        links.push(next);
        cur = [base, ...parts.slice(i + 1)].join('/');
        changed = true;
        break;
      }
      prefix = next;
    }
    if (!changed) return { file: cur, links };
  }
  throw new UnsupportedError(`${rel} in the L1 root: too many symlinks`);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The files and links a program needs to start: itself, its interpreter, its DT_NEEDED closure (searched as ld.so's default path does). */
export async function neededClosure(root: string, programs: string[]): Promise<{ files: Set<string>; links: Set<string>; libraries: string[] }> {
  const files = new Set<string>();
  const links = new Set<string>();
  const libraries: string[] = [];
  const queue = [...programs];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const rel = queue.shift() as string;
    const r = resolveInRoot(root, rel);
    r.links.forEach((l) => links.add(l));
    if (!existsSync(join(root, r.file)) || !statSync(join(root, r.file)).isFile()) throw new UnsupportedError(`${rel}: not in the L1 root (${root})`);
    if (files.has(r.file)) continue;
    files.add(r.file);
    const { needed, interpreter } = await elfNeeds(join(root, r.file));
    if (interpreter !== null && !seen.has(interpreter)) {
      seen.add(interpreter);
      libraries.push(interpreter.replace(/^\/+/, ''));
      queue.push(interpreter);
    }
    for (const lib of needed) {
      if (seen.has(lib)) continue;
      seen.add(lib);
      const dir = LIB_DIRS.find((d) => existsSync(join(root, d, lib)));
      if (dir === undefined) throw new UnsupportedError(`${r.file} needs ${lib}, which no package of the L1 root ships in ${LIB_DIRS.join(', ')}`, 'a dependency was excluded or is missing: check KVM_HOST_EXCLUDE');
      libraries.push(`${dir}/${lib}`);
      queue.push(`${dir}/${lib}`);
    }
  }
  return { files, links, libraries };
}

/** Build (or find in the cache) the L1 KVM host. */
export async function buildKvmHost(o: BuildKvmHostOptions = {}): Promise<KvmHost> {
  const progress = o.onProgress ?? (() => {});
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const init = readFileSync(kvmHostInitPath(), 'utf8');
  progress('L1 KVM host: resolving the kernel (the reference image\'s)');
  const { kernel } = await resolveReferenceDebs(join(cacheDir, 'debs'), progress);
  const root = await buildDebianRoot({ packages: KVM_HOST_PACKAGES, exclude: KVM_HOST_EXCLUDE, cacheDir, onProgress: (m) => progress(`L1 KVM host: ${m}`), ...(o.signal ? { signal: o.signal } : {}) });
  const key = sha256(JSON.stringify({ v: KVM_HOST_VERSION, kernel: kernel.sha256, root: root.key, init: sha256(init), modules: KVM_HOST_MODULES, cmdline: KVM_HOST_CMDLINE })).slice(0, 24);
  const dir = join(cacheDir, 'kvm-host', key);
  const infoPath = join(dir, 'build.json');
  if (existsSync(infoPath)) {
    progress(`L1 KVM host ${key} is cached`);
    const info = JSON.parse(readFileSync(infoPath, 'utf8')) as KvmHostInfo;
    return { dir, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), key, cached: true, info };
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const info = await buildInto(tmp, key, kernel, root.dir, root.key, root.debs, init, progress);
    rmSync(join(tmp, 'work'), { recursive: true, force: true });
    try {
      mkdirSync(dirname(dir), { recursive: true });
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(infoPath)) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
    progress(`L1 KVM host ${key} built: ${dir}`);
    return { dir, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), key, cached: false, info };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function buildInto(out: string, key: string, kernel: DebFile, rootDir: string, rootKey: string, rootDebs: DebFile[], init: string, progress: Progress): Promise<KvmHostInfo> {
  const work = join(out, 'work');
  mkdirSync(work, { recursive: true });
  progress(`L1 KVM host: extracting ${kernel.name} ${kernel.version}`);
  const members = ['./boot/vmlinuz-*', './lib/modules/*/modules.order', ...KVM_HOST_MODULES.map((m) => `./lib/modules/*/${m.replace(/_/g, '[-_]')}.ko`)];
  const r = await execa('bash', ['-o', 'pipefail', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards -- "${@:3}"', 'extract', kernel.path, work, ...members], { reject: false, stdin: 'ignore', timeout: 5 * 60_000 });
  if (r.exitCode !== 0) throw new UnsupportedError(`extracting ${kernel.path} failed: ${String(r.stderr ?? '').trim()}`);
  const vmlinuzName = readdirSync(join(work, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (vmlinuzName === undefined) throw new UnsupportedError(`${kernel.name}: no /boot/vmlinuz-*`);
  const kver = vmlinuzName.slice('vmlinuz-'.length);
  const vmlinuz = join(work, 'boot', vmlinuzName);
  const sde = Math.floor(statSync(vmlinuz).mtimeMs / 1000);
  const modDir = join(work, 'lib', 'modules', kver);
  const order = readFileSync(join(modDir, 'modules.order'), 'utf8').split('\n').filter(Boolean);
  const modules = KVM_HOST_MODULES.map((name) => {
    const rel = order.find((p) => (p.split('/').pop() ?? '').replace(/\.ko$/, '').replace(/-/g, '_') === name);
    if (rel === undefined || !existsSync(join(modDir, rel))) throw new UnsupportedError(`kernel ${kver} has no module ${name} (the L1 host loads it)`);
    return rel;
  });

  progress('L1 KVM host: the shared libraries qemu-system-aarch64 loads (readelf)');
  const closure = await neededClosure(rootDir, ['usr/bin/qemu-system-aarch64', 'bin/busybox']);
  const entries: CpioEntry[] = [
    ...['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'run', 'etc/vmspec'].map((p): CpioEntry => ({ type: 'dir', path: p })),
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { type: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'etc/vmspec/modules', data: Buffer.from(modules.join('\n') + '\n') },
    { type: 'file', path: 'etc/vmspec/kvm-host', data: Buffer.from(`key=${key}\nkernel=${kver}\n`) },
    ...modules.map((m): CpioEntry => ({ type: 'file', path: `lib/modules/${kver}/${m}`, data: readFileSync(join(modDir, m)) })),
  ];
  const keep = (p: string, kind: 'dir' | 'file' | 'symlink'): boolean => {
    if (kind === 'dir') return [...closure.files, ...closure.links].some((f) => f.startsWith(`${p}/`));
    return closure.files.has(p) || closure.links.has(p);
  };
  progress('L1 KVM host: packing the initramfs');
  const initrd = packInitramfs(rootDir, { mtime: sde, keep, extra: entries });
  writeFileSync(join(out, 'initrd.img'), initrd);
  const kernelBytes = readFileSync(vmlinuz);
  writeFileSync(join(out, 'vmlinuz'), kernelBytes);
  const qemuDeb = rootDebs.find((d) => d.name === 'qemu-system-arm');
  const info: KvmHostInfo = {
    version: KVM_HOST_VERSION,
    key,
    kernelVersion: kver,
    cmdline: KVM_HOST_CMDLINE,
    sourceDateEpoch: sde,
    qemuPackage: { name: 'qemu-system-arm', version: qemuDeb?.version ?? 'unknown' },
    kernelPackage: { name: kernel.name, version: kernel.version, sha256: kernel.sha256 },
    debianRoot: rootKey,
    libraries: closure.libraries,
    modules,
    files: {
      vmlinuz: { size: kernelBytes.length, sha256: sha256(kernelBytes) },
      'initrd.img': { size: initrd.length, sha256: sha256(initrd) },
    },
  };
  writeFileSync(join(out, 'build.json'), JSON.stringify(info, null, 2) + '\n');
  return info;
}
