import { isReadError, ParseError, UnsupportedError } from '../../bytes/errors.js';
import { FsError, joinPath, type ReadOnlyFilesystem } from '../fs/filesystem.js';
import type { DiskImage } from '../image/disk.js';
import type { Memo } from '../types.js';
import { followRemovablePath, grubDefault, readUkiInitrd, rootGrubConfig, type BootChain, type DefaultBoot } from './bootloader.js';
import { initrdModules, startInitrdListing, type InitrdFile, type InitrdListing, type InitrdListingJob } from './initrd.js';
import { looksLikeKernelConfig, parseKernelConfig, type KernelConfig } from './kernel-config.js';
import { KERNEL_HEADER_BYTES, kernelImageInfo, listKernels, type KernelImageInfo, type KernelInstall } from './kernels.js';
import { openModuleTree, type ModuleTree } from './modules.js';
import { ikconfig, kernelPayload, MAX_KERNEL_FILE_BYTES } from './kernel-image.js';
import { openRootfs, requireRoot, type RootfsHandle, type RootHandle } from './rootfs.js';
import { openEsp } from '../image/esp.js';
import { readPartitionTable } from '../image/partition-table.js';
import { assembleOsView, type OsView } from './os-view.js';
import { MountedFilesystem } from './mounted-view.js';
import { fatLabel, fatSerial } from './volumes.js';

/**
 * The guest OS as the image's files show it, assembled once per run: the
 * root filesystem, its kernels, which one boots by default and why, and
 * (lazily, per kernel) its config, module tree and initrd listing.
 */

export type SelectedBy = 'bootloader' | 'symlink' | 'newest' | 'only';

export interface DefaultKernel {
  kernel: KernelInstall;
  selectedBy: SelectedBy;
  /** In words: "default entry of (hd0,gpt2)/boot/grub/grub.cfg: …", "/vmlinuz → boot/vmlinuz-…", "newest of 2". */
  why: string;
  /** The bootloader entry that boots it, when one does. */
  boot: DefaultBoot | null;
  /**
   * The initrd that boots with it when it is not the kernel's own
   * (/boot/initrd.img-V): a unified kernel image's .initrd (null: the UKI
   * has none, so none is loaded). Absent: the kernel's own.
   */
  initrd?: InitrdSource | null;
}

/** An initrd that is not a file in the view: where it is (for the facts), its size, and how to read it. */
export interface InitrdSource {
  path: string;
  size: number;
  read(): Uint8Array;
}

export interface GuestView {
  rootfs: RootfsHandle;
  root: RootHandle | null;
  /** The root as the OS mounts it (fstab's /boot, /usr... joined), and what decided it; null without a root. */
  os: OsView | null;
  kernels: KernelInstall[];
  chain: BootChain;
  /** Where the default boot entry came from: the ESP's removable path, or the root's own grub.cfg. */
  bootSource: 'removable-path' | 'root-grub-cfg' | null;
  boot: DefaultBoot | null;
  defaultKernel: DefaultKernel | null;
}

const GUEST_VIEW_KEY = 'rootfs.guest-view';

