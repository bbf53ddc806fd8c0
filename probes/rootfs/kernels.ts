import { FsError, typeAt, joinPath, type ReadOnlyFilesystem } from '../fs/filesystem.js';

/**
 * Installed kernels, found the way distributions install them:
 * /boot/vmlinuz-V (Debian, Ubuntu, SUSE, Fedora), /boot/Image-V, /boot/vmlinux-V,
 * /boot/config-V, /boot/initrd.img-V (Debian/Ubuntu), /boot/initramfs-V.img
 * (dracut: Fedora, RHEL), /boot/initrd-V (SUSE), and the module trees under
 * /lib/modules and /usr/lib/modules, which may also hold the image and
 * config (/usr/lib/modules/V/vmlinuz and config, Fedora and Arch).
 */

export interface KernelInstall {
  /** Kernel release (uname -r). */
  version: string;
  /** Path of the kernel image, or null when only modules were found. */
  image: string | null;
  /** Path of the kernel configuration, or null. */
  config: string | null;
  /** Path of the initrd/initramfs, or null. */
  initrd: string | null;
  /** Canonical path of the module tree, or null. */
  modulesDir: string | null;
}

/** Version order as `sort -V` (GNU filevercmp) and GRUB's version_sort use it, for "the newest kernel". */
export function compareVersions(a: string, b: string): number {
  const parts = (s: string): string[] => s.match(/\d+|\D+/g) ?? [];
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
      continue;
    }
    if (dx !== dy) return dx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const IMAGE = /^(vmlinuz|vmlinux|Image|Image\.gz|zImage|uImage|kernel)-(.+)$/;
const INITRD = [/^initrd\.img-(.+)$/, /^initramfs-(.+)\.img$/, /^initrd-(.+)\.img$/, /^initrd-(.+)$/];
/** Not kernels: rescue and kdump images are extra initrds, .old links are previous kernels' aliases. */
const IGNORE = /(\.old|\.bak|\.dpkg-[a-z]+|\.sig|\.hmac|\.efi|-kdump\.img|-rescue-[0-9a-f]+.*)$/;

/** Preference between image names for one version. */
const IMAGE_RANK = ['vmlinuz', 'Image', 'Image.gz', 'vmlinux', 'zImage', 'uImage', 'kernel'];

function names(fs: ReadOnlyFilesystem, dir: string): string[] {
  try {
    return fs.readdir(dir).map((e) => e.name);
  } catch (e) {
    if (e instanceof FsError) return [];
    throw e;
  }
}

function isFile(fs: ReadOnlyFilesystem, path: string): boolean {
  return typeAt(fs, path) === 'file';
}

function isDir(fs: ReadOnlyFilesystem, path: string): boolean {
  return typeAt(fs, path) === 'directory';
}

