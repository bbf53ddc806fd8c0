/**
 * The root as the OS sees it, on disks laid out as Fedora and RHEL install
 * them: an ESP whose GRUB stub reaches a separate /boot (ext4 for Fedora,
 * xfs for RHEL) whose grub2/grub.cfg calls blscfg over loader/entries, and
 * a root (btrfs subvolume `root`; xfs on LVM LV rhel/root) with /etc/fstab
 * and the module tree but an empty /boot. The root is the one the default
 * entry's root= / rootflags= names (else fstab's "/" line, else the
 * search), the fstab's /boot joins the view, so the kernel, its config and
 * initramfs are found there and the guest clauses are decided as on the
 * single-filesystem Debian twin. Both ways: a snapshot named by rootflags
 * is read instead of the conventional `root`; a root= naming nothing falls
 * back to fstab with the reason; a /boot that fstab names by a UUID no
 * volume has is not joined, and the guest clauses skip for want of a config.
 * Oracles: debugfs and xfs_db list /boot, btrfs inspect-internal names the
 * subvolumes, the kernel's own config file is compared byte for byte.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { RunResults } from '../../../engine/results.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { guestView } from '../../../probes/rootfs/guest.js';
import { rootfsProbe } from '../../../probes/rootfs/rootfs.probe.js';
import { Memo } from '../../../probes/types.js';
import { btrfsUnavailable } from '../../fixtures/btrfs-builder.js';
import { run } from '../../fixtures/cache.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import { debugfsLs } from '../../fixtures/ext4-builder.js';
import { lvmFixturesUnavailable } from '../../fixtures/lvm-builder.js';
import {
  blkidUuid, blsEsp, bootVolume, btrfsSplitRoot, FEDORA_BOOT_UUID, FEDORA_ROOT_UUID, fedoraFstab, RHEL_BOOT_UUID, RHEL_ROOT_UUID, rhelDisk, splitDisk,
} from '../../fixtures/os-layout-builder.js';
import {
  buildInitrd, buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, type InstalledKernel,
} from '../../fixtures/rootfs-builder.js';
import { xfsDbLs, xfsFixturesUnavailable } from '../../fixtures/xfs-builder.js';
import { verifyImage } from './verify-cli.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** Through the built CLI (test/probes/rootfs/verify-cli.ts), image clauses only. */
const cli = (t: Tap, image: string): RunResults => verifyImage(t, image, ['--profile', 'image']);

const verdicts = (res: RunResults): Record<string, string> => Object.fromEntries(res.results.map((r) => [r.id, r.status]));
const result = (res: RunResults, id: string) => res.results.find((r) => r.id === id)!;
const byStatus = (res: RunResults, status: string): string[] => res.results.filter((r) => r.status === status).map((r) => r.id).sort();

const DECIDED = [
  'V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC',
  'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE',
];
const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];

const OTHER_BOOT_UUID = '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9';

async function rootfsFacts(image: string): Promise<Record<string, any>> {
  const d = openDisk(image);
  try {
    const facts = await rootfsProbe.run({ image: d, memo: new Memo() }, {});
    const v = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(rootfsProbe.facts);
    if (!v(facts)) throw new Error(`image.rootfs facts do not match their schema: ${JSON.stringify(v.errors)}`);
    return facts as Record<string, any>;
  } finally {
    d.close();
  }
}

/** Names in a directory of the assembled OS view. */
function viewNames(image: string, dir: string): string[] {
  const d = openDisk(image);
  try {
    const os = guestView(d, new Memo()).os;
    if (!os) throw new Error('no OS view');
    return os.fs.readdir(dir).map((e) => e.name).sort();
  } finally {
    d.close();
  }
}

function viewFile(image: string, path: string): Buffer {
  const d = openDisk(image);
  try {
    return Buffer.from(guestView(d, new Memo()).os!.fs.readFile(path));
  } finally {
    d.close();
  }
}

