import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
  chmodSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';
import { packageRoot } from '../../package/paths.js';
import { buildCpio, type CpioEntry } from './cpio.js';
import { resolveReferenceDebs, type DebFile, type Progress, type ReferenceDebs } from './debs.js';
import { publishCacheEntry } from '../cache-entry.js';

/**
 * The reference image: a minimal aarch64 UEFI disk that boots in seconds
 * under TCG and does one thing, run probes/guest/collect.sh and write the
 * evidence tar to a second disk, then power off.
 *
 *   disk.img  GPT, one ESP (FAT32) holding
 *             \EFI\BOOT\BOOTAA64.EFI  grub-mkimage (arm64 modules, embedded grub.cfg)
 *             \vmlinuz                Debian arm64 kernel (EFI-stub Image)
 *             \initrd.img             gzip newc cpio: busybox-static, the virtio/efivarfs
 *                                     modules, collect.sh, /init (boot/reference/init.sh)
 *
 * Built without root or loop mounts (truncate, sgdisk, mkfs.vfat on a separate
 * file, mtools, a positional copy), deterministically (fixed timestamps and
 * GUIDs, sorted archive), and cached under
 * $XDG_CACHE_HOME/vmspec/reference/<key> where key hashes the .deb sha256s, the
 * templates and the builder's settings. Debs are fetched with `apt-get
 * download` into $XDG_CACHE_HOME/vmspec/debs.
 */

/** Bump when the build recipe changes in a way the inputs do not show. */
export const BUILDER_VERSION = 3;

/**
 * insmod order matters (virtio_pci needs both *_dev). qemu_fw_cfg is optional.
 * `insmod: false`: carried in the initramfs, not loaded: the drivers GUEST-4
 * asks an image's kernel or initrd to have (virtio net, console, balloon and
 * MMIO; the Xen block and net front-ends), so the reference passes what it
 * checks in other images. Names as modules.order gives them, '-' read as '_'.
 */
export const REFERENCE_MODULES: readonly { name: string; required: boolean; insmod?: false }[] = [
  { name: 'virtio_pci_legacy_dev', required: true },
  { name: 'virtio_pci_modern_dev', required: true },
  { name: 'virtio_pci', required: true },
  { name: 'virtio_blk', required: true },
  { name: 'efivarfs', required: true },
  { name: 'qemu_fw_cfg', required: false },
  ...['failover', 'net_failover', 'virtio_net', 'virtio_console', 'virtio_balloon', 'virtio_mmio', 'xen_blkfront', 'xen_netfront']
    .map((name) => ({ name, required: false, insmod: false as const })),
];

/** No console= on purpose: the console must come from the firmware (SPCR / DT stdout-path). */
export const DEFAULT_CMDLINE = 'panic=-1 quiet';

/**
 * The login variant (`variant: 'login'`): the same kernel, drivers and
 * collect.sh, but its init (boot/reference/login-init.sh) ends in busybox
 * init with getty on ttyAMA0 instead of collecting, for LAVA shell jobs
 * (docs/scale.md). What LAVA's auto-login and test shell need from it:
 */
export const LOGIN_VARIANT = {
  /** Not `quiet`: auto-login first waits for the kernel banner `Linux version [0-9]`. */
  cmdline: 'panic=-1',
  hostname: 'vmspec',
  username: 'root',
  /** root's password (a test image: the job's credentials, `--password`). */
  password: 'vmspec',
  loginPrompt: 'login:',
  passwordPrompt: 'Password:',
  /** ash expands PS1 `\u@\h:\w\$ ` to this in root's home. */
  prompt: 'root@vmspec:~# ',
  /** LAVA mounts its overlay disk `-t ext2`, which Debian's kernel serves through ext4; insmod in this order. */
  modules: ['crc16', 'mbcache', 'jbd2', 'crc32c_generic', 'ext4'],
} as const;

