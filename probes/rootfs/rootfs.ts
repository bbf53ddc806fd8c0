import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { detectFilesystem, type FsKind } from '../fs/detect.js';
import { openBtrfs, type BtrfsFilesystem } from '../fs/btrfs.js';
import { openExt4, type Ext4Filesystem } from '../fs/ext4.js';
import { FsError, type ReadOnlyFilesystem } from '../fs/filesystem.js';
import { openXfs, type XfsFilesystem } from '../fs/xfs.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import type { DiskImage } from '../image/disk.js';
import { isEspPartition } from '../image/esp.js';
import { TYPE_GUID } from '../image/partition-types.js';
import { partitionSource, readPartitionTable, type Partition } from '../image/partition-table.js';
import type { Memo } from '../types.js';

import type { LogicalVolume } from '../volume/lvm.js';
import { BOOT_TO_JUDGE, lvmCandidates, type PvCandidates } from './lvm-volumes.js';
/**
 * Finding the image's root filesystem without mounting it. Candidates are
 * every partition that is not firmware plumbing (ESP, BIOS boot, swap,
 * Microsoft reserved), the Discoverable Partitions Specification's
 * "Linux root (ARM64)" type first; each is named by its superblock magic
 * (probes/fs/detect.ts); the first ext2/3/4, xfs or btrfs filesystem that looks
 * like a root (it has /etc, and /usr or /bin) is the root. A disk without a
 * partition table is tried as one filesystem.
 *
 * An LVM2 physical volume's linear and striped logical volumes are
 * candidates too (probes/rootfs/lvm-volumes.ts). Filesystems vmspec does not
 * read are reported with the reason: LUKS volumes and LVs of other segment
 * types (what is inside is not reached) and squashfs (no reader yet).
 *
 * On btrfs the root is a subvolume: the default one when it looks like a
 * root, else the first of the distributions' conventional names that does
 * (openBtrfsVolume).
 */

export interface ScannedPartition {
  /** GPT entry number or MBR slot; null for a whole disk without a partition table. */
  number: number | null;
  typeName: string | null;
  /** Filesystem by magic (blkid's TYPE names), null when unrecognised. */
  filesystem: FsKind | null;
  /** Why it is not the root (or null for the root). */
  note: string | null;
  /** `VG/LV` for a logical volume found on the LVM2 physical volume `number`; null for the partition itself. */
  logicalVolume: string | null;
}

/** Filesystems vmspec reads, by their blkid names. */
export type ReadableKind = 'ext2' | 'ext3' | 'ext4' | 'xfs' | 'btrfs';
/** A filesystem vmspec reads: the ReadOnlyFilesystem plus the identity GRUB's `search` and the facts use. */
export type VolumeFilesystem = Ext4Filesystem | XfsFilesystem | BtrfsFilesystem;

export interface RootHandle {
  /** The partition (for a logical volume: the partition of its first PV). */
  partition: Partition | null;
  fs: VolumeFilesystem;
  filesystem: ReadableKind;
  /** The LVM2 logical volume holding it, or null. */
  logicalVolume: LogicalVolume | null;
  /** The volume's bytes (to open another btrfs subvolume of it). */
  source: ByteSource;
}

/** A volume vmspec reads: where it is, its bytes, and its filesystem as GRUB sees it (btrfs: the default subvolume). */
export interface ReadableVolume {
  partition: Partition | null;
  fs: VolumeFilesystem;
  /**
   * The filesystem as GRUB reads it, where that differs from `fs`: an ext4
   * whose journal vmspec replayed for Linux's view is read unreplayed by
   * GRUB (grub-core/fs/ext2.c ignores needs_recovery), and so is an xfs
   * whose log was replayed (grub-core/fs/xfs.c reads no log); null when GRUB could
   * not read that unreplayed state at all.
   */
  grubFs?: VolumeFilesystem | null;
  logicalVolume: LogicalVolume | null;
  source: ByteSource;
  filesystem: ReadableKind;
}