function main(): void {
  const k = debianKernel('arm64');
  const v = k.version;
  const goodKernel: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  const initramfs = buildInitrd({ kernel: k, modules: ALL_INITRD, compression: 'zstd', early: true });
  const synthetic = buildSyntheticRoot({ name: 'btrfs-src-good-set-default', kernels: [goodKernel], grubCfg: debianGrubCfg([v]) }).image;
  const twin = verdicts(cli(t, guestDisk({ name: 'btrfs-ext4-equivalent', rootContent: synthetic })));

  const esp = blsEsp('fedora', FEDORA_BOOT_UUID);
  const espUuid = blkidUuid(esp);
  const fedoraRoot = btrfsSplitRoot({
    name: 'fedora', from: synthetic, uuid: FEDORA_ROOT_UUID, label: 'fedora', fstab: fedoraFstab(espUuid, FEDORA_BOOT_UUID),
    snapshot: { name: 'snapshot-1', versionId: 'snapshot-1' },
  });
  const fedoraBoot = (name: string, options: string, uuid = FEDORA_BOOT_UUID) => bootVolume({
    name: `fedora-${name}`, filesystem: 'ext4', uuid, label: 'boot', kernel: k, initramfs,
    entries: [{ id: `0123456789abcdef0123456789abcdef-${v}`, title: `Fedora Linux (${v}) 40 (Cloud Edition)`, version: v, options }],
  });
  const fedoraDisk = (name: string, boot: string, espImage = esp) => splitDisk(`fedora-${name}`, espImage, boot, fedoraRoot, '8300');

  t.test('Fedora layout: root= and rootflags=subvol=root decide the root, fstab joins /boot, the clauses are decided as on the ext4 twin', async (t) => {
    const boot = fedoraBoot('good', `root=UUID=${FEDORA_ROOT_UUID} ro rootflags=subvol=root console=ttyAMA0 quiet`);
    const image = fedoraDisk('good', boot);
    const before = sha256File(image);
    const res = cli(t, image);
    const got = verdicts(res);
    for (const id of DECIDED) t.equal(got[id], twin[id], `${id}: ${got[id]} as on the ext4 twin`);
    t.same(byStatus(res, 'error'), []);
    t.match(result(res, 'V2-GUEST-GICV3').observed, {
      rootfs: { unreadable: null, partition: 3, filesystem: 'btrfs', decidedBy: 'cmdline' },
      kernel: { version: v, image: `/boot/vmlinuz-${v}`, config: `/boot/config-${v}`, initrd: `/boot/initramfs-${v}.img`, selectedBy: 'bootloader' },
      options: { CONFIG_ARM_GIC_V3: { state: 'y' } },
    });
    t.match(result(res, 'V2-FW-NO-PRESET-BOOTVARS').observed, { loaderKind: 'grub', kernelReached: true, defaultEntry: { linux: { path: `/vmlinuz-${v}`, device: 'hd0,gpt2', exists: true } } });
    const facts = await rootfsFacts(image);
    t.match(facts.rootfs, {
      filesystem: 'btrfs', partition: 3, uuid: FEDORA_ROOT_UUID, decidedBy: 'cmdline',
      why: new RegExp(`^root=UUID=${FEDORA_ROOT_UUID} rootflags=subvol=root on the command line of the default entry .* names partition 3 \\(btrfs subvolume "root"\\)$`),
      btrfs: { subvolume: { path: 'root' }, defaultSubvolume: '5' },
    });
    t.same(facts.mounts, [
      { mountPoint: '/', spec: `UUID=${FEDORA_ROOT_UUID}`, vfstype: 'btrfs', options: ['subvol=root', 'compress=zstd:1'], joined: true, partition: 3, logicalVolume: null, filesystem: 'btrfs', subvolume: 'root', note: null },
      { mountPoint: '/boot', spec: `UUID=${FEDORA_BOOT_UUID}`, vfstype: 'ext4', options: ['defaults'], joined: true, partition: 2, logicalVolume: null, filesystem: 'ext4', subvolume: null, note: null },
      { mountPoint: '/boot/efi', spec: `UUID=${espUuid}`, vfstype: 'vfat', options: ['umask=0077', 'shortname=winnt'], joined: true, partition: 1, logicalVolume: null, filesystem: 'vfat', subvolume: null, note: null },
      { mountPoint: '/home', spec: `UUID=${FEDORA_ROOT_UUID}`, vfstype: 'btrfs', options: ['subvol=home', 'compress=zstd:1'], joined: true, partition: 3, logicalVolume: null, filesystem: 'btrfs', subvolume: 'home', note: null },
    ], 'every on-disk fstab line, joined or with the reason (tmpfs is not on the disk)');
    t.same(viewNames(image, '/boot/efi/EFI'), ['BOOT', 'debian'], 'the ESP is mounted at /boot/efi, over the /boot filesystem');
    t.same(facts.fstabProblems, ['line 7: "not-a-mount" has 1 field; a mount needs at least fs_spec and fs_file']);
    t.match(facts.kernels, [{ version: v, image: `/boot/vmlinuz-${v}`, config: `/boot/config-${v}`, initrd: `/boot/initramfs-${v}.img`, modulesDir: `/usr/lib/modules/${v}` }]);
    // Oracles: debugfs lists the /boot filesystem as the view shows /boot; btrfs-progs names the subvolume read.
    const listed = debugfsLs(boot, '/').map((e) => e.name).filter((n) => n !== '.' && n !== '..' && n !== 'lost+found');
    t.same(viewNames(image, '/boot').filter((n) => n !== 'lost+found'), listed.sort(), '/boot in the view is what debugfs lists on the /boot filesystem');
    t.same(viewFile(image, `/boot/config-${v}`), readFileSync(join(k.root, 'boot', `config-${v}`)), 'the config read through the view is the kernel\'s own');
    const tree = run('btrfs', ['inspect-internal', 'dump-tree', '-t', 'root', fedoraRoot]);
    const refs = new Map([...tree.matchAll(/key \((?:5|FS_TREE) ROOT_REF (\d+)\)[^\n]*\n\s*root ref key dirid \d+ sequence \d+ name (\S+)/g)].map((m) => [m[2]!, m[1]!]));
    t.equal(facts.rootfs.btrfs.subvolume.id, refs.get('root'), 'the subvolume read is the one btrfs-progs calls root');
    t.equal(sha256File(image), before, 'the image is not modified');
  });

  t.test('firmware left on the separate /boot is found (FW-7 scans the root as the OS mounts it), the ESP mounted in it is not scanned twice', async (t) => {
    const options = `root=UUID=${FEDORA_ROOT_UUID} ro rootflags=subvol=root console=ttyAMA0 quiet`;
    const boot = bootVolume({
      name: 'fedora-firmware-on-boot', filesystem: 'ext4', uuid: FEDORA_BOOT_UUID, label: 'boot', kernel: k, initramfs,
      entries: [{ id: `0123456789abcdef0123456789abcdef-${v}`, title: `Fedora Linux (${v}) 40 (Cloud Edition)`, version: v, options }],
      extraFiles: { 'qemu/AAVMF_CODE.fd': '/usr/share/AAVMF/AAVMF_CODE.fd' },
    });
    const image = fedoraDisk('firmware-on-boot', boot);
    const res = cli(t, image);
    t.match(result(res, 'V2-FW-NOT-IN-IMAGE'), { status: 'fail' }, 'the firmware on /boot fails FW-7');
    const volumes = (result(res, 'V2-FW-NOT-IN-IMAGE').observed as { volumes: { where: string; path: string }[] }).volumes;
    t.same([...new Set(volumes.map((x) => `${x.where}:${x.path}`))], ['rootfs:/boot/qemu/AAVMF_CODE.fd'], 'found in the view\'s /boot (the root alone has an empty /boot), nothing from the ESP under /boot/efi');
    const good = cli(t, fedoraDisk('good', fedoraBoot('good', options)));
    t.equal(result(good, 'V2-FW-NOT-IN-IMAGE').status, 'pass', 'the same layout without it passes');
    t.match(result(good, 'V2-FW-NOT-IN-IMAGE').observed, { rootfsDirs: ['/boot'] }, '/boot is scanned, /boot/efi (the ESP, scanned as such) is left out');
  });

  t.test('rootflags=subvol= naming a snapshot: the snapshot is the root, not the conventional `root`', async (t) => {
    const image = fedoraDisk('snapshot', fedoraBoot('snapshot', `root=UUID=${FEDORA_ROOT_UUID} ro rootflags=subvol=snapshot-1 console=ttyAMA0`));
    const facts = await rootfsFacts(image);
    t.match(facts.rootfs, { decidedBy: 'cmdline', btrfs: { subvolume: { path: 'snapshot-1' } } });
    t.match(facts.os, { versionId: 'snapshot-1' }, 'os-release is the snapshot\'s');
    t.match(facts.mounts[0], { mountPoint: '/', joined: false, subvolume: 'root', note: /names partition 3 \(btrfs subvolume "root"\), but the kernel mounts partition 3 \(btrfs subvolume "snapshot-1"\)/ }, 'fstab\'s / line is not what the kernel mounted');
    t.equal(facts.defaultKernel?.selectedBy, 'bootloader');
  });

  t.test('no root= on the command line: fstab\'s "/" line (subvol=root) decides', async (t) => {
    const facts = await rootfsFacts(fedoraDisk('no-root-arg', fedoraBoot('no-root-arg', 'ro console=ttyAMA0')));
    t.match(facts.rootfs, { decidedBy: 'fstab', why: /^\/etc\/fstab line 2 mounts UUID=.* at \/ \(partition 3 \(btrfs subvolume "root"\)\)$/, btrfs: { subvolume: { path: 'root' } } });
    t.match(facts.kernels, [{ config: `/boot/config-${v}` }]);
  });

  t.test('root= naming no volume: not followed, the reason said, fstab decides', async (t) => {
    const bogus = '00000000-1111-4222-8333-444444444444';
    const facts = await rootfsFacts(fedoraDisk('bogus-root', fedoraBoot('bogus-root', `root=UUID=${bogus} ro rootflags=subvol=root`)));
    t.match(facts.rootfs, {
      decidedBy: 'fstab',
      why: new RegExp(`^root=UUID=${bogus} on the command line of .* is not followed \\(no filesystem vmspec reads has UUID ${bogus}\\); /etc/fstab line 2`),
    });
  });

  t.test('a /boot fstab names by a UUID no volume has is not joined: no kernel config, the guest clauses are undecided', async (t) => {
    const boot = fedoraBoot('other-uuid', `root=UUID=${FEDORA_ROOT_UUID} ro rootflags=subvol=root console=ttyAMA0`, OTHER_BOOT_UUID);
    const image = fedoraDisk('boot-missing', boot, blsEsp('fedora-other', OTHER_BOOT_UUID));
    const facts = await rootfsFacts(image);
    t.match(facts.mounts[1], { mountPoint: '/boot', joined: false, note: `line 3: no filesystem vmspec reads has UUID ${FEDORA_BOOT_UUID}` });
    t.match(facts.kernels, [{ version: v, image: null, config: null, modulesDir: `/usr/lib/modules/${v}` }], 'only the module tree is found');
    const res = cli(t, image);
    t.same(byStatus(res, 'fail'), [], 'nothing fails falsely');
    t.match(result(res, 'V2-GUEST-GICV3'), { status: 'undecided', observed: { kernel: { configMissing: new RegExp(`no configuration for kernel ${v}`) } } });
  });
}