export type ReferenceVariant = 'collect' | 'login';
export const GRUB_MODULES = ['part_gpt', 'fat', 'search', 'search_fs_file', 'linux', 'echo', 'boot'];
export const IMAGE_BYTES = 64 * 1024 * 1024;
const ESP_FIRST_LBA = 2048;

export interface BuildReferenceOptions {
  /** Cache root (default $XDG_CACHE_HOME/vmspec or ~/.cache/vmspec). */
  cacheDir?: string;
  onProgress?: Progress;
  /** Kernel package (default: what linux-image-arm64:arm64 depends on). */
  kernelPackage?: string;
  /** Local .deb files instead of apt (each optional). */
  debs?: { kernel?: string; busybox?: string; grub?: string };
  /** Kernel command line (default DEFAULT_CMDLINE). */
  cmdline?: string;
  /** Rebuild even when cached. */
  force?: boolean;
  /** Timestamp for every file (default SOURCE_DATE_EPOCH, else the kernel's mtime in its .deb). */
  sourceDateEpoch?: number;
  /** 'collect' (default): init collects and powers off; 'login': a login shell on the console (LOGIN_VARIANT). */
  variant?: ReferenceVariant;
}

export interface ReferenceBuildInfo {
  builderVersion: number;
  key: string;
  /** Absent in a collecting build (the default). */
  variant?: 'login';
  kernelVersion: string;
  cmdline: string;
  sourceDateEpoch: number;
  packages: { name: string; version: string; sha256: string }[];
  modules: string[];
  templates: Record<string, string>;
  files: Record<string, { size: number; sha256: string }>;
}

export interface ReferenceImage {
  /** The cache directory of this build. */
  dir: string;
  /** The raw GPT disk image (do not modify: boot it with snapshot=on). */
  image: string;
  kernelVersion: string;
  key: string;
  /** True when found in the cache, false when built now. */
  cached: boolean;
  info: ReferenceBuildInfo;
}

export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'vmspec');
}

export function templatePath(name: 'init.sh' | 'login-init.sh' | 'grub.cfg'): string {
  return join(packageRoot, 'boot', 'reference', name);
}