export interface RootfsHandle {
  scanned: ScannedPartition[];
  root: RootHandle | null;
  /** Why there is no readable root (a sentence); null when the root was read. */
  unreadable: string | null;
  /** A readable filesystem that should be the root is damaged: probes report this as an error, not a skip. */
  damaged: string | null;
  /** Every readable filesystem (ext2/3/4, xfs, btrfs, also on LVM) by partition number (GRUB's `search` looks across all of them); btrfs as GRUB sees it, its default subvolume. */
  readableVolumes: ReadableVolume[];
}

export const ROOTFS_MEMO_KEY = 'rootfs.discovery';

/** Partition types that never hold the OS's root. */
const NOT_ROOT_TYPES = new Set<string>([
  TYPE_GUID.esp, TYPE_GUID.biosBoot, TYPE_GUID.linuxSwap,
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE', // Microsoft reserved
  '024DEE41-33E7-11D3-9D69-0008C781F39F', // legacy MBR partition
]);
/** MBR OSTypes that never hold the root: extended, swap, ESP. */
const NOT_ROOT_MBR = new Set(['MBR 0x05', 'MBR 0x0f', 'MBR 0x85', 'MBR 0x82', 'MBR 0xef']);

/** Why a partition is not read, kept short: it ends up in one-line skip messages. */
const WHY: Partial<Record<FsKind, string>> = {
  LVM2_member: 'is an LVM2 physical volume (logical volumes are read only on a partitioned disk)',
  crypto_LUKS: 'is LUKS-encrypted (no key to read it)',
  squashfs: 'is squashfs (no squashfs reader yet)',
  vfat: 'is a FAT filesystem',
  swap: 'is swap space',
  jbd: 'is an external ext4 journal',
};

function describe(p: Partition | null): string {
  if (!p) return 'the whole disk';
  return `partition ${p.number}${p.typeName ? ` (${p.typeName})` : ''}`;
}

/** What a root filesystem has: /etc, and /usr or /bin. */
export function looksLikeRoot(fs: ReadOnlyFilesystem): boolean {
  const isDir = (path: string): boolean => {
    try {
      return fs.stat(path).type === 'directory';
    } catch (e) {
      if (e instanceof FsError) return false;
      throw e;
    }
  };
  return isDir('/etc') && (isDir('/usr') || isDir('/bin'));
}

/** The image's root filesystem, found once per run. Throws only when the disk itself cannot be read. */
export function openRootfs(image: DiskImage, memo: Memo): RootfsHandle {
  return memo.get(ROOTFS_MEMO_KEY, () => findRoot(image, memo));
}

