/**
 * Debian's real signed shim (shim-signed, shim-helpers-arm64-signed) and
 * signed GRUB (grub-efi-arm64-signed) on ESPs laid out as grub-install
 * --force-extra-removable lays out Debian's and Ubuntu's cloud images.
 * shim is told from its helpers by its .vendor_cert (a long section name,
 * cross-checked against objdump), and followed as shim.c does: from
 * \EFI\BOOT\BOOTAA64.EFI with fbaa64.efi beside it, through the fallback
 * and \EFI\debian\BOOTAA64.CSV to \EFI\debian\shimaa64.efi; else to
 * grubaa64.efi in its own directory. Signed GRUB's embedded config, its
 * memdisk grub.cfg and the prefix stub lead to the root's grub.cfg, so
 * FW-6 passes and the guest clauses are decided on the kernel GRUB boots.
 * Both ways: shim with nothing beside it, and a fallback with no
 * BOOTAA64.CSV, fail FW-6 with the missing file named.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { RunResults } from '../../../engine/results.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { readPe } from '../../../probes/image/pe.js';
import { loaderKindOf } from '../../../probes/rootfs/bootloader.js';
import { removableBootProbe } from '../../../probes/rootfs/removable-boot.probe.js';
import { Memo } from '../../../probes/types.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import { buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, ROOT_UUID, type InstalledKernel } from '../../fixtures/rootfs-builder.js';
import { debianShim, shimEspFiles, type ShimEspLayout } from '../../fixtures/shim-builder.js';
import { verifyImage } from './verify-cli.js';

const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];
const GUEST = ['V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC', 'V2-GUEST-VIRTIO-PCI'];

const unavailable = fastFixturesUnavailable();

t.test('Debian\'s signed shim and GRUB', { skip: unavailable }, async (t) => {
  const s = debianShim();
  const k = debianKernel('arm64');
  const v = k.version;
  const good: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  const root = buildSyntheticRoot({ name: 'btrfs-src-good-set-default', kernels: [good], grubCfg: debianGrubCfg([v]) }).image;
  const disk = (name: string, layout: ShimEspLayout): string => guestDisk({ name: `shim-${name}`, rootContent: root, ...shimEspFiles(layout) });
  const removable = async (image: string): Promise<Record<string, any>> => {
    const d = openDisk(image);
    try {
      return await removableBootProbe.run({ image: d, memo: new Memo() }, {}) as Record<string, any>;
    } finally {
      d.close();
    }
  };
  const status = (res: RunResults, id: string): string | undefined => res.results.find((r) => r.id === id)?.status;
  const twin = verifyImage(t, guestDisk({ name: 'btrfs-ext4-equivalent', rootContent: root }), ['--profile', 'image']);

  t.test('shim is told from its fallback and MokManager, which carry the same SBAT', async (t) => {
    // The SBAT components each binary carries (as `objcopy -O binary --only-section=.sbat` shows).
    const kind = (f: string, sbat = ['shim', 'shim.debian']): string => {
      const b = readFileSync(f);
      return loaderKindOf(b, readPe(b.subarray(0, 65536), b.length), sbat);
    };
    t.equal(kind(s.shim), 'shim');
    t.equal(kind(s.fallback), 'unknown', 'fbaa64.efi is not shim');
    t.equal(kind(s.mokManager), 'unknown', 'mmaa64.efi is not shim');
    t.equal(kind(s.grub, ['grub', 'grub.debian', 'grub.debian12']), 'grub');
  });

  t.test('Debian cloud layout: shim → fallback → \\EFI\\debian\\BOOTAA64.CSV → shimaa64.efi → signed GRUB → grub.cfg', async (t) => {
    const image = disk('debian', { bootDir: ['grub', 'fallback', 'mokManager'], vendorDir: { name: 'debian', csv: true, grub: true } });
    const before = sha256File(image);
    const f = await removable(image);
    t.match(f, {
      loaderKind: 'shim', loaderMachine: 'ARM64', sbat: ['shim', 'shim.debian'], grubPrefix: '/EFI/debian', grubEmbeddedConfig: true,
      configFiles: ['(embedded config)', '(memdisk)/grub.cfg', '(hd0,gpt1)/EFI/debian/grub.cfg', '(hd0,gpt2)/boot/grub/grub.cfg'],
      defaultEntry: { linux: { path: `/boot/vmlinuz-${v}`, device: 'hd0,gpt2', exists: true }, cmdline: new RegExp(`^root=UUID=${ROOT_UUID} `) },
      kernelReached: true, unfollowable: null, problems: [],
    });
    t.same(f.steps.slice(0, 5), [
      '\\EFI\\BOOT\\BOOTAA64.EFI: shim',
      'shim was started as /EFI/BOOT/BOOTAA64.EFI and /EFI/BOOT/fbaa64.efi exists: shim starts its fallback, which boots what a \\EFI\\<vendor>\\BOOTAA64.CSV names',
      '/EFI/debian/BOOTAA64.CSV names shimaa64.efi',
      '\\EFI\\debian\\shimaa64.efi: shim',
      '\\EFI\\debian\\grubaa64.efi: GRUB (prefix "/EFI/debian", embedded config, memdisk)',
    ]);
    const res = verifyImage(t, image, ['--profile', 'image']);
    t.equal(status(res, 'V2-FW-NO-PRESET-BOOTVARS'), 'pass');
    t.equal(status(res, 'V2-FW-NOT-IN-IMAGE'), 'pass');
    for (const id of GUEST) t.equal(status(res, id), status(twin, id), `${id} as on the GRUB-only twin`);
    t.match(res.results.find((r) => r.id === 'V2-GUEST-GICV3')!.observed, { kernel: { version: v, selectedBy: 'bootloader' } });
    t.equal(sha256File(image), before, 'the image is not modified');
  });

  t.test('no fallback beside shim: shim starts grubaa64.efi from its own directory', async (t) => {
    const f = await removable(disk('beside', { bootDir: ['grub', 'mokManager'], vendorDir: { name: 'debian', csv: true, grub: true } }));
    t.match(f, { loaderKind: 'shim', kernelReached: true, unfollowable: null, defaultEntry: { linux: { exists: true } } });
    t.same(f.steps.slice(0, 2), ['\\EFI\\BOOT\\BOOTAA64.EFI: shim', '\\EFI\\BOOT\\grubaa64.efi: GRUB (prefix "/EFI/debian", embedded config, memdisk)']);
  });

  t.test('shim alone at the removable path: nothing to start, FW-6 fails naming grubaa64.efi', async (t) => {
    const image = disk('alone', { bootDir: [] });
    const f = await removable(image);
    t.match(f, { loaderKind: 'shim', kernelReached: false, unfollowable: null, defaultEntry: null });
    t.same(f.steps, ['\\EFI\\BOOT\\BOOTAA64.EFI: shim', '/EFI/BOOT/grubaa64.efi not found and no /EFI/BOOT/fbaa64.efi: shim has nothing to start']);
    const res = verifyImage(t, image, ['--profile', 'image']);
    t.equal(status(res, 'V2-FW-NO-PRESET-BOOTVARS'), 'fail');
  });

  t.test('the fallback with no BOOTAA64.CSV: nothing registered, nothing started, FW-6 fails', async (t) => {
    const image = disk('no-csv', { bootDir: ['grub', 'fallback'], vendorDir: { name: 'debian', csv: false, grub: true } });
    const f = await removable(image);
    t.match(f, { loaderKind: 'shim', kernelReached: false, defaultEntry: null });
    t.match(f.steps[f.steps.length - 1], /no \\EFI\\<vendor>\\BOOTAA64\.CSV or BOOT\.CSV names a loader: the fallback has nothing to start/);
    const res = verifyImage(t, image, ['--profile', 'image']);
    t.equal(status(res, 'V2-FW-NO-PRESET-BOOTVARS'), 'fail');
  });

  t.test('shim\'s fallback itself at the removable path is named, not followed', async (t) => {
    const f = await removable(guestDisk({ name: 'shim-fb-as-loader', rootContent: root, loader: s.fallback }));
    t.match(f, { loaderKind: 'unknown', unfollowable: /shim's fallback or MokManager, not a boot loader/ });
  });
});