function rhel(): void {
  const k = debianKernel('arm64');
  const v = k.version;
  const goodKernel: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  const initramfs = buildInitrd({ kernel: k, modules: ALL_INITRD, compression: 'zstd', early: true });
  const synthetic = buildSyntheticRoot({ name: 'btrfs-src-good-set-default', kernels: [goodKernel], grubCfg: debianGrubCfg([v]) }).image;

  t.test('RHEL layout: xfs /boot, xfs root on LVM rhel/root named by root=/dev/mapper/rhel-root', async (t) => {
    const { image, boot } = rhelDisk({ synthetic, kernel: k, initramfs });
    const before = sha256File(image);
    const res = cli(t, image);
    t.same(byStatus(res, 'error'), []);
    t.same(byStatus(res, 'fail'), []);
    for (const id of DECIDED) t.equal(result(res, id).status, 'pass', `${id} passes`);
    t.match(result(res, 'V2-GUEST-GICV3').observed, {
      rootfs: { partition: 3, filesystem: 'xfs', decidedBy: 'cmdline' },
      kernel: { config: `/boot/config-${v}`, initrd: `/boot/initramfs-${v}.img`, selectedBy: 'bootloader' },
    });
    const facts = await rootfsFacts(image);
    t.match(facts.rootfs, { decidedBy: 'cmdline', logicalVolume: { name: 'rhel/root', mapperName: '/dev/mapper/rhel-root' }, filesystem: 'xfs', uuid: RHEL_ROOT_UUID, why: /^root=\/dev\/mapper\/rhel-root on the command line of .* names logical volume rhel\/root$/ });
    t.same(facts.mounts, [
      { mountPoint: '/', spec: '/dev/mapper/rhel-root', vfstype: 'xfs', options: ['defaults'], joined: true, partition: 3, logicalVolume: 'rhel/root', filesystem: 'xfs', subvolume: null, note: null },
      { mountPoint: '/boot', spec: `UUID=${RHEL_BOOT_UUID}`, vfstype: 'xfs', options: ['defaults'], joined: true, partition: 2, logicalVolume: null, filesystem: 'xfs', subvolume: null, note: null },
    ], 'the swap line is not a filesystem mount');
    const listed = xfsDbLs(boot, '/').map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
    t.same(viewNames(image, '/boot'), listed, '/boot in the view is what xfs_db lists on the /boot filesystem');
    t.equal(sha256File(image), before, 'the image is not modified');
  });
}

const unavailable = fastFixturesUnavailable() || btrfsUnavailable();
if (unavailable) t.test('split roots', { skip: unavailable }, async () => {});
else {
  main();
  const noRhel = xfsFixturesUnavailable() || lvmFixturesUnavailable();
  if (noRhel) t.test('RHEL layout', { skip: noRhel }, async () => {});
  else rhel();
}
