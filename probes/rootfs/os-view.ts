import { isReadError, ParseError, UnsupportedError } from '../../bytes/errors.js';
import { openBtrfs, type BtrfsFilesystem } from '../fs/btrfs.js';
import { FsError, joinPath, type ReadOnlyFilesystem } from '../fs/filesystem.js';
import type { PartitionTableReading } from '../image/partition-table.js';
import type { BootFile } from './grub-eval.js';
import { describeRef, parseDeviceSpec, type DeviceRef } from './device-spec.js';
import { mountOption, parseFstab, type FstabEntry } from './fstab.js';
import { rootArgs } from './kernel-cmdline.js';
import { MountedFilesystem, normaliseMountPoint, type Mount } from './mounted-view.js';
import { looksLikeRoot, type ReadableVolume, type RootfsHandle, type RootHandle, type VolumeFilesystem } from './rootfs.js';
import { grubLvmName } from './lvm-volumes.js';
import type { FatVolume } from '../image/fat.js';
import { FatFilesystem } from './fat-filesystem.js';
import { dashedUuid } from './volumes.js';

/**
 * The root as the OS sees it. The root is the volume the default boot
 * entry's kernel command line names (`root=`, with `rootflags=subvol=` /
 * `subvolid=` choosing the btrfs subvolume), else the one the search
 * found (rootfs.ts), whose /etc/fstab "/" line may still name the btrfs
 * subvolume to read. Every other fstab line on a filesystem vmspec reads
 * (ext2/3/4, xfs, btrfs, and the ESP's FAT) is mounted over its
 * directory, so a separate /boot or /usr, or the ESP at /boot or /efi,
 * joins the tree kernels and modules are looked for in.
 */

export type RootDecidedBy = 'cmdline' | 'fstab' | 'search';

export interface MountFact {
  mountPoint: string;
  /** fs_spec as written. */
  spec: string;
  vfstype: string;
  options: string[];
  /** Read and part of the view. */
  joined: boolean;
  partition: number | null;
  logicalVolume: string | null;
  filesystem: string | null;
  /** btrfs: the subvolume mounted (path from the top level). */
  subvolume: string | null;
  /** Why it is not joined, or null. */
  note: string | null;
}

interface ViewMount {
  at: string;
  volume: ReadableVolume;
  fs: VolumeFilesystem;
}

export interface OsView {
  root: RootHandle;
  /** The root with every joined mount. */
  fs: ReadOnlyFilesystem;
  decidedBy: RootDecidedBy;
  /** In words: what named the root. */
  why: string;
  /** /etc/fstab's lines, null when the root has none. */
  mounts: MountFact[] | null;
  fstabProblems: string[];
  /** The view's path of a file GRUB (or systemd-boot) loads from a volume, or null when that volume is not in the view. */
  pathOf(file: Pick<BootFile, 'device' | 'partition' | 'path'>): string | null;
}

/** Filesystems that are not on a disk: fstab lines for them are not mounts of this image. */
const NOT_ON_DISK = /^(swap|none|proc|sysfs|tmpfs|devtmpfs|devpts|securityfs|cgroup2?|debugfs|tracefs|configfs|pstore|efivarfs|bpf|ramfs|hugetlbfs|mqueue|binfmt_misc|fusectl|autofs|nfs4?|cifs|smb3|9p|virtiofs|overlay|fuse(\..*)?|iso9660|udf)$/;

/** "VG-LV" of /dev/mapper back to VG/LV: a single dash separates, a doubled one is a dash in a name. */
export function mapperToVgLv(name: string): string | null {
  let vg = '';
  let i = 0;
  for (; i < name.length; i++) {
    if (name[i] === '-') {
      if (name[i + 1] === '-') {
        vg += '-';
        i++;
        continue;
      }
      break;
    }
    vg += name[i];
  }
  if (i >= name.length || vg === '') return null;
  const lv = name.slice(i + 1).replace(/--/g, '-');
  return lv === '' ? null : `${vg}/${lv}`;
}

