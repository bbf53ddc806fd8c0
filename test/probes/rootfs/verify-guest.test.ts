/**
 * `vmspec verify` on whole images (GPT: ESP with Debian's monolithic GRUB
 * and the grub-install stub, aarch64 root with a synthetic ext4 holding the
 * real Debian arm64 kernel config, module files and a host-made initrd):
 * each broken kernel, initrd, boot path or firmware file fails exactly its
 * clause; roots vmspec cannot read skip the guest clauses with the reason;
 * a damaged root is an error, not a crash; qcow2 gives raw's verdicts.
 */
import t from 'tap';
import { closeSync, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { join } from 'node:path';
import { validator } from '../../../requirements/schemas.js';
import { loadSpecOrThrow, type SpecSet } from '../../../requirements/spec-load.js';
import { verify as runVerify } from '../../../engine/verify.js';
import type { RunResults } from '../../../engine/results.js';
import { cachedDir, run } from '../../fixtures/cache.js';
import { sha256File, toQcow2 } from '../../fixtures/disk-builder.js';
import { debugfs, patch } from '../../fixtures/ext4-builder.js';
import {
  buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, have, otherFilesystem,
  type InstalledKernel, type SyntheticRootSpec,
} from '../../fixtures/rootfs-builder.js';
import { vmspec } from '../../cli/cli-runner.js';
import { verifyImage } from './verify-cli.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';

const unavailable = fastFixturesUnavailable();

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** Through the built CLI (test/probes/rootfs/verify-cli.ts). */
const cli = (t: Tap, image: string, extra: string[] = []): RunResults => verifyImage(t, image, extra);

const specs = new Map<string, SpecSet>();
/**
 * The same verification in-process (engine/verify.ts, what the CLI calls), for the bulk of the matrix:
 * a CLI run costs a second of node start-up and spec loading each.
 */
async function verify(t: Tap, image: string, extra: string[] = []): Promise<RunResults> {
  const arg = (name: string): string | null => {
    const i = extra.indexOf(name);
    return i >= 0 ? extra[i + 1] ?? null : null;
  };
  const specName = arg('--spec') ?? 'vmspec-v2';
  let spec = specs.get(specName);
  if (!spec) {
    spec = loadSpecOrThrow(specName);
    specs.set(specName, spec);
  }
  const res = await runVerify({ spec, selection: { profile: arg('--profile'), only: [], section: [], level: [], target: [], tags: [] }, image });
  const validate = validator('results');
  t.ok(validate(JSON.parse(JSON.stringify(res))), `results are schema-valid ${JSON.stringify(validate.errors ?? [])}`);
  return res;
}

const byStatus = (res: RunResults, status: string) => res.results.filter((r) => r.status === status).map((r) => r.id).sort();
const result = (res: RunResults, id: string) => res.results.find((r) => r.id === id)!;

/** Every automated clause of the image and guest targets, for "everything else passes". */
const GUEST_V2 = [
  'V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC',
  'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-NET', 'V2-GUEST-XEN-CONSOLE', 'V2-GUEST-XEN-BALLOON',
];
const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];

