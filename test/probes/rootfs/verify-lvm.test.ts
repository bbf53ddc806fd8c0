/**
 * `vmspec verify` on GPT disks whose root is a logical volume on an LVM2
 * physical volume (RHEL, CentOS Stream, Alma, Rocky, Oracle Linux ship xfs
 * on LVM): an ESP with Debian's monolithic GRUB and the grub-install stub,
 * and a partition holding a PV made by lvm2's tools with the root LV (and a
 * swap LV beside it), the synthetic root written through the segment map.
 * The guest and firmware clauses are decided exactly as on the plain
 * partition twin; a broken kernel config fails its clause; an LV vmspec
 * does not assemble (a thin volume, restored with vgcfgrestore) skips,
 * naming the layer.
 */
import t from 'tap';
import type { RunResults } from '../../../engine/results.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import { buildLvm, lvmFixturesUnavailable } from '../../fixtures/lvm-builder.js';
import {
  buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, otherFilesystem, type InstalledKernel, type SyntheticRootSpec,
} from '../../fixtures/rootfs-builder.js';
import { xfsFixturesUnavailable } from '../../fixtures/xfs-builder.js';
import { verifyImage } from './verify-cli.js';
import { statSync } from 'node:fs';
import { Ajv } from 'ajv';
import { openDisk } from '../../../probes/image/open-disk.js';
import { PROBES } from '../../../probes/registry.js';
import { Memo, type Facts } from '../../../probes/types.js';

const unavailable = fastFixturesUnavailable() || lvmFixturesUnavailable();

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

const MiB = 1 << 20;

/** A PV holding VG "vmspec-NAME" with LVs root (the filesystem image) and swap (mkswap), as one partition's content. */
function lvmRoot(name: string, rootImage: string): string {
  const rootMiB = Math.ceil(statSync(rootImage).size / MiB / 4) * 4;
  const swap = otherFilesystem('swap-8m', 8, 'mkswap -q -U 0c0ffee0-5a5a-4a4a-8b8b-0123456789ab "$1"');
  const fx = buildLvm({ vg: `vmspec-${name}`, pvSizesMiB: [rootMiB + 16], lvs: [{ name: 'root', sizeMiB: rootMiB, content: rootImage }, { name: 'swap', sizeMiB: 8, content: swap }] });
  return fx.pvs[0]!;
}

/** VG "vmspec-thin" whose root is a thin volume in a thin pool, as `lvcreate -T` lays it out (pool_tmeta, pool_tdata, the spare). */
function thinPoolPv(): string {
  let lvs = 0;
  const lv = (name: string, visible: boolean, segment: string): string =>
    `${name} {\nid = "lvthn${++lvs}-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA"\nstatus = ["READ", "WRITE"${visible ? ', "VISIBLE"' : ''}]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\n${segment}\n}\n}\n`;
  const linear = (extents: number, at: number): string => `extent_count = ${extents}\ntype = "striped"\nstripe_count = 1\nstripes = [\n"pv0", ${at}\n]`;
  const text = [
    'vmspec-thin {', 'id = "vgthin-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA"', 'seqno = 5', 'format = "lvm2"', 'status = ["RESIZEABLE", "READ", "WRITE"]', 'flags = []',
    'extent_size = 8192', 'max_lv = 0', 'max_pv = 0', 'metadata_copies = 0',
    'physical_volumes {', 'pv0 {', 'id = "pvthin-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA"', 'device = "$DEV0"', 'status = ["ALLOCATABLE"]', 'flags = []',
    'dev_size = 131072', 'pe_start = 2048', 'pe_count = 15', '}', '}',
    'logical_volumes {',
    lv('pool', true, 'extent_count = 2\ntype = "thin-pool"\nmetadata = "pool_tmeta"\npool = "pool_tdata"\ntransaction_id = 1\nchunk_size = 128\ndiscards = "passdown"\nzero_new_blocks = 1'),
    lv('root', true, 'extent_count = 2\ntype = "thin"\nthin_pool = "pool"\ntransaction_id = 0\ndevice_id = 1'),
    lv('lvol0_pmspare', false, linear(1, 0)),
    lv('pool_tmeta', false, linear(1, 1)),
    lv('pool_tdata', false, linear(2, 2)),
    '}', '}',
    'contents = "Text Format Volume Group"', 'version = 1', '',
  ].join('\n');
  return buildLvm({ vg: 'vmspec-thin', pvSizesMiB: [64], lvs: [], restore: { text, pvUuids: ['pvthin-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA'] } }).pvs[0]!;
}