/** The image's EFI System Partition as fstab can name it: its FAT volume serial ("ABCD-1234", blkid's UUID) and label. */
export interface EspRef {
  partition: number;
  serial: string | null;
  label?: string | null;
  /** The FAT volume, mounted into the view; null when it cannot be read. */
  volume?: FatVolume | null;
}

type Resolved = { volume: ReadableVolume } | { esp: EspRef & { volume: FatVolume } } | { why: string };

/** The readable volume (or the readable ESP) a device name points to, or why none. */
export function resolveDevice(ref: DeviceRef, rootfs: RootfsHandle, table: PartitionTableReading, espSerial: EspRef | null): Resolved {
  const vols = rootfs.readableVolumes;
  const ofEsp = (e: EspRef): Resolved => (e.volume ? { esp: { ...e, volume: e.volume } } : { why: `partition ${e.partition} is the EFI System Partition, whose FAT cannot be read` });
  const ofPartition = (n: number): Resolved => {
    const v = vols.find((x) => x.partition?.number === n && !x.logicalVolume);
    if (v) return { volume: v };
    if (!table.partitions.some((p) => p.number === n)) return { why: `the disk has no partition ${n}` };
    if (espSerial?.partition === n) return ofEsp(espSerial);
    const s = rootfs.scanned.find((x) => x.number === n && !x.logicalVolume);
    return { why: `partition ${n} ${s?.note ?? 'holds no filesystem vmspec reads'}` };
  };
  const ofLv = (full: string): Resolved => {
    const v = vols.find((x) => x.logicalVolume?.fullName === full);
    if (v) return { volume: v };
    const s = rootfs.scanned.find((x) => x.logicalVolume === full);
    return { why: s ? `logical volume ${full} ${s.note ?? 'is not read'}` : `no logical volume ${full} on this image` };
  };
  switch (ref.by) {
    case 'uuid': {
      const want = ref.value.toLowerCase();
      const v = vols.find((x) => dashedUuid(x.fs.info.uuid) === want);
      if (v) return { volume: v };
      if (espSerial?.serial && espSerial.serial.toLowerCase() === want) return ofEsp(espSerial);
      return { why: `no filesystem vmspec reads has UUID ${ref.value}` };
    }
    case 'label': {
      const v = vols.find((x) => x.fs.info.label === ref.value);
      if (v) return { volume: v };
      if (espSerial?.label && espSerial.label === ref.value) return ofEsp(espSerial);
      return { why: `no filesystem vmspec reads has label "${ref.value}"` };
    }
    case 'partuuid': {
      const want = ref.value.toUpperCase();
      const mbrSig = table.mbr.diskSignature?.slice(2).toUpperCase();
      const p = table.partitions.find((x) => (x.uniqueGuid !== '' ? x.uniqueGuid === want : `${mbrSig}-${x.number.toString(16).padStart(2, '0').toUpperCase()}` === want));
      return p ? ofPartition(p.number) : { why: `no partition has PARTUUID ${ref.value}` };
    }
    case 'partlabel': {
      const p = table.partitions.find((x) => x.name !== '' && x.name === ref.value);
      return p ? ofPartition(p.number) : { why: `no partition is named "${ref.value}"` };
    }
    case 'partition':
      return ofPartition(ref.number);
    case 'disk': {
      const v = vols.find((x) => x.partition === null);
      return v ? { volume: v } : { why: table.scheme === 'none' ? 'the whole disk holds no filesystem vmspec reads' : 'the whole disk is partitioned: a filesystem is on one of its partitions' };
    }
    case 'mapper': {
      const full = mapperToVgLv(ref.name);
      return full ? ofLv(full) : { why: `/dev/mapper/${ref.name} is not an LVM2 VG-LV name` };
    }
    case 'vg-lv':
      return ofLv(`${ref.vg}/${ref.lv}`);
    case 'unknown':
      return { why: ref.why };
  }
}

