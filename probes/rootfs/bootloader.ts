import { isReadError, ParseError, UnsupportedError } from '../../bytes/errors.js';
import type { DiskImage } from '../image/disk.js';
import { openEsp } from '../image/esp.js';
import { openFat } from '../image/fat.js';
import { checkRange, MAX_READ, type ByteSource } from '../../bytes/byte-source.js';
import { globToRegExp } from '../glob.js';
import { partitionSource, readPartitionTable, type Partition } from '../image/partition-table.js';
import { readPe, resolvedSectionNames, type PeReading } from '../image/pe.js';
import { readUki, type UkiFile, type UkiReading } from '../efi/uki.js';
import type { Memo } from '../types.js';
import { parseBlsEntry, parseLoaderConf } from './bls.js';
import { readGrubCore, type GrubCore } from './grub-core.js';
import { GrubEvaluator, walkMenu, type BootFile, type BootSpec, type GrubEvaluation, type GrubVolume, type GrubWorld } from './grub-eval.js';
import { compareVersions } from './kernels.js';
import { openRootfs, type ReadableVolume, type VolumeFilesystem } from './rootfs.js';
import { grubLvmName } from './lvm-volumes.js';
import { fatVolume, fsVolume, memdiskVolume } from './volumes.js';

/**
 * Following the removable-media boot path (UEFI 2.6 §3.5.1.1: with no boot
 * variables the firmware starts \EFI\BOOT\BOOTAA64.EFI) through the files
 * on the image alone: what the loader is (GRUB, shim, systemd-boot, a
 * unified kernel image or a bare EFI-stub kernel), which configuration it
 * reads, and which kernel its default entry loads. This is FW-6's question
 * ("does it boot without a pre-configured UEFI environment?") and also how
 * the default kernel is chosen for the guest clauses.
 */

export const REMOVABLE_PATH = '\\EFI\\BOOT\\BOOTAA64.EFI';

export type LoaderKind = 'grub' | 'shim' | 'systemd-boot' | 'uki' | 'linux' | 'unknown';

export interface DefaultBoot {
  /** Menu entry title, or a description for direct boots. */
  title: string;
  /** Where it was defined: "(hd0,gpt2)/boot/grub/grub.cfg:118", a BLS entry file... */
  source: string;
  /** How the entry was chosen: "default=0", "saved_entry=…", "loader.conf default …", "first entry"... */
  chosenBy: string;
  linux: (BootFile & { args: string[] }) | null;
  initrds: BootFile[];
  /** A unified kernel image's .uname: the release of the kernel inside it. */
  uname?: string | null;
  /** A unified kernel image's .initrd: where it lies in the UKI file on the ESP (null: the UKI has none). */
  ukiInitrd?: { espPath: string; offset: number; size: number } | null;
}

export interface BootChain {
  espFound: boolean;
  espPartition: number | null;
  loaderFound: boolean;
  loaderStoredPath: string | null;
  loaderKind: LoaderKind | null;
  loaderMachine: string | null;
  /** SBAT component names of the loader (.sbat section), e.g. ["grub", "grub.debian"]. */
  sbat: string[];
  grubPrefix: string | null;
  grubEmbeddedConfig: boolean;
  /** Each step followed, in words, for the report. */
  steps: string[];
  /** Configuration files read ("(hd0,gpt1)/EFI/debian/grub.cfg"). */
  configFiles: string[];
  /** Menu entries found (titles, nesting shown with " > "). */
  entries: string[];
  defaultBoot: DefaultBoot | null;
  /** The default boot's kernel file exists on the image. */
  kernelReached: boolean;
  /** Why the chain cannot be followed statically (an unknown loader, a chainloader...), or null. */
  unfollowable: string | null;
  problems: string[];
}

const MAX_LOADER_BYTES = Math.min(MAX_READ, 64 * 1024 * 1024);

function sbatComponents(file: ByteSource, pe: PeReading): string[] {
  const s = pe.sections.find((x) => x.name === '.sbat');
  if (!s || s.pointerToRawData >= file.size) return [];
  const length = Math.min(file.size, s.pointerToRawData + Math.min(s.sizeOfRawData, 65536)) - s.pointerToRawData;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(file.read(s.pointerToRawData, length));
  return text.replace(/\0[\s\S]*$/, '').split('\n').map((l) => l.split(',')[0]!.trim()).filter((c) => c && c !== 'sbat');
}

