/**
 * `vmspec verify` on a GPT disk whose root is xfs (as RHEL, CentOS Stream,
 * Alma, Rocky, Oracle Linux and Amazon Linux ship them): an ESP with
 * Debian's monolithic GRUB and the grub-install stub, and an aarch64 root
 * partition made by mkfs.xfs holding the same synthetic tree as the ext4
 * tests (real Debian arm64 kernel config, modules, initrd, grub.cfg). The
 * guest and firmware clauses are decided exactly as on the ext4 twin; a
 * broken kernel config fails its clause; a readable xfs without a root
 * layout is named; the facts say it is xfs, v5 CRCs checked, log clean.
 */
import t from 'tap';
import { Ajv } from 'ajv';
import type { RunResults } from '../../../engine/results.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { PROBES } from '../../../probes/registry.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import {
  buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, type InstalledKernel, type SyntheticRootSpec,
} from '../../fixtures/rootfs-builder.js';
import { buildXfs, xfsFixturesUnavailable } from '../../fixtures/xfs-builder.js';
import { verifyImage } from './verify-cli.js';

const unavailable = fastFixturesUnavailable() || xfsFixturesUnavailable();

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** Through the built CLI (test/probes/rootfs/verify-cli.ts). */
const cli = (t: Tap, image: string, extra: string[] = []): RunResults => verifyImage(t, image, extra);

const byStatus = (res: RunResults, status: string): string[] => res.results.filter((r) => r.status === status).map((r) => r.id).sort();
const result = (res: RunResults, id: string) => res.results.find((r) => r.id === id)!;

const GUEST_V2 = [
  'V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC',
  'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-NET', 'V2-GUEST-XEN-CONSOLE', 'V2-GUEST-XEN-BALLOON',
];
const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];

t.test('an xfs root is verified like an ext4 one', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const goodKernel: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  const root = (name: string, kernels: InstalledKernel[], fs: SyntheticRootSpec['filesystem']): string =>
    buildSyntheticRoot({ name: `guest-${name}`, kernels, grubCfg: debianGrubCfg(kernels.map((x) => x.renameTo ?? x.kernel.version)), filesystem: fs }).image;
  const xfsGood = guestDisk({ name: 'xfs-good', rootContent: root('xfs-good', [goodKernel], 'xfs') });
  const extGood = guestDisk({ name: 'good', rootContent: root('good', [goodKernel], undefined) });

  t.test('a compliant xfs image: every image and guest clause passes, as on its ext4 twin', async (t) => {
    const before = sha256File(xfsGood);
    const res = cli(t, xfsGood, ['--profile', 'image']);
    t.same(byStatus(res, 'fail'), []);
    t.same(byStatus(res, 'error'), []);
    t.equal(res.exitCode, 0);
    const pass = byStatus(res, 'pass');
    for (const id of [...GUEST_V2, 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE', 'V2-IMG-ESP-BOOT-FILE']) t.ok(pass.includes(id), `${id} passes`);
    t.match(result(res, 'V2-GUEST-GICV3').observed, {
      rootfs: { unreadable: null, partition: 2, filesystem: 'xfs' },
      kernel: { version: k.version, config: `/boot/config-${k.version}`, selectedBy: 'bootloader', imageFormat: 'arm64-image', arch: 'arm64' },
      options: { CONFIG_ARM_GIC_V3: { state: 'y', line: 'CONFIG_ARM_GIC_V3=y' } },
    });
    t.match(result(res, 'V2-GUEST-VIRTIO-PCI').observed, {
      options: { CONFIG_VIRTIO_PCI: { state: 'm', moduleFile: `/usr/lib/modules/${k.version}/kernel/drivers/virtio/virtio_pci.ko`, inInitrd: true, available: 'initrd' } },
    });
    t.match(result(res, 'V2-FW-NO-PRESET-BOOTVARS').observed, {
      loaderKind: 'grub', kernelReached: true,
      configFiles: ['(embedded config)', '(memdisk)/grub.cfg', '(hd0,gpt1)/EFI/debian/grub.cfg', '(hd0,gpt2)/boot/grub/grub.cfg'],
      defaultEntry: { linux: { path: `/boot/vmlinuz-${k.version}`, device: 'hd0,gpt2', exists: true } },
    });
    t.equal(sha256File(xfsGood), before, 'the image is unchanged');
    const twin = cli(t, extGood, ['--profile', 'image']);
    t.same(res.results.map((r) => [r.id, r.status]), twin.results.map((r) => [r.id, r.status]), 'the same verdict for every clause as the ext4 twin');
  });

  t.test('a kernel config without GICv3 fails exactly its clause', async (t) => {
    const broken = guestDisk({ name: 'xfs-no-gicv3', rootContent: root('xfs-no-gicv3', [{ ...goodKernel, configEdits: { CONFIG_ARM_GIC_V3: null } }], 'xfs') });
    const res = cli(t, broken);
    t.same(byStatus(res, 'fail'), ['V2-GUEST-GICV3']);
    t.same(byStatus(res, 'error'), []);
    t.equal(res.exitCode, 1);
    t.match(result(res, 'V2-GUEST-GICV3').observed, { rootfs: { filesystem: 'xfs' }, options: { CONFIG_ARM_GIC_V3: { state: 'absent' } } });
  });

  t.test('image.rootfs facts: xfs, v5 CRCs checked, the log clean', async (t) => {
    const p = PROBES.find((x) => x.name === 'image.rootfs')!;
    const v = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(p.facts);
    const disk = openDisk(xfsGood);
    t.teardown(() => disk.close());
    const facts = (await p.run({ image: disk, memo: new Memo() }, {})) as Facts;
    t.ok(v(facts), `schema-valid ${JSON.stringify(v.errors ?? [])}`);
    t.match(facts.rootfs, { readable: true, partition: 2, filesystem: 'xfs', uuid: '6d3b2f9a-8c1e-4e2b-9a55-2b1f0c7d4e10', label: 'rootfs', needsRecovery: false });
    const crc = (facts.rootfs as { metadataCrc: { checked: number; failed: number } }).metadataCrc;
    t.ok(crc.checked > 10, `${crc.checked} metadata CRCs checked`);
    t.equal(crc.failed, 0);
  });

  t.test('an xfs partition without a root layout is named, not taken for the root', async (t) => {
    const plain = buildXfs({ name: 'not-a-root', sizeMiB: 320, tree: { 'data/file': { file: 'x\n' } } });
    const res = cli(t, guestDisk({ name: 'xfs-not-root', rootContent: plain.image }));
    for (const id of GUEST_V2) t.match(result(res, id), { status: 'undecided', message: /partition 2 is xfs without \/etc and \/usr \(not a root filesystem\)/ }, `${id} is undecided with the reason`);
  });
});