/** A volume opened as mounted with `options` (btrfs subvol=/subvolid=; the default subvolume without). */
function openMounted(v: ReadableVolume, options: string[]): { fs: VolumeFilesystem } | { why: string } {
  if (v.filesystem !== 'btrfs') return { fs: v.fs };
  const subvol = mountOption(options, 'subvol');
  const subvolid = mountOption(options, 'subvolid');
  try {
    let path = subvol;
    if (path === null && subvolid !== null) {
      if (!/^\d{1,20}$/.test(subvolid)) return { why: `subvolid=${subvolid} is not a number` };
      path = (v.fs as BtrfsFilesystem).subvolumePath(BigInt(subvolid));
      if (path.startsWith('<')) return { why: `no btrfs subvolume ${subvolid}` };
    }
    return { fs: path === null ? v.fs : openBtrfs(v.source, { subvolume: path }) };
  } catch (e) {
    if (e instanceof FsError) return { why: `no btrfs subvolume ${subvol ?? subvolid}: ${e.message}` };
    if (e instanceof ParseError || e instanceof UnsupportedError) return { why: `the btrfs subvolume ${subvol ?? subvolid} cannot be read: ${e.message}` };
    throw e;
  }
}

function sameVolume(a: { partition: { number: number } | null; logicalVolume: { fullName: string } | null }, b: typeof a): boolean {
  return (a.partition?.number ?? null) === (b.partition?.number ?? null) && (a.logicalVolume?.fullName ?? null) === (b.logicalVolume?.fullName ?? null);
}

function subvolumeOf(fs: VolumeFilesystem): string | null {
  return fs.type === 'btrfs' ? fs.info.subvolume.path : null;
}

const MAX_FSTAB_BYTES = 256 * 1024;

function readFstab(fs: ReadOnlyFilesystem): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: false }).decode(fs.readFile('/etc/fstab', { maxBytes: MAX_FSTAB_BYTES, truncate: true }));
  } catch (e) {
    if (e instanceof FsError) return null;
    throw e;
  }
}

/** Opens a volume and checks it is a root; a sentence when it is not. */
function tryRoot(v: ReadableVolume, options: string[]): { root: RootHandle } | { why: string } {
  const opened = openMounted(v, options);
  if ('why' in opened) return opened;
  let ok: boolean;
  try {
    ok = looksLikeRoot(opened.fs);
  } catch (e) {
    if (isReadError(e)) return { why: `it cannot be read: ${e.message}` };
    throw e;
  }
  if (!ok) return { why: `${describeVolume(v, opened.fs)} has no /etc and /usr` };
  return { root: { partition: v.partition, fs: opened.fs, filesystem: v.filesystem, logicalVolume: v.logicalVolume, source: v.source } };
}

function describeVolume(v: { partition: { number: number } | null; logicalVolume: { fullName: string } | null }, fs?: VolumeFilesystem): string {
  const where = v.logicalVolume ? `logical volume ${v.logicalVolume.fullName}` : v.partition ? `partition ${v.partition.number}` : 'the whole disk';
  const sub = fs ? subvolumeOf(fs) : null;
  return sub !== null ? `${where} (btrfs subvolume "${sub}")` : where;
}

export interface OsViewInputs {
  rootfs: RootfsHandle;
  table: PartitionTableReading;
  esp: EspRef | null;
  /** The default boot entry's kernel command line, when the boot path reaches a kernel. */
  cmdline: { args: string[]; from: string } | null;
}