t.test('a root on an LVM2 logical volume is verified like one on a partition', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const goodKernel: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  const root = (name: string, kernels: InstalledKernel[], fs?: SyntheticRootSpec['filesystem']): string =>
    buildSyntheticRoot({ name: `guest-${name}`, kernels, grubCfg: debianGrubCfg(kernels.map((x) => x.renameTo ?? x.kernel.version)), filesystem: fs }).image;

  t.test('ext4 on LVM: every image and guest clause as on the plain ext4 twin', async (t) => {
    const lvmDisk = guestDisk({ name: 'lvm-ext4-good', rootContent: lvmRoot('ext4', root('good', [goodKernel])) });
    const plain = guestDisk({ name: 'good', rootContent: root('good', [goodKernel]) });
    const before = sha256File(lvmDisk);
    const res = cli(t, lvmDisk, ['--profile', 'image']);
    t.same(byStatus(res, 'fail'), []);
    t.same(byStatus(res, 'error'), []);
    t.equal(res.exitCode, 0);
    const pass = byStatus(res, 'pass');
    for (const id of [...GUEST_V2, 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE']) t.ok(pass.includes(id), `${id} passes`);
    t.match(result(res, 'V2-GUEST-GICV3').observed, {
      rootfs: { unreadable: null, partition: 2, filesystem: 'ext4' },
      kernel: { version: k.version, config: `/boot/config-${k.version}`, selectedBy: 'bootloader' },
      options: { CONFIG_ARM_GIC_V3: { state: 'y' } },
    });
    t.match(result(res, 'V2-FW-NO-PRESET-BOOTVARS').observed, {
      loaderKind: 'grub', kernelReached: true,
      defaultEntry: { linux: { path: `/boot/vmlinuz-${k.version}`, device: 'lvm/vmspec--ext4-root', exists: true } },
    });
    t.equal(sha256File(lvmDisk), before, 'the image is unchanged');
    const twin = cli(t, plain, ['--profile', 'image']);
    t.same(res.results.map((r) => [r.id, r.status]), twin.results.map((r) => [r.id, r.status]), 'the same verdict for every clause as the plain partition twin');
  });

  t.test('xfs on LVM (the RHEL layout): decided as ext4 is', { skip: xfsFixturesUnavailable() }, async (t) => {
    const res = cli(t, guestDisk({ name: 'lvm-xfs-good', rootContent: lvmRoot('xfs', root('xfs-good', [goodKernel], 'xfs')) }));
    t.same(byStatus(res, 'fail'), []);
    t.same(byStatus(res, 'error'), []);
    const pass = byStatus(res, 'pass');
    for (const id of [...GUEST_V2, 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE']) t.ok(pass.includes(id), `${id} passes`);
    t.match(result(res, 'V2-GUEST-GICV3').observed, { rootfs: { unreadable: null, partition: 2, filesystem: 'xfs' } });
  });

  t.test('a kernel config without GICv3 on an LVM root fails exactly its clause', async (t) => {
    const broken = root('no-gicv3', [{ ...goodKernel, configEdits: { CONFIG_ARM_GIC_V3: null } }]);
    const res = cli(t, guestDisk({ name: 'lvm-no-gicv3', rootContent: lvmRoot('no-gicv3', broken) }));
    t.same(byStatus(res, 'fail'), ['V2-GUEST-GICV3']);
    t.same(byStatus(res, 'error'), []);
    t.equal(res.exitCode, 1);
    t.match(result(res, 'V2-GUEST-GICV3').observed, { options: { CONFIG_ARM_GIC_V3: { state: 'absent' } } });
  });
  t.test('image.rootfs facts name the logical volume and list it under its PV', async (t) => {
    const p = PROBES.find((x) => x.name === 'image.rootfs')!;
    const v = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(p.facts);
    const disk = openDisk(guestDisk({ name: 'lvm-ext4-good', rootContent: lvmRoot('ext4', root('good', [goodKernel])) }));
    t.teardown(() => disk.close());
    const facts = (await p.run({ image: disk, memo: new Memo() }, {})) as Facts;
    t.ok(v(facts), `schema-valid ${JSON.stringify(v.errors ?? [])}`);
    t.match(facts.rootfs, {
      readable: true, partition: 2, filesystem: 'ext4', uuid: '6d3b2f9a-8c1e-4e2b-9a55-2b1f0c7d4e10',
      logicalVolume: { name: 'vmspec-ext4/root', mapperName: '/dev/mapper/vmspec--ext4-root' },
    });
    t.same((facts.rootfs as { scanned: unknown[] }).scanned, [
      { partition: 2, logicalVolume: null, typeName: 'Linux root (ARM64/AArch64)', filesystem: 'LVM2_member', note: 'is an LVM2 physical volume of volume group vmspec-ext4' },
      { partition: 2, logicalVolume: 'vmspec-ext4/root', typeName: 'Linux root (ARM64/AArch64)', filesystem: 'ext4', note: null },
      { partition: 2, logicalVolume: 'vmspec-ext4/swap', typeName: 'Linux root (ARM64/AArch64)', filesystem: 'swap', note: 'is swap space' },
    ]);
  });

  t.test('a thin volume as the root: the guest clauses are undecided, naming the layer and how to judge it', async (t) => {
    const res = cli(t, guestDisk({ name: 'lvm-thin', rootContent: thinPoolPv() }));
    t.same(byStatus(res, 'fail'), [], 'nothing fails falsely');
    t.same(byStatus(res, 'error'), []);
    for (const id of GUEST_V2) {
      t.match(result(res, id), {
        status: 'undecided',
        message: /partition 2 is an LVM2 physical volume of volume group vmspec-thin; logical volume vmspec-thin\/pool is not assembled/,
        observed: {
          rootfs: {
            unreadable: /logical volume vmspec-thin\/pool is not assembled: .*"thin-pool" segment.*; logical volume vmspec-thin\/root is not assembled: logical volume vmspec-thin\/root has a "thin" segment \(vmspec assembles only linear and striped LVs\); boot the image \(vmspec boot\) to judge the guest$/,
          },
        },
      }, `${id} is undecided with the reason`);
    }
    t.equal(result(res, 'V2-FW-NO-PRESET-BOOTVARS').status, 'skip', 'FW-6 skips (GRUB may read what vmspec cannot)');
    t.equal(result(res, 'V2-FW-NOT-IN-IMAGE').status, 'skip', 'FW-7 skips (the root could not be scanned)');
  });
});