export function guestView(image: DiskImage, memo: Memo): GuestView {
  return memo.get(GUEST_VIEW_KEY, () => {
    const rootfs = openRootfs(image, memo);
    // A damaged root is an error even when a command line could name another volume.
    requireRoot(rootfs);
    const chain = followRemovablePath(image, memo);
    const espReading = openEsp(image, memo);
    const esp = espReading.partition
      ? { partition: espReading.partition.number, serial: fatSerial(espReading.volume?.bpb.BS_VolID ?? null), label: espReading.volume ? fatLabel(espReading.volume) : null, volume: espReading.volume }
      : null;
    const chainLinux = chain.defaultBoot?.linux;
    const os = assembleOsView({
      rootfs, table: readPartitionTable(image, memo), esp,
      cmdline: chainLinux?.exists ? { args: chainLinux.args, from: `the default entry "${chain.defaultBoot!.title}" (${chain.defaultBoot!.source})` } : null,
    });
    if (!os) return { rootfs, root: null, os: null, kernels: [], chain, bootSource: null, boot: null, defaultKernel: null };
    const kernels = listKernels(os.fs);
    // A UKI's kernel is a section of the UKI (".../x.efi:.linux"), not a file in the view, even with the ESP mounted.
    const inView = (b: DefaultBoot | null): string | null => (b?.linux?.exists && b.uname === undefined ? os.pathOf(b.linux) : null);
    let boot: DefaultBoot | null = null;
    let bootSource: GuestView['bootSource'] = null;
    let bootPath: string | null = inView(chain.defaultBoot);
    // A unified kernel image carries its kernel: its .uname names the installed release it is.
    const uname = chain.defaultBoot?.uname;
    const ukiKernel = bootPath === null && uname ? kernels.find((x) => x.version === uname) : undefined;
    if (ukiKernel && chain.defaultBoot) {
      const b = chain.defaultBoot;
      const at = b.ukiInitrd ?? null;
      const initrd: InitrdSource | null = at ? { path: `${b.source}:.initrd`, size: at.size, read: () => readUkiInitrd(image, memo, at) } : null;
      const defaultKernel: DefaultKernel = { kernel: ukiKernel, selectedBy: 'bootloader', why: `the unified kernel image ${b.source} (${b.chosenBy}) holds kernel ${uname} (.uname)`, boot: b, initrd };
      return { rootfs, root: os.root, os, kernels, chain, bootSource: 'removable-path', boot: b, defaultKernel };
    }
    if (bootPath !== null) {
      boot = chain.defaultBoot;
      bootSource = 'removable-path';
    } else {
      const ev = rootGrubConfig(image, memo);
      const b = ev ? grubDefault(ev) : null;
      bootPath = inView(b);
      if (bootPath !== null) {
        boot = b;
        bootSource = 'root-grub-cfg';
      }
    }
    const defaultKernel = pickKernel(os.fs, kernels, boot, bootSource, bootPath);
    if (defaultKernel?.boot) {
      const initrd = entryInitrd(os, defaultKernel.kernel, defaultKernel.boot);
      if (initrd !== undefined) defaultKernel.initrd = initrd;
    }
    return { rootfs, root: os.root, os, kernels, chain, bootSource, boot, defaultKernel };
  });
}

function realpathOrNull(fs: ReadOnlyFilesystem, path: string): string | null {
  try {
    return fs.realpath(path);
  } catch (e) {
    if (e instanceof FsError) return null;
    throw e;
  }
}