export function collectorPath(): string {
  return join(packageRoot, 'probes', 'guest', 'collect.sh');
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<string> {
  try {
    const r = await execa(cmd, args, { env: { LC_ALL: 'C', ...env }, cwd, timeout: 5 * 60 * 1000, stdin: 'ignore' });
    return r.stdout;
  } catch (e) {
    const err = e as { code?: string; stderr?: string; stdout?: string; shortMessage?: string; message: string };
    if (err.code === 'ENOENT') throw new UnsupportedError(`${cmd} is not installed`, hintFor(cmd));
    throw new UnsupportedError(`${cmd} failed: ${err.shortMessage ?? err.message}\n${err.stderr ?? ''}${err.stdout ?? ''}`.trim());
  }
}

function hintFor(cmd: string): string {
  const pkg: Record<string, string> = {
    'grub-mkimage': 'grub-common',
    sgdisk: 'gdisk',
    'mkfs.vfat': 'dosfstools',
    mcopy: 'mtools',
    mmd: 'mtools',
    'dpkg-deb': 'dpkg',
  };
  return `apt-get install --no-install-recommends ${pkg[cmd] ?? cmd}`;
}

/** A GUID derived from the cache key, so the GPT is the same every build. */
function guidFrom(key: string, salt: string): string {
  const h = sha256(`${key}:${salt}`);
  const v = `4${h.slice(13, 16)}`;
  const r = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${r}-${h.slice(20, 32)}`;
}

function cacheKey(debs: ReferenceDebs, templates: Record<string, string>, cmdline: string, sde: number | undefined, variant: ReferenceVariant): string {
  const recipe = {
    builder: BUILDER_VERSION,
    // Only the login variant names itself, so the collecting build keeps its key.
    ...(variant === 'login' ? { variant, login: LOGIN_VARIANT } : {}),
    debs: { kernel: debs.kernel.sha256, busybox: debs.busybox.sha256, grub: debs.grub.sha256 },
    templates: Object.fromEntries(Object.entries(templates).map(([k, v]) => [k, sha256(v)])),
    modules: REFERENCE_MODULES,
    grubModules: GRUB_MODULES,
    cmdline,
    imageBytes: IMAGE_BYTES,
    sourceDateEpoch: sde ?? null,
  };
  return sha256(JSON.stringify(recipe)).slice(0, 24);
}

/** The modules an image of this variant carries, in insmod order. */
function modulesFor(variant: ReferenceVariant): readonly { name: string; required: boolean; insmod?: false }[] {
  return variant === 'login' ? [...REFERENCE_MODULES, ...LOGIN_VARIANT.modules.map((name) => ({ name, required: true }))] : REFERENCE_MODULES;
}

/** Path of each module (relative to /lib/modules/<kver>) from modules.order; undefined when built in. */
function findModules(modDir: string, wanted: readonly { name: string; required: boolean; insmod?: false }[]): { name: string; path?: string; insmod: boolean }[] {
  const order = readFileSync(join(modDir, 'modules.order'), 'utf8').split('\n').filter(Boolean);
  const builtin = existsSync(join(modDir, 'modules.builtin')) ? readFileSync(join(modDir, 'modules.builtin'), 'utf8').split('\n') : [];
  const base = (p: string): string => (p.split('/').pop() ?? '').replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');
  const out: { name: string; path?: string; insmod: boolean }[] = [];
  for (const m of wanted) {
    const rel = order.find((p) => base(p) === m.name);
    if (rel !== undefined) {
      // modules.order names .ko; the package may ship it compressed.
      const candidates = [rel, `${rel}.xz`, `${rel}.zst`, `${rel}.gz`].map((r) => r.replace(/\.ko\.ko/, '.ko'));
      const found = candidates.find((c) => existsSync(join(modDir, c)));
      if (found === undefined) throw new UnsupportedError(`module ${m.name}: ${rel} is in modules.order but not in the package`);
      if (!found.endsWith('.ko')) throw new UnsupportedError(`module ${m.name} is compressed (${found}); busybox insmod needs .ko`);
      out.push({ name: m.name, path: found, insmod: m.insmod !== false });
    } else if (builtin.some((p) => base(p) === m.name)) {
      out.push({ name: m.name, insmod: false });
    } else if (m.required) {
      throw new UnsupportedError(`kernel has no module ${m.name} (neither in modules.order nor built in)`);
    }
  }
  return out;
}

async function copyInto(src: string, dest: string, offset: number): Promise<void> {
  const inFd = openSync(src, 'r');
  const outFd = openSync(dest, 'r+');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let pos = 0;
    for (;;) {
      const n = readSync(inFd, buf, 0, buf.length, pos);
      if (n === 0) break;
      let done = 0;
      while (done < n) done += writeSync(outFd, buf, done, n - done, offset + pos + done);
      pos += n;
    }
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

/** Build (or find in the cache) the reference image. */
export async function buildReferenceImage(opts: BuildReferenceOptions = {}): Promise<ReferenceImage> {
  const progress: Progress = opts.onProgress ?? (() => {});
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const variant = opts.variant ?? 'collect';
  const cmdline = opts.cmdline ?? (variant === 'login' ? LOGIN_VARIANT.cmdline : DEFAULT_CMDLINE);
  if (/[\n"]/.test(cmdline)) throw new UnsupportedError('kernel command line must not contain newlines or double quotes');
  const envSde = process.env.SOURCE_DATE_EPOCH;
  const fixedSde = opts.sourceDateEpoch ?? (envSde !== undefined && /^[0-9]+$/.test(envSde) ? Number(envSde) : undefined);

  const init = variant === 'login' ? 'login-init.sh' : 'init.sh';
  const templates: Record<string, string> = {
    [init]: readFileSync(templatePath(init), 'utf8'),
    'grub.cfg': readFileSync(templatePath('grub.cfg'), 'utf8'),
    'collect.sh': readFileSync(collectorPath(), 'utf8'),
  };

  progress('resolving Debian arm64 packages');
  const debs = await resolveReferenceDebs(join(cacheDir, 'debs'), progress, {
    ...(opts.kernelPackage !== undefined ? { kernelPackage: opts.kernelPackage } : {}),
    ...(opts.debs !== undefined ? { local: opts.debs } : {}),
  });
  const key = cacheKey(debs, templates, cmdline, fixedSde, variant);
  const dir = join(cacheDir, 'reference', key);
  const image = join(dir, 'disk.img');
  const infoPath = join(dir, 'build.json');
  if (!opts.force && existsSync(infoPath) && existsSync(image)) {
    const info = JSON.parse(readFileSync(infoPath, 'utf8')) as ReferenceBuildInfo;
    progress(`reference image ${key} is cached: ${image}`);
    return { dir, image, kernelVersion: info.kernelVersion, key, cached: true, info };
  }

  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const info = await buildInto(tmp, key, debs, templates, cmdline, fixedSde, variant, progress);
    rmSync(join(tmp, 'work'), { recursive: true, force: true });
    if (opts.force) rmSync(dir, { recursive: true, force: true });
    publishCacheEntry(tmp, dir, infoPath);
    progress(`reference image ${key} built: ${image}`);
    return { dir, image, kernelVersion: info.kernelVersion, key, cached: false, info };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function buildInto(
  out: string,
  key: string,
  debs: ReferenceDebs,
  templates: Record<string, string>,
  cmdline: string,
  fixedSde: number | undefined,
  variant: ReferenceVariant,
  progress: Progress,
): Promise<ReferenceBuildInfo> {
  const wantedModules = modulesFor(variant);
  const work = join(out, 'work');
  const x = (d: DebFile): string => join(work, d.name);
  // Only the members needed (the kernel package has thousands of modules).
  const wanted: [DebFile, string[]][] = [
    [
      debs.kernel,
      [
        './boot/vmlinuz-*',
        './boot/config-*',
        './lib/modules/*/modules.order',
        './lib/modules/*/modules.builtin',
        ...wantedModules.map((m) => `./lib/modules/*/${m.name.replace(/_/g, '[-_]')}.ko*`),
      ],
    ],
    [debs.busybox, ['./bin/busybox']],
    [debs.grub, ['./usr/lib/grub/arm64-efi/*']],
  ];
  for (const [d, members] of wanted) {
    progress(`extracting ${d.name} ${d.version}`);
    mkdirSync(x(d), { recursive: true });
    await run('bash', ['-o', 'pipefail', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards -- "${@:3}"', 'extract', d.path, x(d), ...members]);
  }

  const bootDir = join(x(debs.kernel), 'boot');
  const vmlinuzName = readdirSync(bootDir).find((f) => f.startsWith('vmlinuz-'));
  if (vmlinuzName === undefined) throw new UnsupportedError(`${debs.kernel.name}: no /boot/vmlinuz-*`);
  const kver = vmlinuzName.slice('vmlinuz-'.length);
  const vmlinuz = join(bootDir, vmlinuzName);
  const head = readFileSync(vmlinuz).subarray(0, 64);
  if (head[0] !== 0x4d || head[1] !== 0x5a) throw new UnsupportedError(`${vmlinuzName} has no EFI stub (MZ) header; compressed kernels are not supported`);
  const sde = fixedSde ?? Math.floor(statSync(vmlinuz).mtimeMs / 1000);
  const modDir = join(x(debs.kernel), 'lib', 'modules', kver);
  const modules = findModules(modDir, wantedModules);
  const busybox = join(x(debs.busybox), 'bin', 'busybox');
  if (!existsSync(busybox)) throw new UnsupportedError(`${debs.busybox.name}: no /bin/busybox`);
  const grubDir = join(x(debs.grub), 'usr', 'lib', 'grub', 'arm64-efi');
  if (!existsSync(grubDir)) throw new UnsupportedError(`${debs.grub.name}: no /usr/lib/grub/arm64-efi`);

  progress(`building initramfs (kernel ${kver}, modules ${modules.map((m) => m.name + (m.path ? '' : ' (built in)')).join(', ')})`);
  const shipped = modules.filter((m): m is { name: string; path: string; insmod: boolean } => m.path !== undefined);
  const loaded = shipped.filter((m) => m.insmod);
  const entries: CpioEntry[] = [
    ...['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc/vmspec'].map((p): CpioEntry => ({ type: 'dir', path: p })),
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { type: 'file', path: 'init', data: Buffer.from(templates[variant === 'login' ? 'login-init.sh' : 'init.sh'] as string), mode: 0o755 },
    { type: 'file', path: 'bin/busybox', data: readFileSync(busybox), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'usr/share/vmspec/collect.sh', data: Buffer.from(templates['collect.sh'] as string), mode: 0o755 },
    { type: 'file', path: 'etc/vmspec/modules', data: Buffer.from(loaded.map((m) => m.path).join('\n') + '\n') },
    { type: 'file', path: 'etc/vmspec/image', data: Buffer.from(`key=${key}\nkernel=${kver}\n`) },
    { type: 'file', path: `boot/config-${kver}`, data: readFileSync(join(bootDir, `config-${kver}`)) },
    ...shipped.map((m): CpioEntry => ({ type: 'file', path: `lib/modules/${kver}/${m.path}`, data: readFileSync(join(modDir, m.path)) })),
    ...(variant === 'login' ? await loginFiles(key) : []),
  ];
  const initrd = gzipSync(buildCpio(entries, sde), { level: 9 });
  const esp = join(work, 'esp');
  mkdirSync(esp, { recursive: true });
  writeFileSync(join(esp, 'initrd.img'), initrd);
  writeFileSync(join(esp, 'vmlinuz'), readFileSync(vmlinuz));

  progress('building BOOTAA64.EFI (grub-mkimage, embedded grub.cfg)');
  const cfg = join(work, 'grub.cfg');
  // grub's embedded config is read by the rescue parser: no comments.
  const cfgText = (templates['grub.cfg'] as string)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .join('\n')
    .replaceAll('@CMDLINE@', cmdline);
  writeFileSync(cfg, cfgText + '\n');
  const efi = join(esp, 'BOOTAA64.EFI');
  await run('grub-mkimage', ['-O', 'arm64-efi', '-d', grubDir, '-p', '/EFI/BOOT', '-c', cfg, '-o', efi, ...GRUB_MODULES]);
  for (const f of ['initrd.img', 'vmlinuz', 'BOOTAA64.EFI']) utimesSync(join(esp, f), sde, sde);

  progress('assembling the GPT disk (sgdisk, mkfs.vfat, mtools)');
  const disk = join(out, 'disk.img');
  writeFileSync(disk, '');
  chmodSync(disk, 0o644);
  await run('truncate', ['-s', String(IMAGE_BYTES), disk]);
  await run('sgdisk', ['-o', '-n', `1:${ESP_FIRST_LBA}:0`, '-t', '1:EF00', '-c', '1:ESP', '-U', guidFrom(key, 'disk'), '-u', `1:${guidFrom(key, 'esp')}`, disk]);
  const part = await run('sgdisk', ['-i', '1', disk]);
  const last = /Last sector:\s*(\d+)/.exec(part)?.[1];
  if (last === undefined) throw new UnsupportedError(`sgdisk did not create the ESP:\n${part}`);
  const espBytes = (Number(last) - ESP_FIRST_LBA + 1) * 512;
  const fat = join(work, 'esp.img');
  await run('truncate', ['-s', String(espBytes), fat]);
  await run('mkfs.vfat', ['-F', '32', '-s', '1', '-h', String(ESP_FIRST_LBA), '-n', 'VMSPEC-REF', '--invariant', fat]);
  const mtoolsEnv = { SOURCE_DATE_EPOCH: String(sde), TZ: 'UTC', MTOOLS_SKIP_CHECK: '1' };
  progress('filling the ESP (mtools)');
  await run('mmd', ['-i', fat, '::/EFI', '::/EFI/BOOT'], mtoolsEnv);
  await run('mcopy', ['-m', '-i', fat, efi, '::/EFI/BOOT/BOOTAA64.EFI'], mtoolsEnv);
  await run('mcopy', ['-m', '-i', fat, join(esp, 'vmlinuz'), '::/vmlinuz'], mtoolsEnv);
  await run('mcopy', ['-m', '-i', fat, join(esp, 'initrd.img'), '::/initrd.img'], mtoolsEnv);
  progress('copying the ESP into the disk image');
  await copyInto(fat, disk, ESP_FIRST_LBA * 512);
  progress('hashing the outputs');

  const files: ReferenceBuildInfo['files'] = {};
  for (const [name, path] of [
    ['disk.img', disk],
    ['BOOTAA64.EFI', efi],
    ['vmlinuz', join(esp, 'vmlinuz')],
    ['initrd.img', join(esp, 'initrd.img')],
  ] as const) {
    const data = readFileSync(path);
    files[name] = { size: data.length, sha256: sha256(data) };
  }
  const info: ReferenceBuildInfo = {
    builderVersion: BUILDER_VERSION,
    key,
    ...(variant === 'login' ? { variant } : {}),
    kernelVersion: kver,
    cmdline,
    sourceDateEpoch: sde,
    packages: [debs.kernel, debs.busybox, debs.grub].map((d) => ({ name: d.name, version: d.version, sha256: d.sha256 })),
    modules: modules.map((m) => m.path ?? `${m.name} (built in)`),
    templates: Object.fromEntries(Object.entries(templates).map(([k, v]) => [k, sha256(v)])),
    files,
  };
  writeFileSync(join(out, 'build.json'), JSON.stringify(info, null, 2) + '\n');
  return info;
}

/**
 * The login variant's /etc: busybox init runs getty on ttyAMA0 (the first
 * PL011, where SPCR and the DT's stdout-path put the console); login checks
 * root's password against a SHA-512 crypt hash (openssl passwd -6, salt
 * from the cache key: the same bytes every build); ash's prompt.
 */
async function loginFiles(key: string): Promise<CpioEntry[]> {
  const v = LOGIN_VARIANT;
  const hash = (await run('openssl', ['passwd', '-6', '-salt', sha256(`${key}:salt`).slice(0, 16), v.password])).trim();
  if (!hash.startsWith('$6$')) throw new UnsupportedError(`openssl passwd -6 gave no SHA-512 crypt hash: ${hash}`);
  const file = (path: string, text: string, mode?: number): CpioEntry => ({ type: 'file', path, data: Buffer.from(text), ...(mode !== undefined ? { mode } : {}) });
  return [
    file('etc/inittab', 'ttyAMA0::respawn:/sbin/getty -L 115200 ttyAMA0 vt100\n::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/umount -a -r\n'),
    file('etc/passwd', `${v.username}:x:0:0:root:/root:/bin/sh\n`),
    file('etc/group', 'root:x:0:\n'),
    file('etc/shadow', `${v.username}:${hash}:19000:0:99999:7:::\n`, 0o600),
    file('etc/hostname', `${v.hostname}\n`),
    file('etc/issue', 'vmspec reference image (login variant)\n\n'),
    file('etc/profile', "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='\\u@\\h:\\w\\$ '\n"),
  ];
}