function main(): void {
  const k = debianKernel('arm64');
  const goodKernel: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  const root = (name: string, kernels: InstalledKernel[], extra: Partial<SyntheticRootSpec> = {}) =>
    buildSyntheticRoot({ name: `guest-${name}`, kernels, grubCfg: debianGrubCfg(kernels.map((x) => x.renameTo ?? x.kernel.version)), ...extra }).image;
  const disk = (name: string, rootImage: string | null, extra: Partial<Parameters<typeof guestDisk>[0]> = {}) => guestDisk({ name, rootContent: rootImage, ...extra });
  const goodRoot = root('good', [goodKernel]);
  const good = disk('good', goodRoot);

  t.test('a compliant image: every image and guest clause passes, with evidence', async (t) => {
    const res = cli(t, good, ['--profile', 'image']);
    t.same(byStatus(res, 'fail'), []);
    t.same(byStatus(res, 'error'), []);
    t.equal(res.exitCode, 0);
    const pass = byStatus(res, 'pass');
    for (const id of [...GUEST_V2, 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE', 'V2-IMG-ESP-BOOT-FILE']) t.ok(pass.includes(id), `${id} passes`);
    t.equal(result(res, 'V2-GUEST-DISCOVER-PERIPHERALS').status, 'manual', 'GUEST-5 stays manual');
    t.ok(res.results.every((r) => r.target === 'image' || r.target === 'guest'), '--profile image selects image and guest clauses');
    // Evidence: file paths and config lines.
    t.match(result(res, 'V2-GUEST-GICV3').observed, {
      rootfs: { unreadable: null, partition: 2, filesystem: 'ext4' },
      kernel: { version: k.version, config: `/boot/config-${k.version}`, selectedBy: 'bootloader', why: /default entry "Debian GNU\/Linux" of the removable-path boot loader/, imageFormat: 'arm64-image', arch: 'arm64' },
      options: { CONFIG_ARM_GIC_V3: { state: 'y', line: 'CONFIG_ARM_GIC_V3=y', lineNumber: Number } },
    });
    t.match(result(res, 'V2-GUEST-VIRTIO-PCI').observed, {
      options: { CONFIG_VIRTIO_PCI: { state: 'm', moduleFile: `/usr/lib/modules/${k.version}/kernel/drivers/virtio/virtio_pci.ko`, inInitrd: true, initrdPath: `usr/lib/modules/${k.version}/kernel/drivers/virtio/virtio_pci.ko`, missingDeps: [], available: 'initrd' } },
      initrd: { path: `/boot/initrd.img-${k.version}`, segments: ['cpio newc at 0', /^zstd at \d+$/] },
    });
    t.match(result(res, 'V2-FW-NO-PRESET-BOOTVARS').observed, {
      loaderKind: 'grub', grubPrefix: '/EFI/debian', kernelReached: true,
      configFiles: ['(embedded config)', '(memdisk)/grub.cfg', '(hd0,gpt1)/EFI/debian/grub.cfg', '(hd0,gpt2)/boot/grub/grub.cfg'],
      defaultEntry: { linux: { path: `/boot/vmlinuz-${k.version}`, device: 'hd0,gpt2', exists: true }, cmdline: /console=ttyAMA0/ },
    });
    const v1 = await verify(t, good, ['--spec', 'vmspec-v1', '--profile', 'image']);
    t.same(byStatus(v1, 'fail'), [], 'v1: no failures either');
    t.ok(byStatus(v1, 'pass').includes('V1-GUEST-CONSOLE-VIRTIO'));
  });

  t.test('qcow2 gives the same verdicts as raw, and the image is not modified', async (t) => {
    const broken = disk('no-gicv3', root('no-gicv3', [{ ...goodKernel, configEdits: { CONFIG_ARM_GIC_V3: null } }]));
    for (const raw of [good, broken]) {
      const q = toQcow2(raw, { compressed: true });
      const before = [sha256File(raw), sha256File(q)];
      const a = cli(t, raw);
      const b = cli(t, q);
      t.same([sha256File(raw), sha256File(q)], before, 'neither file changed');
      t.same(b.results.map((r) => [r.id, r.status, r.message]), a.results.map((r) => [r.id, r.status, r.message]), 'same verdicts and messages');
      t.equal(b.target.format, 'qcow2');
    }
  });

  t.test('each broken kernel or initrd fails exactly its clause', async (t) => {
    const cases: { name: string; kernels: InstalledKernel[]; fails: string[]; exit: number; why?: RegExp }[] = [
      { name: 'no-pl011', kernels: [{ ...goodKernel, configEdits: { CONFIG_SERIAL_AMBA_PL011: 'n', CONFIG_SERIAL_AMBA_PL011_CONSOLE: null } }], fails: ['V2-GUEST-CONSOLE-PL011', 'V2-GUEST-CONSOLE-SBSA-UART'], exit: 1, why: /CONFIG_SERIAL_AMBA_PL011\.available .*found "missing"/ },
      { name: 'pl011-module', kernels: [{ ...goodKernel, configEdits: { CONFIG_SERIAL_AMBA_PL011: 'm', CONFIG_SERIAL_AMBA_PL011_CONSOLE: null } }], fails: ['V2-GUEST-CONSOLE-PL011', 'V2-GUEST-CONSOLE-SBSA-UART'], exit: 1 },
      { name: 'no-gicv2', kernels: [{ ...goodKernel, configEdits: { CONFIG_ARM_GIC: 'n' } }], fails: ['V2-GUEST-GICV2'], exit: 1 },
      { name: 'no-gicv3', kernels: [{ ...goodKernel, configEdits: { CONFIG_ARM_GIC_V3: null } }], fails: ['V2-GUEST-GICV3'], exit: 1 },
      { name: 'no-rtc-efi', kernels: [{ ...goodKernel, configEdits: { CONFIG_RTC_DRV_EFI: 'n' } }], fails: ['V2-GUEST-UEFI-RTC'], exit: 1 },
      // =m without the module installed (Debian builds rtc-efi in, so there is no rtc-efi.ko): missing.
      { name: 'rtc-efi-module-absent', kernels: [{ ...goodKernel, configEdits: { CONFIG_RTC_DRV_EFI: 'm' } }], fails: ['V2-GUEST-UEFI-RTC'], exit: 1 },
      { name: 'no-xen-balloon', kernels: [{ ...goodKernel, configEdits: { CONFIG_XEN_BALLOON: 'n' } }], fails: ['V2-GUEST-XEN-BALLOON'], exit: 0 },
      { name: 'no-hvc-xen', kernels: [{ ...goodKernel, configEdits: { CONFIG_HVC_XEN: 'n' } }], fails: ['V2-GUEST-XEN-CONSOLE'], exit: 0 },
      // =m present in the initrd passes; absent from it fails the initrd clause only.
      { name: 'virtio-pci-not-in-initrd', kernels: [{ kernel: k, initrd: { modules: ALL_INITRD.filter((m) => m !== 'virtio_pci'), compression: 'gzip' } }], fails: ['V2-GUEST-VIRTIO-PCI'], exit: 0, why: /CONFIG_VIRTIO_PCI\.available .*found "module"/ },
      { name: 'virtio-pci-dep-missing', kernels: [{ kernel: k, initrd: { modules: ALL_INITRD, exclude: ['virtio_pci_modern_dev'], compression: 'xz' } }], fails: ['V2-GUEST-VIRTIO-PCI'], exit: 0 },
      { name: 'xen-net-not-in-initrd', kernels: [{ kernel: k, initrd: { modules: ALL_INITRD.filter((m) => m !== 'xen-netfront'), compression: 'zstd' } }], fails: ['V2-GUEST-XEN-NET'], exit: 0 },
      { name: 'no-initrd', kernels: [{ kernel: k }], fails: ['V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-NET'], exit: 0 },
      { name: 'module-file-missing', kernels: [{ ...goodKernel, dropModules: ['virtio_mmio'] }], fails: ['V2-GUEST-VIRTIO-MMIO'], exit: 0 },
      // Built in needs no initrd at all.
      {
        name: 'all-builtin',
        kernels: [{ kernel: k, configEdits: { CONFIG_VIRTIO_PCI: 'y', CONFIG_VIRTIO_BLK: 'y', CONFIG_VIRTIO_NET: 'y', CONFIG_VIRTIO_MMIO: 'y', CONFIG_VIRTIO_CONSOLE: 'y', CONFIG_VIRTIO_BALLOON: 'y', CONFIG_XEN_BLKDEV_FRONTEND: 'y', CONFIG_XEN_NETDEV_FRONTEND: 'y' } }],
        fails: [], exit: 0,
      },
    ];
    for (const [i, c] of cases.entries()) {
      const image = disk(c.name, root(c.name, c.kernels));
      const res = i < 2 || c.name === 'virtio-pci-not-in-initrd' ? cli(t, image) : await verify(t, image);
      t.same(byStatus(res, 'fail'), c.fails, `${c.name}: fails ${c.fails.join(', ') || 'nothing'}`);
      t.same(byStatus(res, 'error'), [], `${c.name}: no errors`);
      t.equal(res.exitCode, c.exit, `${c.name}: exit ${c.exit}`);
      if (c.why) t.match(result(res, c.fails[0]!).message, c.why, `${c.name}: the message names the option and what was found`);
    }
  });

  t.test('several kernels: the default one is judged, the others reported', async (t) => {
    const newer = '6.1.0-99-arm64';
    // The newer one has its virtio/Xen drivers built in (its initrd would need modules of its own release).
    const builtin = { CONFIG_VIRTIO_PCI: 'y', CONFIG_VIRTIO_BLK: 'y', CONFIG_VIRTIO_NET: 'y', CONFIG_VIRTIO_MMIO: 'y', CONFIG_VIRTIO_CONSOLE: 'y', CONFIG_VIRTIO_BALLOON: 'y', CONFIG_XEN_BLKDEV_FRONTEND: 'y', CONFIG_XEN_NETDEV_FRONTEND: 'y' } as const;
    const kernels: InstalledKernel[] = [goodKernel, { kernel: k, renameTo: newer, configEdits: { ...builtin, CONFIG_ARM_GIC_V3: 'n' } }];
    // Entry 0 boots the first kernel listed (the older, good one), although another is newer by version.
    const olderDefault = await verify(t, disk('two-kernels', root('two-kernels', kernels)));
    t.same(byStatus(olderDefault, 'fail'), [], 'the default (older) kernel passes');
    t.match(result(olderDefault, 'V2-GUEST-GICV3').observed, { kernel: { version: k.version, selectedBy: 'bootloader' }, otherKernels: [{ version: newer, config: `/boot/config-${newer}` }] });
    // grub default "1>1": the submenu's second entry boots the newer kernel.
    const submenu = await verify(t, disk('two-kernels-1', root('two-kernels-1', kernels, { grubCfg: debianGrubCfg([k.version, newer], { defaultEntry: '1>1' }) })));
    t.same(byStatus(submenu, 'fail'), ['V2-GUEST-GICV3'], 'default="1>1" judges the newer kernel');
    t.match(result(submenu, 'V2-GUEST-GICV3').observed, { kernel: { version: newer, why: /default="1>1"/ }, otherKernels: [{ version: k.version }] });
    // grubenv saved_entry names the newer kernel by id.
    const saved = await verify(t, disk('two-kernels-saved', root('two-kernels-saved', kernels, {
      grubCfg: debianGrubCfg([k.version, newer], { defaultEntry: '${saved_entry}' }),
      files: { 'boot/grub/grubenv': `# GRUB Environment Block\nsaved_entry=gnulinux-${newer}-advanced-6d3b2f9a-8c1e-4e2b-9a55-2b1f0c7d4e10\n${'#'.repeat(900)}` },
    })));
    t.same(byStatus(saved, 'fail'), ['V2-GUEST-GICV3'], 'saved_entry in grubenv picks the newer kernel');
    // No bootloader configuration: the newest by version.
    const newest = await verify(t, disk('two-kernels-nogrub', root('two-kernels-nogrub', kernels, { grubCfg: undefined }), { stub: 'none' }));
    t.match(result(newest, 'V2-GUEST-GICV3'), { status: 'fail', observed: { kernel: { version: newer, selectedBy: 'newest' } } });
    t.same(byStatus(newest, 'fail'), ['V2-FW-NO-PRESET-BOOTVARS', 'V2-GUEST-GICV3'], 'and without a configuration GRUB reaches no kernel: FW-6 fails');
  });

  t.test('the removable path: GRUB that finds no configuration fails FW-6 alone', async (t) => {
    const res = cli(t, disk('no-stub', goodRoot, { stub: 'none' }));
    t.same(byStatus(res, 'fail'), ['V2-FW-NO-PRESET-BOOTVARS']);
    t.match(result(res, 'V2-FW-NO-PRESET-BOOTVARS').observed, { kernelReached: false, unfollowable: null, defaultEntry: null });
    // The guest clauses still judge the kernel the root's own grub.cfg boots.
    t.match(result(res, 'V2-GUEST-GICV3').observed, { kernel: { selectedBy: 'bootloader', why: /the root's GRUB configuration/ } });
    const beside = await verify(t, disk('stub-beside', goodRoot, { stub: 'beside' }));
    t.equal(result(beside, 'V2-FW-NO-PRESET-BOOTVARS').status, 'pass', 'grub.cfg beside the loader (\\EFI\\BOOT) is found through $cmdpath');
    const wrongUuid = await verify(t, disk('stub-wrong-uuid', goodRoot, { stubUuid: '11111111-2222-3333-4444-555555555555' }));
    t.same(byStatus(wrongUuid, 'fail'), ['V2-FW-NO-PRESET-BOOTVARS'], 'a stub searching for another filesystem UUID reaches nothing');
  });

  t.test('systemd-boot at the removable path: loader.conf and its BLS entry lead to the kernel on the ESP', async (t) => {
    const dir = t.testdir({
      'loader.conf': 'timeout 3\ndefault debian-*\n',
      'entry.conf': `title Debian GNU/Linux\nversion ${k.version}\nlinux /vmlinuz-${k.version}\noptions root=UUID=x ro console=ttyAMA0\n`,
    });
    const espFiles = {
      '/loader/loader.conf': join(dir, 'loader.conf'),
      '/loader/entries/debian-1.conf': join(dir, 'entry.conf'),
    };
    const loader = efiBinaries().systemdBootAa64;
    const withKernel = await verify(t, disk('sd-boot', goodRoot, { stub: 'none', loader, espFiles: { ...espFiles, [`/vmlinuz-${k.version}`]: join(k.root, 'boot', `vmlinuz-${k.version}`) } }));
    t.same(byStatus(withKernel, 'fail'), []);
    t.equal(result(withKernel, 'V2-FW-NO-PRESET-BOOTVARS').status, 'pass');
    t.match(result(withKernel, 'V2-FW-NO-PRESET-BOOTVARS').observed, { loaderKind: 'systemd-boot', kernelReached: true, unfollowable: null });
    const noKernel = await verify(t, disk('sd-boot-no-kernel', goodRoot, { stub: 'none', loader, espFiles }));
    t.same(byStatus(noKernel, 'fail'), ['V2-FW-NO-PRESET-BOOTVARS'], 'an entry whose kernel is not on the ESP reaches nothing');
    t.match(result(noKernel, 'V2-FW-NO-PRESET-BOOTVARS').observed, { loaderKind: 'systemd-boot', kernelReached: false });
  });

  t.test('firmware shipped in the image fails FW-7 alone', { skip: existsSync('/usr/share/qemu-efi-aarch64/QEMU_EFI.fd') ? false : 'QEMU_EFI.fd not installed (Debian package qemu-efi-aarch64)' }, async (t) => {
    const fd = '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';
    const onEsp = cli(t, disk('fw-on-esp', goodRoot, { espFiles: { '/EFI/BOOT/QEMU_EFI.fd': fd } }));
    t.same(byStatus(onEsp, 'fail'), ['V2-FW-NOT-IN-IMAGE']);
    t.equal(onEsp.exitCode, 0, 'SHOULD NOT: not mandatory');
    t.match(result(onEsp, 'V2-FW-NOT-IN-IMAGE').observed, { volumes: [{ where: 'esp', path: '/EFI/BOOT/QEMU_EFI.fd', offset: 4096, fileSystem: /FFS2/ }] });
    const inRoot = await verify(t, disk('fw-in-root', root('fw-in-root', [goodKernel], { files: { 'usr/share/AAVMF/.keep': '' } }), {}));
    t.same(byStatus(inRoot, 'fail'), [], 'an empty firmware directory is fine');
    const withFd = buildSyntheticRoot({ name: 'guest-fw-in-root-2', kernels: [goodKernel], grubCfg: debianGrubCfg([k.version]), copies: { 'usr/share/qemu-efi-aarch64/QEMU_EFI.fd': fd } }).image;
    const inRoot2 = await verify(t, disk('fw-in-root-2', withFd));
    t.same(byStatus(inRoot2, 'fail'), ['V2-FW-NOT-IN-IMAGE']);
    t.match(result(inRoot2, 'V2-FW-NOT-IN-IMAGE').observed, { volumes: [{ where: 'rootfs', path: '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd' }], rootfsDirs: ['/usr/share/qemu-efi-aarch64', '/boot'] });
  });

  t.test('roots vmspec cannot read: the guest clauses are undecided with the reason', async (t) => {
    const lvm = otherFilesystem('lvm-label', 8, `printf 'LABELONE' | dd of="$1" bs=1 seek=512 conv=notrunc status=none && printf '\\001' | dd of="$1" bs=1 seek=520 conv=notrunc status=none && printf ' ' | dd of="$1" bs=1 seek=532 conv=notrunc status=none && printf 'LVM2 001' | dd of="$1" bs=1 seek=536 conv=notrunc status=none`);
    const cases: { name: string; content: string | null; reason: RegExp; skip?: string }[] = [
      { name: 'lvm', content: lvm, reason: /partition 2 is an LVM2 physical volume that cannot be read: LVM label_header at offset 512: crc_xl/ },
      { name: 'luks', content: have('cryptsetup') ? otherFilesystem('luks2', 32, 'printf pw | cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file - "$1"') : null, reason: /partition 2 is LUKS-encrypted/, skip: have('cryptsetup') ? undefined : 'cryptsetup not installed' },
      { name: 'btrfs', content: have('mkfs.btrfs') ? otherFilesystem('btrfs', 128, 'mkfs.btrfs -q -f "$1"') : null, reason: /partition 2 is btrfs without \/etc and \/usr \(not a root filesystem\)/, skip: have('mkfs.btrfs') ? undefined : 'mkfs.btrfs not installed' },
      { name: 'empty', content: null, reason: /partition 2 holds no recognised filesystem/ },
      {
        name: 'ext4-unknown-feature',
        // An incompatible feature bit no reader knows: refused by name, not misread.
        content: join(cachedDir('rootfs-unknown-incompat', { v: 1, from: goodRoot }, (d) => {
          copyFileSparse(goodRoot, join(d, 'root.ext4'));
          const fd = openSync(join(d, 'root.ext4'), 'r+');
          const b = Buffer.alloc(4);
          readSync(fd, b, 0, 4, 1024 + 0x60);
          b.writeUInt32LE((b.readUInt32LE(0) | 0x80000000) >>> 0, 0);
          writeSync(fd, b, 0, 4, 1024 + 0x60);
          closeSync(fd);
        }), 'root.ext4'),
        reason: /partition 2 is ext4 vmspec cannot read \(ext4 filesystem uses incompatible feature unknown\(0x80000000\)/,
      },
    ];
    for (const c of cases) {
      if (c.skip) {
        t.test(c.name, { skip: c.skip }, async () => {});
        continue;
      }
      const image = disk(`unreadable-${c.name}`, c.content);
      const res = c.name === 'lvm' ? cli(t, image) : await verify(t, image);
      t.same(byStatus(res, 'fail'), [], `${c.name}: nothing fails falsely`);
      t.same(byStatus(res, 'error'), [], `${c.name}: no errors`);
      for (const id of GUEST_V2) {
        const r = result(res, id);
        t.equal(r.status, 'undecided', `${c.name}: ${id} is undecided (applies, root unreadable)`);
        t.match(r.message, c.reason, `${c.name}: ${id} says why`);
      }
      t.equal(result(res, 'V2-FW-NO-PRESET-BOOTVARS').status, 'skip', `${c.name}: FW-6 skips (GRUB may read what vmspec cannot)`);
      t.equal(result(res, 'V2-FW-NOT-IN-IMAGE').status, c.name === 'empty' ? 'pass' : 'skip', `${c.name}: FW-7 ${c.name === 'empty' ? 'passes (nothing to hide firmware in)' : 'skips (the root could not be scanned)'}`);
    }
  });

  t.test('no kernel, or no config: the guest clauses are undecided with the reason', async (t) => {
    const noKernel = await verify(t, disk('no-kernel', buildSyntheticRoot({ name: 'guest-no-kernel', kernels: [] }).image));
    t.match(result(noKernel, 'V2-GUEST-GICV2'), { status: 'undecided', message: /kernel\.configMissing is "no kernel installed/ });
    t.same(byStatus(noKernel, 'fail'), ['V2-FW-NO-PRESET-BOOTVARS'], 'nothing to boot: FW-6 fails');
    const noConfig = await verify(t, disk('no-config', root('no-config', [{ ...goodKernel, noConfig: true }])));
    t.match(result(noConfig, 'V2-GUEST-GICV2'), { status: 'undecided', message: new RegExp(`no configuration for kernel ${k.version.replace(/\./g, '\\.')}: looked for /boot/config-`) });
    t.same(byStatus(noConfig, 'fail'), []);
  });

  t.test('a damaged root filesystem is an error with the reason, never a crash', async (t) => {
    /** A patched copy of the good root, cached by what it was made from. */
    const damaged = (name: string, damage: (image: string) => void): string =>
      join(cachedDir(`rootfs-damaged-${name}`, { v: 1, from: goodRoot }, (d) => {
        copyFileSparse(goodRoot, join(d, 'root.ext4'));
        damage(join(d, 'root.ext4'));
      }), 'root.ext4');
    // Superblock: s_blocks_per_group = 0.
    const sb = damaged('sb', (img) => patch(img, 1024 + 0x20, [0, 0, 0, 0]));
    const r1 = cli(t, disk('damaged-sb', sb));
    for (const id of GUEST_V2) t.match(result(r1, id), { status: 'error', message: /root filesystem: partition 2 .*s_blocks_per_group 0 is outside/ }, `superblock: ${id}`);
    t.equal(r1.exitCode, 3, 'exit 3: a probe errored, nothing mandatory failed');
    // The /boot directory's block overwritten with garbage.
    const boot = damaged('boot', (img) => {
      const block = Number(debugfs(img, 'blocks /boot').trim().split(/\s+/)[0]);
      const bs = Number(/Block size:\s+(\d+)/.exec(run('dumpe2fs', ['-h', img]))![1]);
      patch(img, block * bs, new Uint8Array(bs).fill(0xff));
    });
    const r2 = cli(t, disk('damaged-boot', boot));
    t.match(result(r2, 'V2-GUEST-GICV3'), { status: 'error', message: /probe image\.kernel-drivers could not run: .*ext4 directory inode \d+ block 0/ });
    t.notMatch(JSON.stringify(r2.results.map((r) => r.message)), /internal error|RangeError|at .*\.js:\d+/, 'no internal errors or stack traces');
  });
}

if (unavailable) {
  t.plan(0, `root filesystem fixtures cannot be built: ${unavailable}`);
} else {
  main();
}