/**
 * systemd's own signature: "#### LoaderInfo: systemd-boot VERSION ####" (or
 * systemd-stub), in a `.sdmagic` section where the build keeps sections, and
 * as plain bytes where it does not (Debian's arm64 build has two sections).
 */
function systemdLoaderInfo(bytes: Uint8Array): 'systemd-boot' | 'systemd-stub' | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const at = b.indexOf('#### LoaderInfo: systemd-', 0, 'latin1');
  if (at < 0) return null;
  const what = b.toString('latin1', at + 17, Math.min(b.length, at + 30));
  return what.startsWith('systemd-boot ') ? 'systemd-boot' : what.startsWith('systemd-stub ') ? 'systemd-stub' : null;
}

/**
 * shim's helpers (fbaa64.efi, mmaa64.efi) carry shim's SBAT too; only shim
 * itself carries the vendor certificate (.vendor_cert, always linked in by
 * shim's Makefile) and the SBAT level (.sbatlevel). Both names are longer
 * than 8 bytes, so they are read from the COFF string table.
 */
function isShim(names: Set<string>): boolean {
  return names.has('.vendor_cert') || names.has('.sbatlevel');
}

/** shim's SBAT without shim's sections: its fallback or MokManager, which boot no kernel themselves. */
function isShimHelper(names: Set<string>, sbat: string[]): boolean {
  return sbat.includes('shim') && !isShim(names);
}

/** What kind of EFI binary a loader is; `file` is the whole file (in memory or as ranges: only systemd-boot's signature needs all of it). */
export function loaderKindOf(file: Uint8Array | ByteSource, pe: PeReading, sbat: string[]): LoaderKind {
  const names = new Set(resolvedSectionNames(file, pe));
  if (names.has('.linux')) return 'uki';
  if (isShim(names)) return 'shim';
  if (isShimHelper(names, sbat)) return 'unknown';
  if (names.has('mods') || sbat.includes('grub')) return 'grub';
  const bytes = file instanceof Uint8Array ? file : file.read(0, file.size);
  const info = systemdLoaderInfo(bytes);
  // A systemd-stub without an embedded kernel (.linux) boots nothing: not a loader to follow.
  if (info === 'systemd-stub') return 'unknown';
  if (info === 'systemd-boot' || names.has('.sdmagic') || sbat.includes('systemd-boot') || sbat.includes('systemd')) return 'systemd-boot';
  // arm64 Image header: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst).
  if (bytes[0x38] === 0x41 && bytes[0x39] === 0x52 && bytes[0x3a] === 0x4d && bytes[0x3b] === 0x64) return 'linux';
  return 'unknown';
}

function deviceName(table: { scheme: string }, p: Partition): string {
  return `hd0,${table.scheme === 'mbr' ? 'msdos' : 'gpt'}${p.number}`;
}

/** Every volume GRUB could see on this disk: the ESP (and other FAT partitions) and every readable ext or xfs filesystem. */
export function grubWorld(image: DiskImage, memo: Memo): GrubWorld {
  return memo.get('rootfs.grub-world', () => {
    const table = readPartitionTable(image, memo);
    const volumes: GrubVolume[] = [];
    const esp = openEsp(image, memo);
    const roots = openRootfs(image, memo);
    for (const p of table.partitions) {
      const readable = roots.readableVolumes.find((v) => v.partition?.number === p.number && !v.logicalVolume);
      if (readable) {
        const fs = grubReads(readable);
        if (fs) volumes.push(fsVolume(deviceName(table, p), p.number, fs));
        continue;
      }
      if (esp.partition?.number === p.number) {
        if (esp.volume) volumes.push(fatVolume(deviceName(table, p), p.number, esp.volume));
        continue;
      }
      // Other FAT partitions (a separate /boot, XBOOTLDR) are looked at too.
      try {
        const src = partitionSource(image.disk, p);
        const head = src.size >= 512 ? src.read(0, 512) : null;
        if (head && head[510] === 0x55 && head[511] === 0xaa && (head[0] === 0xeb || head[0] === 0xe9)) {
          volumes.push(fatVolume(deviceName(table, p), p.number, openFat(src)));
        }
      } catch (e) {
        if (!isReadError(e)) throw e;
      }
    }
    // LVM2 logical volumes, as GRUB's lvm module names them; `partition` is their first PV's.
    for (const v of roots.readableVolumes) {
      const fs = grubReads(v);
      if (v.logicalVolume && v.partition && fs) volumes.push(fsVolume(grubLvmName(v.logicalVolume), v.partition.number, fs));
    }
    const whole = roots.readableVolumes.find((v) => v.partition === null);
    const wholeFs = whole ? grubReads(whole) : null;
    if (wholeFs) volumes.push(fsVolume('hd0', null, wholeFs));
    return { volumes };
  });
}