function findRoot(image: DiskImage, memo: Memo): RootfsHandle {
  const table = readPartitionTable(image, memo);
  const scanned: ScannedPartition[] = [];
  const readableVolumes: RootfsHandle['readableVolumes'] = [];
  const candidates: (Partition | null)[] = table.scheme === 'none'
    ? [null]
    : table.partitions.filter((p) => !isEspPartition(p) && !NOT_ROOT_TYPES.has(p.typeGuid) && !NOT_ROOT_MBR.has(p.typeName ?? ''));
  // Linux root (ARM64) first, then table order (stable sort).
  candidates.sort((a, b) => Number(b?.typeGuid === TYPE_GUID.linuxRootAarch64) - Number(a?.typeGuid === TYPE_GUID.linuxRootAarch64));
  let root: RootHandle | null = null;
  let damaged: string | null = null;
  const sources = new Map<Partition | null, ByteSource | ParseError>();
  for (const p of candidates) {
    try {
      sources.set(p, p ? partitionSource(image.disk, p) : image.disk);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      sources.set(p, e);
    }
  }
  const lvm = lvmLayer(sources);
  /** Opens one volume (a partition, the whole disk or an LV) with its filesystem's reader, and takes it as the root if it looks like one. */
  const consider = (entry: ScannedPartition, p: Partition | null, src: ByteSource, lv: LogicalVolume | null): void => {
    const kind = entry.filesystem;
    if (kind !== 'ext2' && kind !== 'ext3' && kind !== 'ext4' && kind !== 'xfs' && kind !== 'btrfs') {
      entry.note = kind ? WHY[kind] ?? `is ${kind}` : 'holds no recognised filesystem';
      return;
    }
    const where = lv ? `logical volume ${lv.fullName} (${describe(p)})` : describe(p);
    let fs: VolumeFilesystem;
    let grubView: VolumeFilesystem;
    let grubFs: VolumeFilesystem | null | undefined;
    try {
      if (kind === 'btrfs') ({ fs, grubView } = openBtrfsVolume(src));
      else if (kind === 'xfs') {
        const xfs = openXfs(src);
        grubView = fs = xfs;
        // GRUB's xfs driver (grub-core/fs/xfs.c) never reads the log either.
        if (xfs.info.journal?.replayed && xfs.src !== src) grubFs = unreplayedXfs(src);
      }
      else {
        const ext = openExt4(src);
        grubView = fs = ext;
        if (ext.info.journal?.replayed) grubFs = unreplayedExt4(src);
      }
    } catch (e) {
      if (e instanceof UnsupportedError) {
        entry.note = `is ${kind} vmspec cannot read (${e.message})`;
        return;
      }
      if (e instanceof ParseError) {
        entry.note = `is a damaged ${kind} filesystem: ${e.message}`;
        damaged ??= `${where}: ${e.message}`;
        return;
      }
      throw e;
    }
    readableVolumes.push({ partition: p, fs: grubView, ...(grubFs !== undefined ? { grubFs } : {}), logicalVolume: lv, source: src, filesystem: kind });
    if (root) {
      entry.note = `is another ${kind} filesystem (the root was found first)`;
      return;
    }
    let isRoot: boolean;
    try {
      isRoot = looksLikeRoot(fs);
    } catch (e) {
      if (!(e instanceof ParseError || e instanceof UnsupportedError)) throw e;
      entry.note = `is a damaged ${kind} filesystem: ${e.message}`;
      damaged ??= `${where}: ${e.message}`;
      return;
    }
    if (!isRoot) {
      entry.note = `is ${kind} without /etc and /usr (not a root filesystem)`;
      return;
    }
    root = { partition: p, fs, filesystem: kind, logicalVolume: lv, source: src };
  };
  for (const p of candidates) {
    const entry: ScannedPartition = { number: p?.number ?? null, typeName: p?.typeName ?? null, filesystem: null, note: null, logicalVolume: null };
    scanned.push(entry);
    const src = sources.get(p)!;
    if (src instanceof ParseError) {
      entry.note = `cannot be read: ${src.message}`;
      continue;
    }
    try {
      entry.filesystem = detectFilesystem(src);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      entry.note = `cannot be read: ${e.message}`;
      continue;
    }
    const pv = p && entry.filesystem === 'LVM2_member' ? lvm.get(p.number) : undefined;
    if (pv) {
      scanLogicalVolumes(entry, pv, scanned, (e, lv) => consider(e, p, lv.source!, lv));
      continue;
    }
    consider(entry, p, src, null);
  }
  if (root) return { scanned, root, unreadable: null, damaged: null, readableVolumes };
  let unreadable: string;
  if (table.scheme === 'none' && scanned[0]?.filesystem === null) {
    unreadable = 'the disk has no partition table and holds no recognised filesystem';
  } else if (scanned.length === 0) {
    unreadable = table.partitions.length === 0 ? 'the disk has no partitions' : `no partition can hold a root filesystem (${table.partitions.map((p) => `${p.number}: ${p.typeName ?? p.typeGuid}`).join(', ')})`;
  } else {
    unreadable = scanned.map((s) => `${s.logicalVolume ? `logical volume ${s.logicalVolume}` : s.number === null ? 'the whole disk' : `partition ${s.number}`} ${s.note ?? ''}`.trim()).join('; ');
  }
  return { scanned, root: null, unreadable, damaged, readableVolumes };
}

