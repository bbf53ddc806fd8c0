/**
 * A unified kernel image at the removable path (systemd-stub with the
 * kernel, initrd, command line, os-release and release inside, built with
 * objcopy onto Debian's real linuxaa64.efi.stub): its sections are read as
 * objcopy extracts them, its .cmdline's root= decides the root, its .uname
 * names the default kernel, its .initrd is the initrd the guest clauses
 * judge (not the root's /boot/initrd.img-V, which the UKI does not load):
 * both ways, a UKI whose .initrd carries the virtio drivers passes
 * V2-GUEST-VIRTIO-PCI over a root whose own initrd lacks them, and one
 * whose .initrd lacks virtio_blk fails it over a root whose own initrd has
 * it. A UKI cut short is a clear error, not a boot.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError } from '../../../bytes/errors.js';
import { readUki, ukiBytes } from '../../../probes/efi/uki.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { readPe } from '../../../probes/image/pe.js';
import { readUkiInitrd } from '../../../probes/rootfs/bootloader.js';
import { guestView } from '../../../probes/rootfs/guest.js';
import { rootfsProbe } from '../../../probes/rootfs/rootfs.probe.js';
import { Memo } from '../../../probes/types.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import { buildInitrd, buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, ROOT_UUID } from '../../fixtures/rootfs-builder.js';
import { buildUki, ukiSection, ukiUnavailable } from '../../fixtures/uki-builder.js';
import { verifyImage, virtioBlkDrivers } from './verify-cli.js';

const unavailable = fastFixturesUnavailable() || ukiUnavailable();

t.test('unified kernel images', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const initrd = buildInitrd({ kernel: k, modules: ['virtio_blk'], compression: 'zstd' });
  const cmdline = `root=UUID=${ROOT_UUID} ro console=ttyAMA0`;
  const uki = buildUki({
    name: 'debian', cmdline, uname: k.version, osRelease: 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    kernelImage: join(k.root, 'boot', `vmlinuz-${k.version}`), initrd,
  });
  const bytes = readFileSync(uki);

  t.test('sections read as objcopy extracts them', async (t) => {
    const pe = readPe(bytes.subarray(0, 64 * 1024), bytes.length);
    const r = readUki(ukiBytes(bytes), pe, 'uki.efi');
    const tmp = mkdtempSync(join(tmpdir(), 'vmspec-uki-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    t.equal(r.cmdline, readFileSync(ukiSection(uki, '.cmdline', join(tmp, 'c')), 'utf8'));
    t.equal(r.uname, k.version);
    t.match(r.osRelease, { ID: 'debian', PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)' });
    t.ok(bytes.subarray(r.linux.offset, r.linux.offset + r.linux.size).equals(readFileSync(ukiSection(uki, '.linux', join(tmp, 'l')))), '.linux is the section objcopy extracts');
    t.ok(readFileSync(join(k.root, 'boot', `vmlinuz-${k.version}`)).equals(bytes.subarray(r.linux.offset, r.linux.offset + r.linux.size)), '.linux is the kernel put in');
    t.ok(readFileSync(initrd).equals(bytes.subarray(r.initrd!.offset, r.initrd!.offset + r.initrd!.size)), '.initrd is the initrd put in');
  });

  t.test('a UKI cut short: the section past the end is named', async (t) => {
    const cut = bytes.subarray(0, bytes.length >> 1);
    const pe = readPe(cut.subarray(0, 64 * 1024), cut.length);
    t.throws(() => readUki(ukiBytes(cut), pe, 'BOOTAA64.EFI'), ParseError);
    t.throws(() => readUki(ukiBytes(cut), pe, 'BOOTAA64.EFI'), { message: /BOOTAA64\.EFI: section \.(linux|initrd) at offset \d+: \d+ bytes at \d+ run past the end of the \d+-byte file/ });
  });

  t.test('the UKI at the removable path: its root= decides the root, its .uname the default kernel', async (t) => {
    const root = buildSyntheticRoot({ name: 'btrfs-src-good-set-default', kernels: [{ kernel: k, initrd: { modules: ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'], compression: 'zstd', early: true } }], grubCfg: debianGrubCfg([k.version]) }).image;
    const image = guestDisk({ name: 'uki-removable', rootContent: root, loader: uki, stub: 'none' });
    const before = sha256File(image);
    const d = openDisk(image);
    try {
      const facts = await rootfsProbe.run({ image: d, memo: new Memo() }, {}) as Record<string, any>;
      t.match(facts.rootfs, { decidedBy: 'cmdline', partition: 2, why: new RegExp(`^root=UUID=${ROOT_UUID} on the command line of the default entry "Debian GNU/Linux 12 \\(bookworm\\)" \\(\\(hd0,gpt1\\)/EFI/BOOT/BOOTAA64.EFI\\) names partition 2$`) });
      t.match(facts.defaultKernel, { version: k.version, selectedBy: 'bootloader', why: /\.uname/ });
      t.match(facts.boot, { source: 'removable-path', cmdline, consoles: ['ttyAMA0'], linux: { path: '/EFI/BOOT/BOOTAA64.EFI:.linux', exists: true } });
    } finally {
      d.close();
    }
    t.equal(sha256File(image), before, 'the image is not modified');
  });

  t.test('the UKI\'s .initrd is the initrd judged, not the root\'s own', async (t) => {
    const ALL = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];
    const NO_BLK = ALL.filter((m) => m !== 'virtio_blk');
    const ukiWith = (name: string, modules: string[]): { uki: string; initrd: string } => {
      const initrd = buildInitrd({ kernel: k, modules, compression: 'zstd', early: true });
      return { initrd, uki: buildUki({ name, cmdline, uname: k.version, osRelease: 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', kernelImage: join(k.root, 'boot', `vmlinuz-${k.version}`), initrd }) };
    };
    const rootWith = (name: string, modules: string[]): string => buildSyntheticRoot({ name, kernels: [{ kernel: k, initrd: { modules, compression: 'zstd', early: true } }], grubCfg: debianGrubCfg([k.version]) }).image;
    const status = (image: string, id: string): string | undefined => verifyImage(t, image, ['--profile', 'image']).results.find((r) => r.id === id)?.status;

    const good = ukiWith('initrd-all', ALL);
    const passImage = guestDisk({ name: 'uki-initrd-all', rootContent: rootWith('uki-root-no-blk', NO_BLK), loader: good.uki, stub: 'none' });
    const before = sha256File(passImage);
    const f = await virtioBlkDrivers(passImage);
    t.match(f.kernel, { version: k.version, selectedBy: 'bootloader', initrd: '(hd0,gpt1)/EFI/BOOT/BOOTAA64.EFI:.initrd' });
    t.match(f.initrd, { path: '(hd0,gpt1)/EFI/BOOT/BOOTAA64.EFI:.initrd', size: readFileSync(good.initrd).length });
    t.match(f.options.CONFIG_VIRTIO_BLK, { state: 'm', inInitrd: true, available: 'initrd' });
    // Oracle: the bytes judged are the .initrd section objcopy extracts.
    const tmp = mkdtempSync(join(tmpdir(), 'vmspec-uki-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const d = openDisk(passImage);
    try {
      const memo = new Memo();
      const at = guestView(d, memo).defaultKernel!.boot!.ukiInitrd!;
      t.ok(Buffer.from(readUkiInitrd(d, memo, at)).equals(readFileSync(ukiSection(good.uki, '.initrd', join(tmp, 'i')))), 'the .initrd read from the ESP is the section objcopy extracts');
    } finally {
      d.close();
    }
    t.equal(status(passImage, 'V2-GUEST-VIRTIO-PCI'), 'pass', 'the UKI\'s initrd has virtio_blk, though the root\'s own initrd lacks it');
    t.equal(sha256File(passImage), before, 'the image is not modified');

    const bad = ukiWith('initrd-no-blk', NO_BLK);
    const failImage = guestDisk({ name: 'uki-initrd-no-blk', rootContent: rootWith('uki-root-all', ALL), loader: bad.uki, stub: 'none' });
    const g = await virtioBlkDrivers(failImage);
    t.match(g.options.CONFIG_VIRTIO_BLK, { state: 'm', inInitrd: false, available: 'module' }, 'virtio_blk is only in the root, as far as the UKI boots');
    t.equal(status(failImage, 'V2-GUEST-VIRTIO-PCI'), 'fail', 'the root\'s own initrd (with virtio_blk) is not what the UKI boots');
  });
});
