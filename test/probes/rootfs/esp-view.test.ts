/**
 * The ESP joined to the OS view: a systemd-boot disk whose kernel, config
 * and initrd live only on the ESP (FAT), which the root's /etc/fstab
 * mounts at /boot (by UUID= of the vfat volume, as blkid reports it, by
 * PARTUUID= or by LABEL=). The view lists /boot as mtools lists the ESP,
 * reads the kernel's own config through it, and the guest clauses are
 * decided on the kernel systemd-boot's entry loads, as on the all-ext4
 * twin. The other way: the same disk whose fstab does not mount the ESP
 * has an empty /boot, and the guest clauses are undecided for want of a
 * kernel config, never failed. kernel-install's "bls" layout (the ESP at
 * /efi, $BOOT/<entry-token>/V/{linux,initrd}, the config on the root):
 * the entry's kernel is V by its directory, and the initrd judged is the
 * one the entry loads, not the root's /boot/initrd.img-V; both ways on
 * V2-GUEST-VIRTIO-PCI.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResults } from '../../../engine/results.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { guestView } from '../../../probes/rootfs/guest.js';
import { rootfsProbe } from '../../../probes/rootfs/rootfs.probe.js';
import { Memo } from '../../../probes/types.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import { ENTRY_TOKEN, ESP_LABEL, ESP_PARTUUID, espBootDisk, kernelOnEsp, rootWithoutBoot } from '../../fixtures/esp-boot-builder.js';
import { mdirList } from '../../fixtures/fat-builder.js';
import { blkidUuid } from '../../fixtures/os-layout-builder.js';
import { buildInitrd, buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, ROOT_UUID } from '../../fixtures/rootfs-builder.js';
import { verifyImage, virtioBlkDrivers } from './verify-cli.js';

const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];
const DECIDED = ['V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC', 'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE'];

const status = (res: RunResults, id: string): string | undefined => res.results.find((r) => r.id === id)?.status;

async function rootfsFacts(image: string): Promise<Record<string, any>> {
  const d = openDisk(image);
  try {
    return await rootfsProbe.run({ image: d, memo: new Memo() }, {}) as Record<string, any>;
  } finally {
    d.close();
  }
}

function inView<T>(image: string, f: (fs: NonNullable<ReturnType<typeof guestView>['os']>['fs']) => T): T {
  const d = openDisk(image);
  try {
    return f(guestView(d, new Memo()).os!.fs);
  } finally {
    d.close();
  }
}

t.test('the ESP mounted at /boot joins the view', { skip: fastFixturesUnavailable() }, async (t) => {
  const k = debianKernel('arm64');
  const v = k.version;
  const initrd = buildInitrd({ kernel: k, modules: ALL_INITRD, compression: 'zstd', early: true });
  const synthetic = buildSyntheticRoot({ name: 'btrfs-src-good-set-default', kernels: [{ kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } }], grubCfg: debianGrubCfg([v]) }).image;
  const twin = verifyImage(t, guestDisk({ name: 'btrfs-ext4-equivalent', rootContent: synthetic }), ['--profile', 'image']);
  const esp = kernelOnEsp('debian', k, initrd, `root=UUID=${ROOT_UUID} ro console=ttyAMA0`);
  const serial = blkidUuid(esp);
  t.equal(serial, '1234-5678', 'blkid names the ESP by its volume serial');
  const fstab = (espSpec: string | null): string => [
    `UUID=${ROOT_UUID} / ext4 errors=remount-ro 0 1`,
    ...(espSpec ? [`${espSpec} /boot vfat umask=0077 0 1`] : []),
    '',
  ].join('\n');
  const disk = (name: string, espSpec: string | null): string => espBootDisk(name, esp, rootWithoutBoot(name, synthetic, fstab(espSpec)));

  t.test('by UUID=: kernel, config and initrd found on the ESP, the guest clauses decided as on the ext4 twin', async (t) => {
    const image = disk('uuid', `UUID=${serial}`);
    const before = sha256File(image);
    const res = verifyImage(t, image, ['--profile', 'image']);
    for (const id of DECIDED) t.equal(status(res, id), status(twin, id), `${id}: ${status(res, id)} as on the twin`);
    t.match(res.results.find((r) => r.id === 'V2-GUEST-GICV3')!.observed, {
      kernel: { version: v, image: `/boot/vmlinuz-${v}`, config: `/boot/config-${v}`, initrd: `/boot/initrd.img-${v}`, selectedBy: 'bootloader' },
    });
    t.match(res.results.find((r) => r.id === 'V2-FW-NO-PRESET-BOOTVARS')!.observed, { loaderKind: 'systemd-boot', kernelReached: true });
    const facts = await rootfsFacts(image);
    t.same(facts.mounts[1], { mountPoint: '/boot', spec: `UUID=${serial}`, vfstype: 'vfat', options: ['umask=0077'], joined: true, partition: 1, logicalVolume: null, filesystem: 'vfat', subvolume: null, note: null });
    t.match(facts.kernels, [{ version: v, image: `/boot/vmlinuz-${v}`, config: `/boot/config-${v}`, initrd: `/boot/initrd.img-${v}`, modulesDir: `/usr/lib/modules/${v}` }]);
    // Oracles: mtools lists the ESP's top as the view lists /boot; the config read through the view is the kernel's own.
    const top = mdirList(esp).filter((p) => /^\/[^/]+\/?$/.test(p)).map((p) => p.replace(/^\/|\/$/g, '')).sort();
    t.same(inView(image, (fs) => fs.readdir('/boot').map((e) => e.name).sort()), top, '/boot is the ESP as mdir lists it');
    t.same(Buffer.from(inView(image, (fs) => fs.readFile(`/boot/config-${v}`))), readFileSync(join(k.root, 'boot', `config-${v}`)));
    t.same(Buffer.from(inView(image, (fs) => fs.read(`/boot/initrd.img-${v}`, 1000, 70000))), readFileSync(initrd).subarray(1000, 71000), 'a read at an offset crosses clusters as the file holds them');
    t.equal(inView(image, (fs) => fs.stat(`/boot/LOADER/ENTRIES/DEBIAN-${v.toUpperCase()}.CONF`).type), 'file', 'names on the ESP are looked up case-insensitively, as vfat does');
    t.equal(sha256File(image), before, 'the image is not modified');
  });

  t.test('by PARTUUID= and by LABEL=: the same ESP joins', async (t) => {
    for (const [name, spec] of [['partuuid', `PARTUUID=${ESP_PARTUUID.toLowerCase()}`], ['label', `LABEL=${ESP_LABEL}`]] as const) {
      const facts = await rootfsFacts(disk(name, spec));
      t.match(facts.mounts[1], { mountPoint: '/boot', spec, joined: true, partition: 1, filesystem: 'vfat', note: null }, spec);
      t.match(facts.kernels, [{ version: v, config: `/boot/config-${v}`, initrd: `/boot/initrd.img-${v}` }], `${spec}: the kernel is found`);
    }
  });

  t.test('fstab does not mount the ESP: /boot is empty, no kernel config, the guest clauses undecided (none failed)', async (t) => {
    const image = disk('unmounted', null);
    const facts = await rootfsFacts(image);
    t.match(facts.kernels, [{ version: v, image: null, config: null, modulesDir: `/usr/lib/modules/${v}` }], 'only the module tree is found');
    const res = verifyImage(t, image, ['--profile', 'image']);
    t.equal(status(res, 'V2-GUEST-GICV3'), 'undecided');
    t.same(res.results.filter((r) => r.status === 'fail').map((r) => r.id), []);
    t.equal(status(res, 'V2-FW-NO-PRESET-BOOTVARS'), 'pass', 'systemd-boot still reaches the kernel on the ESP');
  });

  t.test('an fstab line naming a vfat UUID that is not the ESP is not joined, with the reason', async (t) => {
    const facts = await rootfsFacts(disk('other-serial', 'UUID=ABCD-0000'));
    t.match(facts.mounts[1], { mountPoint: '/boot', joined: false, note: 'line 2: no filesystem vmspec reads has UUID ABCD-0000' });
  });

  t.test('kernel-install\'s bls layout on the ESP at /efi: the entry\'s kernel and its initrd are the ones judged', async (t) => {
    const NO_BLK = ALL_INITRD.filter((m) => m !== 'virtio_blk');
    const fstabEfi = [`UUID=${ROOT_UUID} / ext4 errors=remount-ro 0 1`, `UUID=${serial} /efi vfat umask=0077 0 1`, ''].join('\n');
    const keep = [`config-${v}`, `initrd.img-${v}`];
    const entryInitrd = `/efi/${ENTRY_TOKEN}/${v}/initrd`;

    // The entry's initrd has virtio_blk; the root's own /boot/initrd.img-V does not.
    const rootNoBlk = buildSyntheticRoot({ name: 'esp-bls-root-no-blk', kernels: [{ kernel: k, initrd: { modules: NO_BLK, compression: 'zstd', early: true } }] }).image;
    const passImage = espBootDisk('bls-pass', kernelOnEsp('bls-all', k, initrd, `root=UUID=${ROOT_UUID} ro console=ttyAMA0`, 'bls'), rootWithoutBoot('bls-pass', rootNoBlk, fstabEfi, keep));
    const f = await virtioBlkDrivers(passImage);
    t.match(f.kernel, { version: v, selectedBy: 'bootloader', config: `/boot/config-${v}`, initrd: entryInitrd, why: new RegExp(`loads /${ENTRY_TOKEN}/${v}/linux`) });
    t.match(f.initrd, { path: entryInitrd, size: readFileSync(initrd).length });
    t.match(f.options.CONFIG_VIRTIO_BLK, { inInitrd: true, available: 'initrd' });
    t.same(Buffer.from(inView(passImage, (fs) => fs.readFile(entryInitrd, { maxBytes: 1 << 30 }))), readFileSync(initrd), 'the initrd in the view is the one put on the ESP');
    t.equal(status(verifyImage(t, passImage, ['--profile', 'image']), 'V2-GUEST-VIRTIO-PCI'), 'pass');

    // The other way: the entry's initrd lacks virtio_blk, the root's own has it.
    const noBlkInitrd = buildInitrd({ kernel: k, modules: NO_BLK, compression: 'zstd', early: true });
    const failImage = espBootDisk('bls-fail', kernelOnEsp('bls-no-blk', k, noBlkInitrd, `root=UUID=${ROOT_UUID} ro console=ttyAMA0`, 'bls'), rootWithoutBoot('bls-fail', synthetic, fstabEfi, keep));
    const g = await virtioBlkDrivers(failImage);
    t.match(g.kernel, { initrd: entryInitrd });
    t.match(g.options.CONFIG_VIRTIO_BLK, { inInitrd: false, available: 'module' });
    t.equal(status(verifyImage(t, failImage, ['--profile', 'image']), 'V2-GUEST-VIRTIO-PCI'), 'fail', 'the root\'s /boot/initrd.img-V (with virtio_blk) is not what the entry loads');
  });
});
