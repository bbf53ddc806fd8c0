/**
 * `vmspec verify` on whole images whose root is btrfs (GPT: the same ESP
 * with Debian's monolithic GRUB, a btrfs root partition holding the same
 * synthetic distribution tree the ext4 tests use, copied in through a
 * kernel mount with compress=zstd): the guest and firmware clauses are
 * decided exactly as on the ext4 equivalent, in both distribution layouts
 * (openSUSE's set-default subvolume, Fedora's `root` subvolume under the
 * top level with GRUB paths through it), and a broken kernel config fails
 * its clause.
 */
import t from 'tap';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { openDisk } from '../../../probes/image/open-disk.js';
import { rootfsProbe } from '../../../probes/rootfs/rootfs.probe.js';
import { Memo } from '../../../probes/types.js';
import type { RunResults } from '../../../engine/results.js';
import { btrfsUnavailable, buildBtrfs } from '../../fixtures/btrfs-builder.js';
import { cachedDir } from '../../fixtures/cache.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import {
  buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, ROOT_UUID, type InstalledKernel,
} from '../../fixtures/rootfs-builder.js';
import { verifyImage } from './verify-cli.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** Through the built CLI (test/probes/rootfs/verify-cli.ts), image clauses only. */
const cli = (t: Tap, image: string): RunResults => verifyImage(t, image, ['--profile', 'image']);

const verdicts = (res: RunResults): Record<string, string> => Object.fromEntries(res.results.map((r) => [r.id, r.status]));
const byStatus = (res: RunResults, status: string) => res.results.filter((r) => r.status === status).map((r) => r.id).sort();
const result = (res: RunResults, id: string) => res.results.find((r) => r.id === id)!;

/** The guest clauses (GUEST-1..4) and the firmware ones read from the image (FW-6/7). */
const DECIDED = [
  'V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC',
  'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE',
];
const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];

type Layout = 'set-default' | 'fedora';

/**
 * The ext4 root's tree copied into a btrfs subvolume `root` by the kernel:
 * set-default makes it the default subvolume (GRUB and the root agree on
 * paths); the Fedora layout leaves the top level default, so GRUB's paths
 * go through /root.
 */
function btrfsRoot(name: string, ext4Image: string, layout: Layout): string {
  return buildBtrfs({
    name: `root-${name}-${layout}`,
    sizeMiB: 320,
    uuid: ROOT_UUID,
    label: 'rootfs',
    mountOptions: 'compress=zstd',
    inputs: [ext4Image],
    populate: [
      `mount -o ro,loop -t ext4 '${ext4Image}' "$2"`,
      'btrfs -q subvolume create "$1/root"',
      'btrfs -q subvolume create "$1/home"',
      'cp -a "$2/." "$1/root/"',
      'umount "$2"',
      layout === 'set-default' ? 'btrfs -q subvolume set-default "$1/root"' : 'true',
    ].join('\n'),
  });
}

function main(): void {
  const k = debianKernel('arm64');
  const goodKernel: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  /** Fedora's grub2-mkconfig on a btrfs /boot inside subvolume `root`: paths from the top level. */
  const throughRoot = (cfg: string): string => cfg.replace(/\t(linux|initrd)\t\/boot\//g, '\t$1\t/root/boot/');
  const ext4Root = (name: string, kernels: InstalledKernel[], layout: Layout = 'set-default') => {
    const cfg = debianGrubCfg(kernels.map((x) => x.kernel.version));
    return buildSyntheticRoot({ name: `btrfs-src-${name}-${layout}`, kernels, grubCfg: layout === 'fedora' ? throughRoot(cfg) : cfg }).image;
  };
  const fedoraStub = join(cachedDir('grub-stub-fedora-btrfs', { uuid: ROOT_UUID }, (d) => writeFileSync(join(d, 'grub.cfg'),
    `search.fs_uuid ${ROOT_UUID} root \nset prefix=($root)'/root/boot/grub'\nconfigfile $prefix/grub.cfg\n`)), 'grub.cfg');
  const disk = (name: string, content: string, layout: Layout) => guestDisk({
    name: `btrfs-${name}-${layout}`, rootContent: content,
    ...(layout === 'fedora' ? { stub: 'none' as const, espFiles: { '/EFI/debian/grub.cfg': fedoraStub } } : {}),
  });

  const ext4Good = ext4Root('good', [goodKernel]);
  const ext4Verdicts = verdicts(cli(t, guestDisk({ name: 'btrfs-ext4-equivalent', rootContent: ext4Good })));

  for (const layout of ['set-default', 'fedora'] as const) {
    t.test(`${layout}: the btrfs root decides every clause as the ext4 one does`, async (t) => {
      const image = disk('good', btrfsRoot('good', ext4Root('good', [goodKernel], layout), layout), layout);
      const before = sha256File(image);
      const res = cli(t, image);
      const v = verdicts(res);
      for (const id of DECIDED) t.equal(v[id], ext4Verdicts[id], `${id}: ${v[id]} as on ext4`);
      t.same(byStatus(res, 'fail'), []);
      t.same(byStatus(res, 'error'), []);
      t.match(result(res, 'V2-GUEST-GICV3').observed, {
        rootfs: { unreadable: null, partition: 2, filesystem: 'btrfs' },
        kernel: { version: k.version, config: `/boot/config-${k.version}`, selectedBy: 'bootloader' },
        options: { CONFIG_ARM_GIC_V3: { state: 'y' } },
      });
      t.match(result(res, 'V2-FW-NO-PRESET-BOOTVARS').observed, {
        loaderKind: 'grub', kernelReached: true,
        defaultEntry: { linux: { path: layout === 'fedora' ? `/root/boot/vmlinuz-${k.version}` : `/boot/vmlinuz-${k.version}`, device: 'hd0,gpt2', exists: true } },
      });
      // The rootfs facts name the subvolume read and the tree block checksums verified.
      const d = openDisk(image);
      try {
        const facts = await rootfsProbe.run({ image: d, memo: new Memo() }, {});
        const v = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(rootfsProbe.facts);
        t.ok(v(facts), `image.rootfs facts match their schema ${JSON.stringify(v.errors ?? [])}`);
        t.match(facts, {
          rootfs: {
            filesystem: 'btrfs', uuid: ROOT_UUID, label: 'rootfs',
            btrfs: { subvolume: { id: '256', path: 'root' }, defaultSubvolume: layout === 'fedora' ? '5' : '256', metadataCsums: { checked: Number, failed: 0 } },
          },
          os: { id: 'debian' },
        });
      } finally {
        d.close();
      }
      t.equal(sha256File(image), before, 'the image is not modified');
    });
  }

  t.test('a kernel without GICv3 on a btrfs root fails V2-GUEST-GICV3, as on ext4', async (t) => {
    const broken = { ...goodKernel, configEdits: { CONFIG_ARM_GIC_V3: null } };
    const res = cli(t, disk('no-gicv3', btrfsRoot('no-gicv3', ext4Root('no-gicv3', [broken]), 'set-default'), 'set-default'));
    t.same(byStatus(res, 'fail'), ['V2-GUEST-GICV3']);
    t.equal(res.exitCode, 1);
    t.match(result(res, 'V2-GUEST-GICV3').observed, { rootfs: { filesystem: 'btrfs' }, options: { CONFIG_ARM_GIC_V3: { state: 'absent' } } });
  });
}

const unavailable = fastFixturesUnavailable() || btrfsUnavailable();
if (unavailable) t.test('btrfs roots', { skip: unavailable }, async () => {});
else main();