/** Decides the root and joins the fstab mounts. Null when no root can be read. */
export function assembleOsView(inp: OsViewInputs): OsView | null {
  const { rootfs, table, esp, cmdline } = inp;
  let root: RootHandle | null = null;
  let decidedBy: RootDecidedBy = 'search';
  let why = '';
  const cmdRoot = cmdline ? rootArgs(cmdline.args) : null;
  if (cmdline && cmdRoot?.root) {
    const ref = parseDeviceSpec(cmdRoot.root);
    const r = notRoot(resolveDevice(ref, rootfs, table, esp));
    const flags = cmdRoot.rootflags.length ? ` rootflags=${cmdRoot.rootflags.join(',')}` : '';
    if ('volume' in r) {
      const t = tryRoot(r.volume, cmdRoot.rootflags);
      if ('root' in t) {
        root = t.root;
        decidedBy = 'cmdline';
        why = `root=${cmdRoot.root}${flags} on the command line of ${cmdline.from} names ${describeVolume(root, root.fs)}`;
      } else why = `root=${cmdRoot.root}${flags} on the command line of ${cmdline.from} is not followed (${t.why}); `;
    } else why = `root=${cmdRoot.root} on the command line of ${cmdline.from} is not followed (${r.why}); `;
  }
  if (!root) {
    if (!rootfs.root) return null;
    root = rootfs.root;
    why += `the first volume that looks like a root: ${describeVolume(root, root.fs)}`;
  }
  const fstabText = readFstab(root.fs);
  const fstab = fstabText === null ? null : parseFstab(fstabText);
  const mounts: ViewMount[] = [];
  const fatMounts: FatMount[] = [];
  /** Every joined mount but the root, in fstab order (a later one over the same point hides an earlier one). */
  const order: Mount[] = [];
  const facts: MountFact[] = [];
  for (const e of fstab?.entries ?? []) {
    if (NOT_ON_DISK.test(e.vfstype) || !e.file.startsWith('/')) continue;
    const fact: MountFact = { mountPoint: e.file, spec: e.spec, vfstype: e.vfstype, options: e.options, joined: false, partition: null, logicalVolume: null, filesystem: null, subvolume: null, note: null };
    facts.push(fact);
    const at = normaliseMountPoint(e.file);
    if (at === null) {
      fact.note = `line ${e.line}: the mount point ${e.file} is not a canonical absolute path`;
      continue;
    }
    if (e.options.includes('bind') || e.options.includes('rbind')) {
      fact.note = `line ${e.line}: a bind mount of ${e.spec}, not a volume`;
      continue;
    }
    const resolved = resolveDevice(parseDeviceSpec(e.spec), rootfs, table, esp);
    if ('esp' in resolved && at !== '/') {
      // The ESP mounted at /boot, /boot/efi or /efi: kernels, initrds and loader entries kept there join the view.
      const fs = new FatFilesystem(resolved.esp.volume);
      fact.partition = resolved.esp.partition;
      fact.filesystem = 'vfat';
      fact.joined = true;
      fatMounts.push({ at, partition: resolved.esp.partition, fs });
      order.push({ at, fs });
      continue;
    }
    const r = notRoot(resolved);
    if (!('volume' in r)) {
      fact.note = `line ${e.line}: ${r.why}`;
      continue;
    }
    fact.partition = r.volume.partition?.number ?? null;
    fact.logicalVolume = r.volume.logicalVolume?.fullName ?? null;
    fact.filesystem = r.volume.filesystem;
    if (at === '/') {
      if (decidedBy === 'cmdline') {
        // The kernel mounted root= (with rootflags=); this line only says what the system expects there.
        const named = openMounted(r.volume, e.options);
        const namedFs = 'fs' in named ? named.fs : undefined;
        fact.joined = sameVolume(r.volume, root) && namedFs !== undefined && subvolumeOf(namedFs) === subvolumeOf(root.fs);
        fact.subvolume = namedFs ? subvolumeOf(namedFs) : null;
        if (!fact.joined) fact.note = `line ${e.line}: names ${'why' in named ? `${describeVolume(r.volume)} (${named.why})` : describeVolume(r.volume, namedFs)}, but the kernel mounts ${describeVolume(root, root.fs)} (root= on its command line)`;
        continue;
      }
      const t = tryRoot(r.volume, e.options);
      if ('root' in t) {
        root = t.root;
        decidedBy = 'fstab';
        why = `${why.replace(/the first volume that looks like a root: .*$/, '')}/etc/fstab line ${e.line} mounts ${e.spec} at / (${describeVolume(root, root.fs)})`;
        fact.joined = true;
        fact.subvolume = subvolumeOf(root.fs);
      } else fact.note = `line ${e.line}: ${t.why}`;
      continue;
    }
    const opened = openMounted(r.volume, e.options);
    if ('why' in opened) {
      fact.note = `line ${e.line}: ${opened.why}`;
      continue;
    }
    fact.joined = true;
    fact.subvolume = subvolumeOf(opened.fs);
    mounts.push({ at, volume: r.volume, fs: opened.fs });
    order.push({ at, fs: opened.fs });
  }
  const all: Mount[] = [{ at: '/', fs: root.fs }, ...order];
  const viewFs = order.length ? new MountedFilesystem(all) : root.fs;
  const rootVolume: ReadableVolume = rootfs.readableVolumes.find((v) => sameVolume(v, root!)) ?? { ...root, fs: root.fs };
  const placed: ViewMount[] = [{ at: '/', volume: rootVolume, fs: root.fs }, ...mounts];
  return {
    root,
    fs: viewFs,
    decidedBy,
    why,
    mounts: fstab ? facts : null,
    fstabProblems: fstab?.problems ?? [],
    pathOf: (file) => pathInView(placed, file) ?? pathOnFat(fatMounts, file),
  };
}