/** Subvolumes distributions mount as / when the default subvolume is the top level: Fedora, Ubuntu, Debian's installer. */
const ROOT_SUBVOLUMES = ['root', '@', '@rootfs'];

/**
 * A btrfs volume: the subvolume that holds the root (the default one, else
 * a conventional name, else the default to report on), and GRUB's view, the
 * default subvolume (upstream GRUB reads the top level, which is the
 * default unless set-default moved it; distributions' GRUB follows it).
 * Each opened subvolume shares nothing but the source: they are small.
 */
function openBtrfsVolume(src: ByteSource): { fs: BtrfsFilesystem; grubView: BtrfsFilesystem } {
  const grubView = openBtrfs(src);
  if (looksLikeRoot(grubView)) return { fs: grubView, grubView };
  for (const subvolume of ROOT_SUBVOLUMES) {
    let fs: BtrfsFilesystem;
    try {
      fs = openBtrfs(src, { subvolume });
    } catch (e) {
      if (e instanceof FsError) continue;
      throw e;
    }
    if (looksLikeRoot(fs)) return { fs, grubView };
  }
  return { fs: grubView, grubView };
}

/** The root, or an exception for a damaged one; null (with `unreadable`) when there is none to read. */
export function requireRoot(h: RootfsHandle): RootHandle | null {
  if (h.root) return h.root;
  if (h.damaged) throw new ParseError('root filesystem', -1, h.damaged);
  return null;
}

/** The LVM2 PVs among the candidates, assembled once (a VG may span partitions). */
function lvmLayer(sources: Map<Partition | null, ByteSource | ParseError>): Map<number, PvCandidates> {
  const pvs: { partition: Partition; src: ByteSource }[] = [];
  for (const [p, src] of sources) {
    if (!p || src instanceof ParseError) continue;
    try {
      if (detectFilesystem(src) === 'LVM2_member') pvs.push({ partition: p, src });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
    }
  }
  return lvmCandidates(pvs);
}

/** A PV partition's line, then one line per logical volume on it, each LV opened like a partition. */
function scanLogicalVolumes(entry: ScannedPartition, pv: PvCandidates, scanned: ScannedPartition[], open: (e: ScannedPartition, lv: LogicalVolume) => void): void {
  entry.note = pv.note;
  // Hidden LVs (a pool's data and metadata, mirror legs) are parts of another LV, never a filesystem of their own.
  for (const lv of pv.lvs.filter((l) => l.visible)) {
    const e: ScannedPartition = { number: entry.number, typeName: entry.typeName, filesystem: null, note: null, logicalVolume: lv.fullName };
    scanned.push(e);
    if (!lv.source) {
      e.note = `is not assembled: ${lv.refused ?? 'unknown reason'}; ${BOOT_TO_JUDGE}`;
      continue;
    }
    try {
      e.filesystem = detectFilesystem(lv.source);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      e.note = `cannot be read: ${err.message}`;
      continue;
    }
    open(e, lv);
  }
}

/** An xfs as GRUB reads it, its log not replayed; null when that state does not even open. */
function unreplayedXfs(src: ByteSource): XfsFilesystem | null {
  try {
    return openXfs(src, { norecovery: true });
  } catch (e) {
    if (e instanceof ParseError || e instanceof UnsupportedError) return null;
    throw e;
  }
}

/** An ext4 as GRUB reads it, its journal not replayed; null when that state does not even open (GRUB would not read it). */
function unreplayedExt4(src: ByteSource): Ext4Filesystem | null {
  try {
    return openExt4(src, { norecovery: true });
  } catch (e) {
    if (e instanceof ParseError || e instanceof UnsupportedError) return null;
    throw e;
  }
}