/** Every kernel installed in a root filesystem, newest first. */
export function listKernels(fs: ReadOnlyFilesystem): KernelInstall[] {
  const byVersion = new Map<string, KernelInstall & { rank: number }>();
  const get = (v: string) => {
    let k = byVersion.get(v);
    if (!k) {
      k = { version: v, image: null, config: null, initrd: null, modulesDir: null, rank: 99 };
      byVersion.set(v, k);
    }
    return k;
  };
  const boot = names(fs, '/boot');
  for (const n of boot) {
    if (IGNORE.test(n)) continue;
    const path = `/boot/${n}`;
    const img = IMAGE.exec(n);
    if (img && isFile(fs, path)) {
      const rank = IMAGE_RANK.indexOf(img[1]!);
      const k = get(img[2]!);
      if (rank < k.rank) {
        k.image = path;
        k.rank = rank;
      }
    }
  }
  // Module trees: /lib is usually a symlink to usr/lib; canonical paths de-duplicate.
  const seenDirs = new Set<string>();
  for (const base of ['/lib/modules', '/usr/lib/modules']) {
    for (const v of names(fs, base)) {
      const dir = joinPath(base, v);
      if (!isDir(fs, dir)) continue;
      const real = fs.realpath(dir);
      if (seenDirs.has(real)) continue;
      seenDirs.add(real);
      // A tree with neither modules nor an image is a leftover (e.g. after a kernel was purged).
      if (!isDir(fs, joinPath(real, 'kernel')) && !isFile(fs, joinPath(real, 'vmlinuz')) && !isFile(fs, joinPath(real, 'modules.dep'))) continue;
      const k = get(v);
      k.modulesDir = real;
      if (!k.image && isFile(fs, joinPath(real, 'vmlinuz'))) k.image = joinPath(real, 'vmlinuz');
    }
  }
  // Only versions that have an image or modules are kernels; configs and initrds attach to them.
  for (const k of byVersion.values()) {
    if (boot.includes(`config-${k.version}`) && isFile(fs, `/boot/config-${k.version}`)) k.config = `/boot/config-${k.version}`;
    else if (k.modulesDir && isFile(fs, joinPath(k.modulesDir, 'config'))) k.config = joinPath(k.modulesDir, 'config');
    for (const re of INITRD) {
      if (k.initrd) break;
      for (const n of boot) {
        const m = re.exec(n);
        if (m && m[1] === k.version && !IGNORE.test(n) && isFile(fs, `/boot/${n}`)) {
          k.initrd = `/boot/${n}`;
          break;
        }
      }
    }
    if (!k.initrd && k.modulesDir && isFile(fs, joinPath(k.modulesDir, 'initrd'))) k.initrd = joinPath(k.modulesDir, 'initrd');
  }
  return [...byVersion.values()]
    .filter((k) => k.image !== null || k.modulesDir !== null)
    .map(({ rank: _rank, ...k }) => k)
    .sort((a, b) => compareVersions(b.version, a.version));
}

/** What a kernel image file is, from its first bytes. */
export interface KernelImageInfo {
  /**
   * arm64-image: the arm64 Image header (magic "ARM\x64" at 0x38), with an EFI
   * stub when it also starts with "MZ"; efi-zboot: a compressed EFI zboot
   * image ("zimg" at 4); gzip; x86-bzimage; elf; unknown.
   */
  format: 'arm64-image' | 'efi-zboot' | 'gzip' | 'x86-bzimage' | 'elf' | 'unknown';
  /** Architecture the header names, when it does. */
  arch: 'arm64' | 'x86' | null;
  efiStub: boolean;
  /** zboot: the payload's compression ("gzip", "zstd"...). */
  compression: string | null;
}

export const KERNEL_HEADER_BYTES = 1024;

export function kernelImageInfo(head: Uint8Array): KernelImageInfo {
  const at = (i: number): number => head[i] ?? -1;
  const str = (o: number, n: number): string => String.fromCharCode(...Array.from(head.subarray(o, o + n)));
  const mz = at(0) === 0x4d && at(1) === 0x5a;
  // Documentation/arch/arm64/booting.rst: magic 0x644d5241 ("ARM\x64") at offset 56.
  if (str(0x38, 4) === 'ARM\x64') return { format: 'arm64-image', arch: 'arm64', efiStub: mz, compression: null };
  // drivers/firmware/efi/libstub/zboot-header.S: "MZ", 2 bytes, "zimg", offset, size, 8 bytes, compression type (32 bytes).
  if (mz && str(4, 4) === 'zimg') {
    const comp = str(0x18, 32).replace(/\0.*$/s, '');
    return { format: 'efi-zboot', arch: null, efiStub: true, compression: comp || null };
  }
  if (at(0) === 0x1f && at(1) === 0x8b) return { format: 'gzip', arch: null, efiStub: false, compression: 'gzip' };
  if (str(0x202, 4) === 'HdrS') return { format: 'x86-bzimage', arch: 'x86', efiStub: mz, compression: null };
  if (at(0) === 0x7f && str(1, 3) === 'ELF') {
    const machine = (at(18) | (at(19) << 8)) >>> 0;
    return { format: 'elf', arch: machine === 183 ? 'arm64' : machine === 62 || machine === 3 ? 'x86' : null, efiStub: false, compression: null };
  }
  return { format: 'unknown', arch: null, efiStub: mz, compression: null };
}