/** The ESP mounted into the view. */
interface FatMount {
  at: string;
  partition: number;
  fs: FatFilesystem;
}

/** The ESP is never a root: a root=, or fstab's "/" line, naming it is said so. */
function notRoot(r: Resolved): { volume: ReadableVolume } | { why: string } {
  return 'esp' in r ? { why: `partition ${r.esp.partition} is the EFI System Partition (FAT), not a root filesystem` } : r;
}

/** A file a loader reads from the ESP (GRUB's "(hd0,gpt1)/…", systemd-boot's entries), where fstab mounted the ESP; the last mount wins, as in mount(8). */
function pathOnFat(fatMounts: FatMount[], file: Pick<BootFile, 'device' | 'partition' | 'path'>): string | null {
  if (file.device?.startsWith('lvm/')) return null;
  const m = fatMounts.filter((x) => x.partition === file.partition).at(-1);
  if (!m) return null;
  return m.at === '/' ? file.path : joinPath(m.at, file.path.replace(/^\/+/, ''));
}

/**
 * Where a file a boot loader reads from one volume is in the view: GRUB
 * names the volume by device ("hd0,gpt2", "lvm/VG-LV") and, on btrfs, the
 * path from the default subvolume; the view mounts a subvolume (maybe
 * another) at a mount point.
 */
function pathInView(placed: ViewMount[], file: Pick<BootFile, 'device' | 'partition' | 'path'>): string | null {
  for (const m of placed) {
    const lv = m.volume.logicalVolume;
    const onIt = file.device?.startsWith('lvm/') ? lv !== null && grubLvmName(lv) === file.device : !lv && (m.volume.partition?.number ?? null) === file.partition;
    if (!onIt) continue;
    let inner = file.path;
    if (m.fs.type === 'btrfs' && m.volume.fs.type === 'btrfs') {
      // From GRUB's subvolume to the top level, then into the mounted one.
      const grubSub = m.volume.fs.info.subvolume.path;
      const full = '/' + [grubSub, ...file.path.split('/')].filter(Boolean).join('/');
      const mine = m.fs.info.subvolume.path;
      const pre = mine === '' ? '/' : `/${mine}/`;
      if (mine !== '' && full !== `/${mine}` && !full.startsWith(pre)) continue;
      inner = mine === '' ? full : full.slice(pre.length - 1) || '/';
    }
    return m.at === '/' ? inner : joinPath(m.at, inner.replace(/^\/+/, ''));
  }
  return null;
}

export type { FstabEntry };