function summariseEntries(ev: GrubEvaluation): string[] {
  const out: string[] = [];
  const visit = (es: typeof ev.menu, pre: string): void => {
    for (const e of es) {
      out.push(`${pre}${e.title}${e.submenu ? ' (submenu)' : ''}`);
      visit(e.children, `${pre}${e.title} > `);
    }
  };
  visit(ev.menu, '');
  return out.slice(0, 200);
}

function grubDefault(ev: GrubEvaluation): DefaultBoot | null {
  if (ev.direct) {
    return { title: '(linux and boot outside any menu entry)', source: ev.files[ev.files.length - 1] ?? '', chosenBy: 'top-level boot command', linux: ev.direct.linux, initrds: ev.direct.initrds };
  }
  const e = ev.defaultEntry;
  if (!e) return null;
  const spec = ev.defaultSpec;
  const chosenBy = spec === null || spec === '' ? 'first entry (no default set)' : ev.defaultFellBack ? `default="${spec}" names no entry, so the first` : `default="${spec}"`;
  const boot: BootSpec = e.boot ?? { linux: null, initrds: [], chainloader: null };
  const all = walkMenu(ev.menu);
  const parentTitles = e.path.includes('>') ? e.path.split('>').slice(0, -1).map((_, i, arr) => all.find((x) => x.path === arr.slice(0, i + 1).join('>'))?.title ?? '?') : [];
  return { title: [...parentTitles, e.title].join(' > '), source: e.source, chosenBy, linux: boot.linux, initrds: boot.initrds };
}

/** Runs GRUB as if started from `loaderPath` on the ESP volume `esp`. */
function followGrub(ev: GrubEvaluator, core: GrubCore | null, espName: string, loaderDir: string): GrubEvaluation {
  const vars = new Map<string, string>([
    ['grub_platform', 'efi'], ['grub_cpu', 'arm64'],
    ['feature_menuentry_id', 'y'], ['feature_default_font_path', 'y'], ['feature_all_video_module', 'y'],
    ['feature_platform_search_hint', 'y'], ['feature_timeout_style', 'y'], ['feature_200_final', 'y'],
    ['cmdpath', `(${espName})${loaderDir}`],
  ]);
  let prefix = core?.prefix ?? '';
  // No device in the prefix: GRUB uses the device it was loaded from; an empty prefix is the loader's directory.
  if (prefix === '') prefix = `(${espName})${loaderDir}`;
  else if (!prefix.startsWith('(')) prefix = `(${espName})${prefix}`;
  vars.set('prefix', prefix);
  vars.set('root', /^\(([^)]*)\)/.exec(prefix)?.[1] ?? espName);
  if (core?.config) return ev.runEmbedded(core.config, '(embedded config)', vars);
  return ev.run(`${prefix}/grub.cfg`, vars);
}

/** Follows \EFI\BOOT\BOOTAA64.EFI on the image's ESP. Damage is a problem in the result, never a throw (unless the disk is unreadable). */
export function followRemovablePath(image: DiskImage, memo: Memo): BootChain {
  return memo.get('rootfs.boot-chain', () => {
    const chain: BootChain = {
      espFound: false, espPartition: null, loaderFound: false, loaderStoredPath: null, loaderKind: null, loaderMachine: null, sbat: [],
      grubPrefix: null, grubEmbeddedConfig: false, steps: [], configFiles: [], entries: [], defaultBoot: null, kernelReached: false, unfollowable: null, problems: [],
    };
    const esp = openEsp(image, memo);
    if (!esp.partition) {
      chain.problems.push('no EFI System Partition');
      return chain;
    }
    chain.espFound = true;
    chain.espPartition = esp.partition.number;
    if (!esp.volume) {
      chain.problems.push(`the ESP is not a readable FAT volume: ${esp.error ?? 'unknown reason'}`);
      return chain;
    }
    const world = grubWorld(image, memo);
    const table = readPartitionTable(image, memo);
    const espName = deviceName(table, esp.partition);
    const espVol = world.volumes.find((v) => v.partition === esp.partition!.number)!;
    try {
      follow(chain, espVol, espName, world, REMOVABLE_PATH, 0);
    } catch (e) {
      if (!isReadError(e)) throw e;
      chain.problems.push(e.message);
    }
    chain.kernelReached = chain.kernelReached || (chain.defaultBoot?.linux?.exists ?? false);
    return chain;
  });
}