function pickKernel(fs: ReadOnlyFilesystem, kernels: KernelInstall[], boot: DefaultBoot | null, bootSource: GuestView['bootSource'], bootPath: string | null): DefaultKernel | null {
  if (kernels.length === 0) return null;
  if (boot?.linux && bootPath !== null) {
    const target = realpathOrNull(fs, bootPath);
    const k = kernels.find((x) => x.image !== null && realpathOrNull(fs, x.image) === target)
      ?? kernels.find((x) => boot.linux!.path.endsWith(`-${x.version}`))
      // kernel-install's "bls" layout (Boot Loader Specification type #1): $BOOT/<entry-token>/<version>/linux.
      ?? kernels.find((x) => new RegExp(`/${escapeRegExp(x.version)}/[^/]+$`).test(boot.linux!.path));
    if (k) {
      const from = bootSource === 'removable-path' ? 'the removable-path boot loader' : "the root's GRUB configuration";
      return { kernel: k, selectedBy: 'bootloader', why: `default entry "${boot.title}" of ${from} (${boot.source}, ${boot.chosenBy}) loads ${boot.linux.path}`, boot };
    }
  }
  for (const link of ['/vmlinuz', '/boot/vmlinuz', '/boot/Image']) {
    const target = realpathOrNull(fs, link);
    if (!target || target === link) continue;
    const k = kernels.find((x) => x.image !== null && realpathOrNull(fs, x.image) === target);
    if (k) return { kernel: k, selectedBy: 'symlink', why: `${link} points to ${target}`, boot: null };
  }
  const withImage = kernels.filter((k) => k.image !== null);
  const pool = withImage.length ? withImage : kernels;
  if (kernels.length === 1) return { kernel: kernels[0]!, selectedBy: 'only', why: 'the only kernel installed', boot: null };
  return { kernel: pool[0]!, selectedBy: 'newest', why: `the newest of ${kernels.length} kernels by version`, boot: null };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The initrd the boot entry loads, when it is not the kernel's own file
 * found by name (/boot/initrd.img-V): the entry's `initrd` files as the
 * view has them, concatenated in order as the kernel unpacks them (a
 * microcode cpio first, then the initramfs). Undefined: the kernel's own
 * (the entry loads that file, or a file the view does not have, which
 * the loader would not find either).
 */
function entryInitrd(os: OsView, k: KernelInstall, boot: DefaultBoot): InitrdSource | null | undefined {
  if (boot.uname !== undefined) return undefined;
  const paths: string[] = [];
  for (const f of boot.initrds) {
    const p = f.exists ? os.pathOf(f) : null;
    if (p === null) return undefined;
    paths.push(p);
  }
  const own = k.initrd === null ? null : realpathOrNull(os.fs, k.initrd);
  const real = paths.map((p) => realpathOrNull(os.fs, p));
  if (real.some((r) => r === null)) return undefined;
  if (real.length === 0) return k.initrd === null ? undefined : null;
  if (real.length === 1 && real[0] === own) return undefined;
  const sizes = real.map((r) => os.fs.stat(r!).size);
  return {
    path: paths.join(' + '),
    size: sizes.reduce((a, b) => a + b, 0),
    read: () => {
      const parts = real.map((r) => os.fs.readFile(r!, { maxBytes: MAX_INITRD_BYTES }));
      const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      return out;
    },
  };
}

// ---- per-kernel details, loaded lazily -------------------------------------------

export interface KernelDetails {
  config: KernelConfig | null;
  /** Why there is no usable config: a sentence, or null. */
  configMissing: string | null;
  /** Where the config came from: the config file, or the kernel image itself (CONFIG_IKCONFIG). */
  configFrom: 'file' | 'ikconfig' | null;
  modules: ModuleTree | null;
  image: KernelImageInfo | null;
}

/** `fs` is the OS view (GuestView.os.fs), where /boot and /usr on their own volumes are mounted. */
export function kernelDetails(fs: ReadOnlyFilesystem, k: KernelInstall, memo: Memo): KernelDetails {
  return memo.get(`rootfs.kernel-details:${k.version}`, () => {
    let config: KernelConfig | null = null;
    let configMissing: string | null = null;
    if (!k.config) {
      configMissing = `no configuration for kernel ${k.version}: looked for /boot/config-${k.version}${k.modulesDir ? ` and ${joinPath(k.modulesDir, 'config')}` : ''}`;
    } else {
      try {
        const text = new TextDecoder('utf-8', { fatal: false }).decode(fs.readFile(k.config, { maxBytes: 8 * 1024 * 1024 }));
        config = parseKernelConfig(text);
        if (!looksLikeKernelConfig(config)) {
          configMissing = `${k.config} is not a kernel configuration (${config.options.size} CONFIG_ lines)`;
          config = null;
        }
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        configMissing = `${k.config} cannot be read: ${e.message}`;
      }
    }
    let configFrom: KernelDetails['configFrom'] = config ? 'file' : null;
    if (!k.config && k.image) {
      const embedded = embeddedConfig(fs, k.image);
      if ('config' in embedded) {
        config = embedded.config;
        configFrom = 'ikconfig';
        configMissing = null;
      } else configMissing += `; ${embedded.why}`;
    }
    let image: KernelImageInfo | null = null;
    if (k.image) {
      try {
        const size = fs.stat(k.image).size;
        image = kernelImageInfo(fs.read(k.image, 0, Math.min(size, KERNEL_HEADER_BYTES)));
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
      }
    }
    return { config, configMissing, configFrom, modules: k.modulesDir ? openModuleTree(fs, k.modulesDir) : null, image };
  });
}

/** The configuration built into the kernel image (IKCONFIG), read within bounds, or why there is none. */
function embeddedConfig(fs: ReadOnlyFilesystem, path: string): { config: KernelConfig } | { why: string } {
  try {
    const size = fs.stat(path).size;
    if (size > MAX_KERNEL_FILE_BYTES) return { why: `${path} (${size} bytes) is larger than vmspec reads for an embedded configuration (${MAX_KERNEL_FILE_BYTES} bytes)` };
    const text = ikconfig(kernelPayload(fs.readFile(path, { maxBytes: MAX_KERNEL_FILE_BYTES }), path).image, path);
    if (text === null) return { why: `${path} has no embedded configuration (CONFIG_IKCONFIG)` };
    const config = parseKernelConfig(text);
    return looksLikeKernelConfig(config) ? { config } : { why: `the configuration embedded in ${path} is not a kernel configuration` };
  } catch (e) {
    if (e instanceof FsError || isReadError(e)) return { why: `the configuration embedded in ${path} cannot be read: ${e.message}` };
    throw e;
  }
}

export interface InitrdFacts {
  path: string;
  size: number;
  listing: InitrdListing;
  modules: Map<string, { path: string; name: string }>;
}

/** Biggest initrd read into memory (compressed). */
export const MAX_INITRD_BYTES = 1024 * 1024 * 1024;

/**
 * An initrd being listed: `read` settles once the whole file has been read,
 * `fed` once all of it has been handed to the decompressor (both never
 * reject; see InitrdListingJob), `facts` with the result.
 */
export interface InitrdJob {
  read: Promise<void>;
  fed: Promise<void>;
  facts: Promise<InitrdFacts | null>;
}

/**
 * The initrd that boots with the default kernel, listed (memoised as a
 * promise): a UKI's .initrd when the kernel is a UKI's (`dk.initrd`), else
 * the kernel's own file; null when there is none. Throws for damage or a
 * missing decompressor.
 */
export function defaultInitrdFacts(fs: ReadOnlyFilesystem, dk: DefaultKernel, memo: Memo): Promise<InitrdFacts | null> {
  return defaultInitrdJob(fs, dk, memo).facts;
}

/** defaultInitrdFacts, with the points where its reading and its handing over are done (for Probe.prepare). */
export function defaultInitrdJob(fs: ReadOnlyFilesystem, dk: DefaultKernel, memo: Memo): InitrdJob {
  const src = dk.initrd;
  if (src === undefined) return initrdJob(fs, dk.kernel, memo);
  return memo.get(`rootfs.initrd:${dk.kernel.version}:${src?.path ?? 'none'}`, (): InitrdJob => {
    if (!src) return { read: Promise.resolve(), fed: Promise.resolve(), facts: Promise.resolve(null) };
    let bytes: Uint8Array;
    try {
      if (src.size > MAX_INITRD_BYTES) throw new UnsupportedError(`${src.path}: an initrd of ${src.size} bytes is larger than vmspec reads (${MAX_INITRD_BYTES} bytes)`);
      bytes = src.read();
    } catch (e) {
      return { read: Promise.resolve(), fed: Promise.resolve(), facts: Promise.reject(e) };
    }
    // Read whole (a UKI's section): listed from memory, its decompression handed everything at once.
    const job = startInitrdListing(bytes, src.path);
    return { read: job.read, fed: job.fed, facts: job.listing.then((listing) => ({ path: src.path, size: src.size, listing, modules: initrdModules(listing, dk.kernel.version) })) };
  });
}

/** The kernel's initrd, listed (memoised as a promise); null when the kernel has none. Throws for damage or a missing decompressor. */
export function initrdFacts(fs: ReadOnlyFilesystem, k: KernelInstall, memo: Memo): Promise<InitrdFacts | null> {
  return initrdJob(fs, k, memo).facts;
}

/** initrdFacts, with the points where its reading and handing over are done. The file is read in parts (startInitrdListing). */
function initrdJob(fs: ReadOnlyFilesystem, k: KernelInstall, memo: Memo): InitrdJob {
  return memo.get(`rootfs.initrd:${k.version}`, (): InitrdJob => {
    const path = k.initrd;
    if (!path) return { read: Promise.resolve(), fed: Promise.resolve(), facts: Promise.resolve(null) };
    let size: number;
    try {
      size = fs.stat(path).size;
      if (size > MAX_INITRD_BYTES) throw new UnsupportedError(`${path}: an initrd of ${size} bytes is larger than vmspec reads (${MAX_INITRD_BYTES} bytes)`);
    } catch (e) {
      return { read: Promise.resolve(), fed: Promise.resolve(), facts: Promise.reject(unreadableInitrd(path, e)) };
    }
    const facts = (listing: InitrdListing): InitrdFacts => ({ path, size, listing, modules: initrdModules(listing, k.version) });
    const likely = adoptLikelyInitrd(memo, fs, path, size);
    if (likely) {
      // A failure is not adopted: the file is listed again as below, so that damage is reported as reading it in parts reports it.
      const listing = likely.job.listing.catch(() => startInitrdListing(initrdFile(fs, path, size), path).listing);
      return { read: likely.job.read, fed: likely.job.fed, facts: listing.then(facts) };
    }
    const job = startInitrdListing(initrdFile(fs, path, size), path);
    return { read: job.read, fed: job.fed, facts: job.listing.then(facts) };
  });
}

function unreadableInitrd(path: string, e: unknown): unknown {
  return e instanceof FsError ? new UnsupportedError(`${path} cannot be read: ${e.message}`) : e;
}

/** The initrd at `path` in `fs` (`size` bytes), read by range (into the caller's buffer when the filesystem can). */
function initrdFile(fs: ReadOnlyFilesystem, path: string, size: number): InitrdFile {
  const short = (offset: number, length: number, got: number): ParseError => new ParseError(path, offset, `${length} bytes asked at ${offset} of a ${size}-byte file, ${got} read`);
  const file: InitrdFile = {
    size,
    read: (offset, length) => {
      let bytes: Uint8Array;
      try {
        bytes = fs.read(path, offset, length);
      } catch (e) {
        throw unreadableInitrd(path, e);
      }
      if (bytes.length !== length) throw short(offset, length, bytes.length);
      return bytes;
    },
  };
  const into = fs.readInto?.bind(fs);
  if (into) {
    file.readInto = (offset, out) => {
      let n: number;
      try {
        n = into(path, offset, out);
      } catch (e) {
        throw unreadableInitrd(path, e);
      }
      if (n !== out.length) throw short(offset, out.length, n);
    };
  }
  return file;
}

/**
 * An initrd listing started before the boot chain was followed
 * (startLikelyInitrd): the file it reads, by the filesystem that holds it
 * and its canonical path there, and the name its kernel's install gives it.
 */
interface LikelyInitrd {
  fs: ReadOnlyFilesystem;
  realPath: string;
  path: string;
  size: number;
  job: InitrdListingJob;
  abort: AbortController;
  adopted: boolean;
}

const LIKELY_INITRD_KEY = 'rootfs.likely-initrd';

/**
 * Starts listing the initrd the image most likely boots before the boot
 * chain says which one it boots, so that its decompression (on the thread
 * pool) runs while the chain is followed: on a compressed qcow2 the chain
 * (GRUB's core image, its configuration files, the root's directories) is
 * some 30 ms of decompressed clusters, about as long as the gunzip of a
 * distro's initrd. The likely one is the newest kernel's by version: the
 * first entry, and so the default, of the menu GRUB's scripts generate on
 * a distro's image (which /vmlinuz need not point to). The file is read in
 * parts handed to the decompressor as they are read; the returned promise
 * settles once the last part is handed over (at once when nothing was
 * started), and the chain is best followed after it: following it gives
 * the event loop no turn in which a part could be handed over. The
 * listing of the same file adopts it (initrdJob); endLikelyInitrd stops it
 * when none did. Nothing starts once the guest view is assembled (the
 * chain is known), or when the root cannot be read (the view reports why).
 */
export function startLikelyInitrd(image: DiskImage, memo: Memo): Promise<void> {
  if (memo.has(GUEST_VIEW_KEY) || memo.has(LIKELY_INITRD_KEY)) return Promise.resolve();
  return memo.get(LIKELY_INITRD_KEY, () => likelyInitrd(image, memo))?.job.fed ?? Promise.resolve();
}

/** Stops the likely initrd's listing unless a listing of the same file adopted it. */
export function endLikelyInitrd(memo: Memo): void {
  const likely = memo.get<LikelyInitrd | null>(LIKELY_INITRD_KEY, () => null);
  if (likely && !likely.adopted) likely.abort.abort(new Error(`${likely.path} is not the initrd the image boots`));
}

function likelyInitrd(image: DiskImage, memo: Memo): LikelyInitrd | null {
  try {
    const rootfs = openRootfs(image, memo);
    if (!rootfs.root || rootfs.damaged) return null;
    const fs = rootfs.root.fs;
    // GRUB's generated menu lists the kernels newest first by version (10_linux): its first entry is the default.
    const k = listKernels(fs).find((x) => x.image !== null);
    if (!k?.initrd) return null;
    const realPath = fs.realpath(k.initrd);
    const size = fs.stat(realPath).size;
    if (size > MAX_INITRD_BYTES) return null;
    const abort = new AbortController();
    const job = startInitrdListing(initrdFile(fs, k.initrd, size), k.initrd, undefined, abort.signal);
    job.listing.catch(() => {}); // adopted, it is awaited there; else it is dropped
    return { fs, realPath, path: k.initrd, size, job, abort, adopted: false };
  } catch (e) {
    // The guest view meets the same failure and reports it.
    if (e instanceof FsError || e instanceof UnsupportedError || isReadError(e)) return null;
    throw e;
  }
}

/** The likely initrd's listing, when it reads the file `path` of `fs` names (`size` bytes) under the same name; it is then taken. */
function adoptLikelyInitrd(memo: Memo, fs: ReadOnlyFilesystem, path: string, size: number): LikelyInitrd | null {
  const likely = memo.get<LikelyInitrd | null>(LIKELY_INITRD_KEY, () => null);
  if (!likely || likely.adopted || likely.abort.signal.aborted || likely.path !== path || likely.size !== size) return null;
  const held = fs instanceof MountedFilesystem ? fs.locate(path) : { fs, path: fs.realpath(path) };
  if (held.fs !== likely.fs || held.path !== likely.realPath) return null;
  likely.adopted = true;
  return likely;
}

export { isReadError };
