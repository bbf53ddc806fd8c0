import { UnsupportedError } from '../../bytes/errors.js';
import type { Ext4JournalFacts } from '../fs/ext4-journal.js';
import type { XfsLogFacts } from '../fs/xfs.js';
import { FsError, type ReadOnlyFilesystem } from '../fs/filesystem.js';
import { arr, bool, enumOf, type FactsOf, int, narr, nbool, nint, nobj, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';
import { defineProbe } from '../types.js';
import { cloudInitFacts } from './cloud-init.js';
import { guestView, kernelDetails } from './guest.js';
import { dashedUuid } from './volumes.js';

/**
 * `image.rootfs`: the guest OS as its files show it. Which partition holds
 * the root (and why others do not), the OS release, the installed kernels,
 * the default one and how it was chosen, the default boot entry and its
 * kernel command line (console= settings), and whether cloud-init is
 * installed and enabled (what `vmspec boot` needs for its NoCloud path).
 */

const bootFile = obj({ path: str(), device: nstr(), exists: bool() });

const os = nobj({ id: nstr(), versionId: nstr(), prettyName: nstr() }, '/etc/os-release (or /usr/lib/os-release)');

const facts = obj({
  rootfs: obj({
    readable: bool(),
    unreadable: nstr('why no root filesystem could be read, or null'),
    partition: nint('the root\'s partition (for an LVM2 logical volume, its first physical volume\'s)'),
    logicalVolume: nobj({ name: str('VG/LV'), mapperName: str('/dev/mapper/VG-LV') }, 'the LVM2 logical volume holding the root, or null'),
    filesystem: enumOf(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', null]),
    uuid: nstr(),
    label: nstr(),
    needsRecovery: nbool('the ext4 journal holds transactions not yet written home, or the xfs log is dirty (see journal: replayed in memory or not)'),
    journal: nobj({
      replayed: bool('the journal was replayed in memory (the image is never written): files are read as after the kernel\'s recovery; false: read as mount -o norecovery shows them'),
      transactions: int('committed transactions found'),
      blocksReplayed: int('logged block copies applied'),
      revoked: int('logged blocks skipped: revoked by the same or a later transaction (xfs: buffers cancelled by XFS_BLF_CANCEL)'),
      skippedNewer: nint('xfs: logged items not replayed because the metadata on disk is already newer (LSN ordering); null for ext4'),
      checksumFailures: int('logged blocks not replayed because their tag checksum (journal csum v2/v3) fails; xfs: log records failing their CRC (torn writes dropped from the head)'),
      features: arr(str(), 'journal features, e2fsprogs names; xfs: logv2, crc, the writer\'s byte order'),
      reason: nstr('why the journal was not replayed, or what was irregular about the replay'),
    }, 'ext4 with needs_recovery or xfs with a dirty log only: what became of its journal (xfs: its log); null otherwise'),
    btrfs: nobj({
      subvolume: obj({ id: str(), path: str() }),
      defaultSubvolume: str(),
      metadataCsums: obj({ checked: int(), failed: int() }),
    }, 'btrfs: the subvolume read as the root, the default subvolume, and the tree-block checksums this run checked and how many did not match'),
    metadataCrc: nobj({ checked: int(), failed: int() }, 'xfs v5 (superblock, inodes, bmap btree, directory and symlink blocks) and btrfs (tree blocks): metadata checksums this run checked and how many did not match; null where the reader does not check them'),
    decidedBy: enumOf(['cmdline', 'fstab', 'search', null], "what named the root: root= (and rootflags=) on the default boot entry's kernel command line, the root's /etc/fstab line for /, or the search (the first volume with /etc and /usr)"),
    why: nstr('the decision in words'),
    scanned: arr(obj({ partition: nint(), logicalVolume: nstr('VG/LV for a logical volume on the LVM2 physical volume `partition`'), typeName: nstr(), filesystem: nstr(), note: nstr() })),
  }),
  mounts: narr(obj({
    mountPoint: str(), spec: str('fs_spec as written (UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/...)'), vfstype: str(), options: arr(str()),
    joined: bool('read and part of the tree kernels, configs and modules are looked for in'),
    partition: nint(), logicalVolume: nstr('VG/LV'), filesystem: nstr(), subvolume: nstr('btrfs: the subvolume mounted, from the top level'),
    note: nstr('why the line is not joined'),
  }), "the root's /etc/fstab lines for filesystems on disk, or null when it has none"),
  fstabProblems: arr(str(), '/etc/fstab lines that are not mounts'),
  os,
  kernels: arr(obj({
    version: str(), image: nstr(), config: nstr(), initrd: nstr(), modulesDir: nstr(),
    imageFormat: nstr(), arch: nstr(),
  })),
  defaultKernel: nobj({ version: str(), selectedBy: enumOf(['bootloader', 'symlink', 'newest', 'only']), why: str() }),
  boot: nobj({
    source: enumOf(['removable-path', 'root-grub-cfg'], 'followed from \\EFI\\BOOT\\BOOTAA64.EFI, or read from the root\'s /boot/grub/grub.cfg'),
    title: str(),
    definedIn: str(),
    chosenBy: str(),
    linux: bootFile,
    initrds: arr(bootFile),
    cmdline: str(),
    consoles: arr(str(), 'console= values, in order (the last is /dev/console)'),
  }, 'the default boot entry that loads a kernel from the root'),
  cmdlineDefaults: obj({
    grubCmdlineLinux: nstr('GRUB_CMDLINE_LINUX in /etc/default/grub'),
    grubCmdlineLinuxDefault: nstr('GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub'),
    kernelCmdline: nstr('/etc/kernel/cmdline (kernel-install, UKIs)'),
  }),
  cloudInit: nobj({
    installed: bool(),
    evidence: arr(str()),
    version: nstr(),
    enabled: bool(),
    disabledBy: arr(str()),
    units: arr(obj({ name: str(), wantedBy: arr(str()), masked: bool() })),
    datasources: narr(str()),
    noCloud: bool(),
  }),
});

export const rootfsProbe = defineProbe({
  name: 'image.rootfs',
  summary: 'Root filesystem, OS release, installed kernels, the default kernel and boot entry (command line, consoles), cloud-init state',
  input: 'image',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    if (!inputs.image) throw new UnsupportedError('image.rootfs needs an image');
    const view = guestView(inputs.image, inputs.memo);
    const root = view.root;
    const out: FactsOf<typeof facts> = {
      rootfs: {
        readable: root !== null,
        unreadable: view.rootfs.unreadable,
        partition: root?.partition?.number ?? null,
        logicalVolume: root?.logicalVolume ? { name: root.logicalVolume.fullName, mapperName: root.logicalVolume.mapperName } : null,
        filesystem: root?.filesystem ?? null,
        uuid: root ? dashedUuid(root.fs.info.uuid) : null,
        label: root ? root.fs.info.label || null : null,
        needsRecovery: root ? root.fs.info.needsRecovery : null,
        journal: root && 'journal' in root.fs.info && root.fs.info.journal ? rootJournal(root.fs.info.journal) : null,
        metadataCrc: null,
        btrfs: root?.fs.type === 'btrfs'
          ? { subvolume: { ...root.fs.info.subvolume }, defaultSubvolume: root.fs.info.defaultSubvolume, metadataCsums: { ...root.fs.info.metadataCsums } }
          : null,
        decidedBy: view.os?.decidedBy ?? null,
        why: view.os?.why ?? null,
        scanned: view.rootfs.scanned.map((s) => ({ partition: s.number, logicalVolume: s.logicalVolume, typeName: s.typeName, filesystem: s.filesystem, note: s.note })),
      },
      mounts: view.os?.mounts?.map((m) => ({ ...m, options: [...m.options] })) ?? null,
      fstabProblems: view.os?.fstabProblems ?? [],
      os: null,
      kernels: [],
      defaultKernel: null,
      boot: null,
      cmdlineDefaults: { grubCmdlineLinux: null, grubCmdlineLinuxDefault: null, kernelCmdline: null },
      cloudInit: null,
    };
    if (!root || !view.os) return out;
    const fs = view.os.fs;
    out.os = osRelease(fs);
    out.kernels = view.kernels.map((k) => {
      const d = kernelDetails(fs, k, inputs.memo);
      return { version: k.version, image: k.image, config: k.config, initrd: k.initrd, modulesDir: k.modulesDir, imageFormat: d.image?.format ?? null, arch: d.image?.arch ?? null };
    });
    const dk = view.defaultKernel;
    out.defaultKernel = dk ? { version: dk.kernel.version, selectedBy: dk.selectedBy, why: dk.why } : null;
    const b = view.boot;
    let args: string[] | null = null;
    if (b?.linux && view.bootSource) {
      args = b.linux.args;
      const file = (f: { path: string; device: string | null; exists: boolean }) => ({ path: f.path, device: f.device, exists: f.exists });
      out.boot = {
        source: view.bootSource, title: b.title, definedIn: b.source, chosenBy: b.chosenBy, linux: file(b.linux), initrds: b.initrds.map(file),
        cmdline: args.join(' '), consoles: consoles(args),
      };
    }
    const grub = readText(fs, '/etc/default/grub');
    out.cmdlineDefaults = {
      grubCmdlineLinux: grub ? shellVar(grub, 'GRUB_CMDLINE_LINUX') : null,
      grubCmdlineLinuxDefault: grub ? shellVar(grub, 'GRUB_CMDLINE_LINUX_DEFAULT') : null,
      kernelCmdline: readText(fs, '/etc/kernel/cmdline')?.trim() ?? null,
    };
    const ci = cloudInitFacts(fs, args);
    out.cloudInit = { ...ci, units: ci.units.map((u) => ({ ...u })) };
    // Counted last, so the reads above are included.
    const rfs = root.fs;
    if (rfs.type === 'xfs' && rfs.info.version === 5) out.rootfs.metadataCrc = { checked: rfs.info.crc.checked, failed: rfs.info.crc.failed };
    if (rfs.type === 'btrfs') out.rootfs.metadataCrc = { checked: rfs.info.metadataCsums.checked, failed: rfs.info.metadataCsums.failed };
    return out;
  },
});

/** console= values of a kernel command line, in order. */
function rootJournal(j: Ext4JournalFacts | XfsLogFacts): NonNullable<FactsOf<typeof facts>['rootfs']['journal']> {
  return {
    replayed: j.replayed, transactions: j.transactions, blocksReplayed: j.blocksReplayed, revoked: j.revoked,
    skippedNewer: 'skippedNewer' in j ? j.skippedNewer : null, checksumFailures: j.checksumFailures, features: [...j.features], reason: j.reason ?? null,
  };
}

export function consoles(args: string[]): string[] {
  return args.filter((a) => a.startsWith('console=')).map((a) => a.slice('console='.length));
}

function readText(fs: ReadOnlyFilesystem, path: string): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: false }).decode(fs.readFile(path, { maxBytes: 1024 * 1024, truncate: true }));
  } catch (e) {
    if (e instanceof FsError) return null;
    throw e;
  }
}

/** The last assignment of a shell variable in a sourced file (quotes removed). */
export function shellVar(text: string, name: string): string | null {
  let value: string | null = null;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^\\s*(?:export\\s+)?${name}=(.*)$`).exec(line);
    if (!m) continue;
    let v = m[1]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    value = v;
  }
  return value;
}

function osRelease(fs: ReadOnlyFilesystem): FactsOf<typeof os> {
  const text = readText(fs, '/etc/os-release') ?? readText(fs, '/usr/lib/os-release');
  if (text === null) return null;
  return { id: shellVar(text, 'ID'), versionId: shellVar(text, 'VERSION_ID'), prettyName: shellVar(text, 'PRETTY_NAME') };
}