/**
 * A loader on the ESP as ranges, read only where looked at (a GRUB image
 * is mostly module bodies and a memdisk nothing here needs), or null when
 * absent or unloadable. Firmware loads the whole file, so its cluster
 * chain must reach the end, as reading it whole required.
 */
function openLoader(vol: GrubVolume, path: string): ByteSource | null {
  const fileSize = vol.size(path);
  if (fileSize === null) return null;
  const size = Math.min(fileSize, MAX_LOADER_BYTES);
  if (size > 0 && !vol.readAt(path, size - 1, 1)) return null;
  return {
    size,
    name: path,
    read(offset, length) {
      checkRange(this, offset, length);
      const got = vol.readAt(path, offset, length);
      if (!got) throw new ParseError(path, offset, `${length} bytes at ${offset} cannot be read`);
      return got;
    },
  };
}

/** Loaders started by loaders (shim → fallback → shim → GRUB is four): more is a loop. */
const MAX_CHAIN = 6;

function follow(chain: BootChain, esp: GrubVolume, espName: string, world: GrubWorld, loaderPath: string, depth: number): void {
  const fwd = loaderPath.replace(/\\/g, '/');
  if (depth >= MAX_CHAIN) {
    chain.steps.push(`${loaderPath}: not followed, ${MAX_CHAIN} loaders already chained`);
    chain.unfollowable = `the loaders on the ESP start each other in a loop (${MAX_CHAIN} deep at ${loaderPath})`;
    return;
  }
  const file = openLoader(esp, fwd);
  if (depth === 0) {
    chain.loaderFound = file !== null;
    if (!file) {
      chain.steps.push(`${loaderPath}: not found, so firmware without boot variables has nothing to start`);
      return;
    }
    chain.loaderStoredPath = loaderPath;
  }
  if (!file) {
    chain.steps.push(`${loaderPath}: not found`);
    return;
  }
  const pe = readPe(file.read(0, Math.min(file.size, 64 * 1024)), file.size);
  const sbat = pe.valid ? sbatComponents(file, pe) : [];
  const kind: LoaderKind = pe.valid ? loaderKindOf(file, pe, sbat) : 'unknown';
  if (depth === 0) {
    chain.loaderKind = kind;
    chain.loaderMachine = pe.machineName;
    chain.sbat = sbat;
  }
  const dir = fwd.slice(0, fwd.lastIndexOf('/')) || '/';
  switch (kind) {
    case 'grub': {
      const core = readGrubCore(file, pe);
      if (depth === 0 || chain.grubPrefix === null) {
        chain.grubPrefix = core?.prefix ?? null;
        chain.grubEmbeddedConfig = Boolean(core?.config);
      }
      chain.steps.push(`${loaderPath}: GRUB (prefix ${core?.prefix ? `"${core.prefix}"` : 'none'}${core?.config ? ', embedded config' : ''}${core?.memdisk ? ', memdisk' : ''})`);
      const vols = [...world.volumes];
      if (core?.memdisk) {
        const md = memdiskVolume(core.memdisk);
        if (md) vols.push(md);
        else chain.problems.push(`${loaderPath}: its memdisk is neither FAT nor tar`);
      }
      const ev = new GrubEvaluator({ volumes: vols });
      const r = followGrub(ev, core, espName, dir);
      chain.configFiles.push(...r.files);
      chain.problems.push(...r.problems);
      chain.entries = summariseEntries(r);
      for (const f of r.files) chain.steps.push(`read ${f}`);
      chain.defaultBoot = grubDefault(r);
      const lin = chain.defaultBoot?.linux;
      if (chain.defaultBoot) {
        chain.steps.push(`default entry "${chain.defaultBoot.title}" (${chain.defaultBoot.chosenBy}) loads ${lin ? `(${lin.device ?? '?'})${lin.path}${lin.exists ? '' : ' — not found'}` : 'no kernel'}`);
      } else chain.steps.push('no menu entry and no direct boot: GRUB stops at its prompt');
      const defEntry = r.defaultEntry;
      if (defEntry?.boot?.chainloader && !defEntry.boot.linux) chain.unfollowable = `the default entry chain-loads ${defEntry.boot.chainloader.path}, which is not followed`;
      return;
    }
    case 'shim': {
      chain.steps.push(`${loaderPath}: shim`);
      followShim(chain, esp, espName, world, fwd, dir, depth);
      return;
    }
    case 'systemd-boot': {
      chain.steps.push(`${loaderPath}: systemd-boot`);
      const conf = esp.read('/loader/loader.conf', 65536);
      const pattern = conf ? parseLoaderConf(new TextDecoder().decode(conf)).default : null;
      const names = (esp.list('/loader/entries') ?? []).filter((n) => n.toLowerCase().endsWith('.conf')).sort((a, b) => compareVersions(b, a));
      const ukis = (esp.list('/EFI/Linux') ?? []).filter((n) => n.toLowerCase().endsWith('.efi'));
      const globRe = pattern ? globToRegExp(pattern) : null;
      const pick = names.find((n) => globRe?.test(n) || globRe?.test(n.slice(0, -5))) ?? names[0];
      if (pick) {
        const text = new TextDecoder().decode(esp.read(`/loader/entries/${pick}`, 65536) ?? new Uint8Array(0));
        const e = parseBlsEntry(text);
        const file = (p: string): BootFile => ({ path: p, device: espName, partition: esp.partition, exists: esp.kind(p) === 'file' });
        chain.configFiles.push(`(${espName})/loader/entries/${pick}`);
        chain.entries = names;
        chain.defaultBoot = {
          title: e.title ?? pick, source: `(${espName})/loader/entries/${pick}`, chosenBy: pattern ? `loader.conf default ${pattern}` : 'first entry by version',
          linux: e.linux ? { ...file(e.linux), args: e.options.join(' ').split(/\s+/).filter(Boolean) } : null,
          initrds: e.initrd.map(file),
        };
        if (!e.linux && e.efi) chain.kernelReached = esp.kind(e.efi) === 'file';
      } else if (ukis.length) {
        chain.entries = ukis.map((u) => `/EFI/Linux/${u}`);
        chain.steps.push(`unified kernel images in /EFI/Linux: ${ukis.join(', ')}`);
        chain.kernelReached = true;
        // Type #2 entries: without a loader.conf default, systemd-boot boots the newest by version.
        const newest = ukis.slice().sort((a, b) => compareVersions(b, a))[0]!;
        const path = `/EFI/Linux/${newest}`;
        // Headers and the small sections only: a UKI is mostly its kernel, which nothing here needs.
        const size = esp.size(path);
        const head = size === null ? null : esp.read(path, 64 * 1024);
        if (size !== null && head) {
          const upe = readPe(head, size);
          const file: UkiFile = {
            size,
            read: (offset, length) => {
              const got = esp.readAt(path, offset, length);
              if (!got) throw new ParseError(path, offset, `${length} bytes at ${offset} cannot be read`);
              return got;
            },
          };
          if (upe.valid && upe.sections.some((x) => x.name === '.linux')) chain.defaultBoot = ukiBoot(file, upe, path, espName, esp.partition, chain, 'the newest unified kernel image in /EFI/Linux');
        }
      } else chain.steps.push('no /loader/entries/*.conf and no /EFI/Linux/*.efi: nothing to boot');
      return;
    }
    case 'uki':
      chain.steps.push(`${loaderPath}: a unified kernel image (kernel, initrd and command line in one EFI binary)`);
      chain.kernelReached = true;
      chain.defaultBoot = ukiBoot(file, pe, fwd, espName, esp.partition, chain, 'the removable path starts it');
      return;
    case 'linux':
      chain.steps.push(`${loaderPath}: a Linux kernel with its EFI stub, started directly`);
      chain.kernelReached = true;
      return;
    default:
      if (pe.valid && isShimHelper(new Set(resolvedSectionNames(file, pe)), sbat)) {
        chain.steps.push(`${loaderPath}: one of shim's helpers (shim's SBAT without its .vendor_cert): its fallback or MokManager, not shim`);
        chain.unfollowable = `${loaderPath} is shim's fallback or MokManager, not a boot loader: what it starts depends on boot variables it writes`;
        return;
      }
      chain.steps.push(`${loaderPath}: ${pe.valid ? `a ${pe.machineName ?? 'PE'} EFI binary vmspec does not recognise` : 'not a PE/COFF image'}`);
      chain.unfollowable = `${loaderPath} is not GRUB, shim, systemd-boot or a Linux kernel: what it loads cannot be followed statically`;
  }
}

/** shim's fallback (FALLBACK in shim's Makefile) and second stage (DEFAULT_LOADER) on arm64. */
const SHIM_FALLBACK = 'fbaa64.efi';
const SHIM_SECOND_STAGE = 'grubaa64.efi';
/** What fallback.c looks for in each \EFI\<vendor>\ directory, the architecture's name first. */
const FALLBACK_CSVS = ['BOOTAA64.CSV', 'BOOT.CSV'];

/**
 * What shim starts (rhboot/shim shim.c): when it was itself started as
 * \EFI\BOOT\BOOT*.EFI and \EFI\BOOT\fbaa64.efi exists
 * (should_use_fallback), the fallback, which (fallback.c) reads the first
 * \EFI\<vendor>\BOOTAA64.CSV (else BOOT.CSV) of every directory but
 * BOOT, registers its lines as boot entries and starts the first; else
 * DEFAULT_LOADER, grubaa64.efi in shim's own directory. Signatures are not
 * checked here: a static reading cannot know the machine's db and MOK list.
 */
function followShim(chain: BootChain, esp: GrubVolume, espName: string, world: GrubWorld, fwd: string, dir: string, depth: number): void {
  const fallback = `/EFI/BOOT/${SHIM_FALLBACK}`;
  const second = `${dir === '/' ? '' : dir}/${SHIM_SECOND_STAGE}`;
  const startedAsRemovable = /^\/EFI\/BOOT\/BOOT[^/]*\.EFI$/i.test(fwd);
  if (startedAsRemovable && esp.kind(fallback) === 'file') {
    chain.steps.push(`shim was started as ${fwd} and ${fallback} exists: shim starts its fallback, which boots what a \\EFI\\<vendor>\\BOOTAA64.CSV names`);
    for (const vendor of esp.list('/EFI') ?? []) {
      if (vendor.toUpperCase() === 'BOOT' || esp.kind(`/EFI/${vendor}`) !== 'dir') continue;
      const csvName = FALLBACK_CSVS.find((c) => esp.kind(`/EFI/${vendor}/${c}`) === 'file');
      if (!csvName) continue;
      const csvBytes = esp.read(`/EFI/${vendor}/${csvName}`, 4096);
      const target = csvBytes ? firstCsvLoader(csvBytes) : null;
      if (!target) {
        chain.steps.push(`/EFI/${vendor}/${csvName} names no loader`);
        continue;
      }
      chain.steps.push(`/EFI/${vendor}/${csvName} names ${target}`);
      follow(chain, esp, espName, world, `\\EFI\\${vendor}\\${target.replace(/\//g, '\\')}`, depth + 1);
      return;
    }
    chain.steps.push(`no \\EFI\\<vendor>\\${FALLBACK_CSVS.join(' or ')} names a loader: the fallback has nothing to start`);
    return;
  }
  if (esp.kind(second) === 'file') {
    follow(chain, esp, espName, world, second.replace(/\//g, '\\'), depth + 1);
    return;
  }
  chain.steps.push(`${second} not found${startedAsRemovable ? ` and no ${fallback}` : ''}: shim has nothing to start`);
}

/** The loader file of BOOTAA64.CSV's first line ("file,label,options,description"), without path separators that climb. */
function firstCsvLoader(b: Uint8Array): string | null {
  for (const line of decodeCsv(b).split(/\r?\n/)) {
    const file = line.split(',')[0]?.trim();
    if (!file) continue;
    if (file.split(/[\\/]/).includes('..')) return null;
    return file.replace(/^[\\/]+/, '');
  }
  return null;
}

/** A UKI as the default boot: its .cmdline, its kernel (.linux) and initrd (.initrd) inside the file, .uname and .osrel. */
function ukiBoot(ukiFile: UkiFile, pe: PeReading, path: string, espName: string, espPartition: number | null, chain: BootChain, chosenBy: string): DefaultBoot | null {
  let uki: UkiReading;
  try {
    uki = readUki(ukiFile, pe, path);
  } catch (e) {
    if (!isReadError(e)) throw e;
    chain.problems.push(e.message);
    return null;
  }
  const file = (section: string): BootFile => ({ path: `${path}:${section}`, device: espName, partition: espPartition, exists: true });
  chain.steps.push(`${path}: .cmdline "${uki.cmdline ?? ''}"${uki.uname ? `, .uname ${uki.uname}` : ''}${uki.initrd ? `, .initrd of ${uki.initrd.size} bytes` : ''}`);
  return {
    title: uki.osRelease?.PRETTY_NAME ?? uki.uname ?? path,
    source: `(${espName})${path}`,
    chosenBy,
    linux: { ...file('.linux'), args: (uki.cmdline ?? '').split(/\s+/).filter(Boolean) },
    initrds: uki.initrd ? [file('.initrd')] : [],
    uname: uki.uname,
    ukiInitrd: uki.initrd ? { espPath: path, ...uki.initrd } : null,
  };
}

/** Biggest UKI .initrd read. */
const MAX_UKI_INITRD = MAX_LOADER_BYTES;

/** The bytes of a UKI's .initrd, read from the ESP within its section's bounds. Throws a read error when the ESP's FAT is damaged. */
export function readUkiInitrd(image: DiskImage, memo: Memo, at: NonNullable<DefaultBoot['ukiInitrd']>): Uint8Array {
  const esp = openEsp(image, memo);
  if (!esp.volume) throw new UnsupportedError(`${at.espPath}: the ESP is not readable (${esp.error ?? 'no ESP'})`);
  if (at.size > MAX_UKI_INITRD) throw new UnsupportedError(`${at.espPath}: a .initrd of ${at.size} bytes is more than vmspec reads of an initrd (${MAX_UKI_INITRD} bytes)`);
  const node = esp.volume.lookup(at.espPath);
  if (!node?.entry || node.kind !== 'file') throw new UnsupportedError(`${at.espPath}: the UKI is no longer found on the ESP`);
  if (at.offset + at.size > node.entry.size) throw new ParseError(`${at.espPath}: section .initrd`, at.offset, `${at.size} bytes at ${at.offset} run past the end of the ${node.entry.size}-byte file`);
  // The section alone, not the kernel before it.
  return esp.volume.readFileRange(node.entry, at.offset, at.size);
}

function decodeCsv(b: Uint8Array): string {
  // BOOTAA64.CSV is UCS-2 (with a BOM) as shim writes it; plain ASCII is accepted too.
  if ((b[0] === 0xff && b[1] === 0xfe) || (b.length > 1 && b[1] === 0)) return new TextDecoder('utf-16le').decode(b).replace(/^\ufeff/, '');
  return new TextDecoder().decode(b);
}

/**
 * The root's own /boot/grub/grub.cfg as GRUB reads it with the root as its
 * device: what the installed system considers its boot menu. Used when the
 * ESP chain does not lead to the root.
 */
export function rootGrubConfig(image: DiskImage, memo: Memo): GrubEvaluation | null {
  return memo.get('rootfs.root-grub', () => {
    const roots = openRootfs(image, memo);
    const root = roots.root;
    if (!root) return null;
    const world = grubWorld(image, memo);
    const lvName = root.logicalVolume ? grubLvmName(root.logicalVolume) : null;
    const vol = world.volumes.find((v) => (lvName ? v.name === lvName : root.partition ? v.partition === root.partition.number : v.name === 'hd0'));
    if (!vol) return null;
    for (const cfg of ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg']) {
      if (vol.kind(cfg) !== 'file') continue;
      const prefix = `(${vol.name})${cfg.slice(0, cfg.lastIndexOf('/'))}`;
      const ev = new GrubEvaluator(world);
      return ev.run(`${prefix}/grub.cfg`, new Map([['root', vol.name], ['prefix', prefix], ['grub_platform', 'efi'], ['grub_cpu', 'arm64'], ['feature_menuentry_id', 'y']]));
    }
    return null;
  });
}

export { grubDefault };

/** What GRUB reads of a volume: its own view where it differs (an ext4 journal GRUB does not replay), else Linux's. */
function grubReads(v: ReadableVolume): VolumeFilesystem | null {
  return v.grubFs === undefined ? v.fs : v.grubFs;
}
