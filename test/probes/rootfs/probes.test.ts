/**
 * The rootfs probes in-process: facts validated against each probe's facts
 * schema (strict ajv), root discovery across partition layouts (GPT types,
 * MBR, a bare filesystem), and cloud-init's installed/enabled state.
 */
import t from 'tap';
import { CLOUD_INIT_BASE } from '../../fixtures/cloud-init-root.js';
import { Ajv } from 'ajv';
import { openDisk } from '../../../probes/image/open-disk.js';
import { PROBES } from '../../../probes/registry.js';
import { openRootfs } from '../../../probes/rootfs/rootfs.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { buildGptDisk, mbrDisk } from '../../fixtures/disk-builder.js';
import { cachedDir, run } from '../../fixtures/cache.js';
import { join } from 'node:path';
import { buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, type SyntheticRootSpec } from '../../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable();
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validators = new Map(PROBES.filter((p) => p.name.startsWith('image.') && ['image.rootfs', 'image.kernel-drivers', 'image.removable-boot', 'image.firmware-volumes'].includes(p.name)).map((p) => [p.name, ajv.compile(p.facts)]));

async function probe(image: string, name: string, params: Facts = {}, memo = new Memo()): Promise<Facts> {
  const p = PROBES.find((x) => x.name === name)!;
  const disk = openDisk(image);
  try {
    const facts = await p.run({ image: disk, memo }, params);
    const v = validators.get(name)!;
    if (!v(facts)) throw new Error(`${name} facts do not match its schema: ${ajv.errorsText(v.errors)}\n${JSON.stringify(facts).slice(0, 2000)}`);
    return facts;
  } finally {
    disk.close();
  }
}

const DRIVERS: Facts = { options: [{ config: 'CONFIG_VIRTIO_PCI', module: 'virtio_pci' }, { config: 'CONFIG_ARM_GIC_V3' }, { config: 'CONFIG_RTC_DRV_EFI', module: 'rtc-efi' }] };

t.test('facts match the schemas on good, empty and unreadable images', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const good = guestDisk({ name: 'good', rootContent: buildSyntheticRoot({ name: 'guest-good', kernels: [{ kernel: k, initrd: { modules: ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'], compression: 'zstd', early: true } }], grubCfg: debianGrubCfg([k.version]) }).image });
  const empty = guestDisk({ name: 'unreadable-empty', rootContent: null });
  for (const [label, image] of [['good', good], ['empty root', empty]] as const) {
    for (const name of validators.keys()) {
      const facts = await probe(image, name, name === 'image.kernel-drivers' ? DRIVERS : {});
      t.pass(`${label}: ${name} facts are schema-valid`);
      if (name === 'image.rootfs' && label === 'good') {
        t.match(facts, {
          rootfs: { readable: true, partition: 2, filesystem: 'ext4', uuid: '6d3b2f9a-8c1e-4e2b-9a55-2b1f0c7d4e10', label: 'rootfs' },
          os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
          kernels: [{ version: k.version, imageFormat: 'arm64-image', arch: 'arm64' }],
          defaultKernel: { version: k.version, selectedBy: 'bootloader' },
          boot: { source: 'removable-path', consoles: ['ttyAMA0'], linux: { path: `/boot/vmlinuz-${k.version}`, exists: true } },
          cloudInit: { installed: false, enabled: false },
        });
      }
      if (name === 'image.rootfs' && label === 'empty root') {
        t.match(facts, { rootfs: { readable: false, unreadable: /holds no recognised filesystem/ }, os: null, kernels: [], boot: null, cloudInit: null });
      }
    }
  }
});

t.test('root discovery: GPT types, data partitions, MBR, a bare filesystem', { skip: unavailable }, async (t) => {
  const root = buildSyntheticRoot({ name: 'discovery-root', kernels: [] }).image;
  const data = cachedDir('discovery-data', { v: 1 }, (d) => {
    run('truncate', ['-s', '8M', join(d, 'data.ext4')]);
    run('mkfs.ext4', ['-q', '-F', '-L', 'data', join(d, 'data.ext4')]);
  });
  const dataFs = join(data, 'data.ext4');
  const open = (img: string) => {
    const d = openDisk(img);
    t.teardown(() => d.close());
    return openRootfs(d, new Memo());
  };
  // A Linux-data ext4 without /etc first, the root (Linux filesystem type) second.
  const twoParts = open(buildGptDisk([
    { type: '8300', sizeMiB: 9, name: 'data', contentFile: dataFs },
    { type: '8300', sizeMiB: 40, name: 'root', contentFile: root },
  ], { label: 'discovery-two' }));
  t.equal(twoParts.root?.partition?.number, 2, 'the ext4 with /etc and /usr is the root');
  t.match(twoParts.scanned, [{ number: 1, filesystem: 'ext4', note: /without \/etc/ }, { number: 2, filesystem: 'ext4', note: null }]);
  // The aarch64 root type wins over table order.
  const typed = open(buildGptDisk([
    { type: '8300', sizeMiB: 40, name: 'old root', contentFile: root },
    { type: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', sizeMiB: 40, name: 'root', contentFile: root },
  ], { label: 'discovery-typed' }));
  t.equal(typed.root?.partition?.number, 2, 'Linux root (ARM64) is tried first');
  // Swap and ESP are not candidates.
  const swap = open(buildGptDisk([{ type: '8200', sizeMiB: 4, name: 'swap' }, { type: 'EF00', sizeMiB: 4, name: 'esp' }], { label: 'discovery-swap' }));
  t.match(swap, { root: null, scanned: [], unreadable: 'no partition can hold a root filesystem (1: Linux swap, 2: EFI System Partition)' });
  // An MBR disk: OSType 0x83.
  const mbr = mbrDisk([{ type: '83', sizeMiB: 40 }], 48);
  const mbrImg = cachedDir('discovery-mbr', { v: 1 }, (d) => {
    run('cp', [mbr, join(d, 'disk.img')]);
    run('dd', [`if=${root}`, `of=${join(d, 'disk.img')}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
  });
  const m = open(join(mbrImg, 'disk.img'));
  t.equal(m.root?.partition?.typeName, 'MBR 0x83', 'MBR partition 0x83');
  // A whole-disk filesystem without a partition table.
  const bare = open(root);
  t.match(bare, { root: { partition: null, filesystem: 'ext4' }, unreadable: null });
});


t.test('cloud-init: installed, enabled, disabled, masked, datasources', { skip: unavailable }, async (t) => {
  const cases: { name: string; files: SyntheticRootSpec['files']; want: object }[] = [
    { name: 'enabled', files: CLOUD_INIT_BASE, want: { installed: true, enabled: true, disabledBy: [], version: '22.4.2-1+deb12u1', datasources: ['NoCloud', 'ConfigDrive', 'OpenStack', 'None'], noCloud: true } },
    { name: 'disabled-file', files: { ...CLOUD_INIT_BASE, 'etc/cloud/cloud-init.disabled': '' }, want: { enabled: false, disabledBy: ['/etc/cloud/cloud-init.disabled exists'] } },
    {
      name: 'masked',
      files: { ...CLOUD_INIT_BASE, 'etc/systemd/system/cloud-init.service': { symlink: '/dev/null' }, 'etc/systemd/system/cloud-init-local.service': { symlink: '/dev/null' }, 'etc/systemd/system/cloud-init.target': { symlink: '/dev/null' } },
      want: { enabled: false, disabledBy: [/masked: cloud-init-local\.service, cloud-init\.service, cloud-init\.target/, 'no cloud-init systemd unit is enabled (no *.wants link)'] },
    },
    {
      name: 'not-wanted',
      files: Object.fromEntries(Object.entries(CLOUD_INIT_BASE).filter(([p]) => !p.includes('.wants/'))),
      want: { installed: true, enabled: false, disabledBy: ['no cloud-init systemd unit is enabled (no *.wants link)'] },
    },
    { name: 'no-nocloud', files: { ...CLOUD_INIT_BASE, 'etc/cloud/cloud.cfg.d/90_dpkg.cfg': 'datasource_list: [ Ec2, None ]\n' }, want: { enabled: true, datasources: ['Ec2', 'None'], noCloud: false } },
    { name: 'absent', files: {}, want: { installed: false, enabled: false, evidence: [], units: [] } },
  ];
  for (const c of cases) {
    const root = buildSyntheticRoot({ name: `cloud-init-${c.name}`, kernels: [], files: c.files }).image;
    const disk = buildGptDisk([{ type: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', sizeMiB: 40, name: 'root', contentFile: root }], { label: `cloud-init-${c.name}` });
    const facts = await probe(disk, 'image.rootfs');
    t.match(facts.cloudInit, c.want, `cloud-init ${c.name}`);
  }
  const disabledOnCmdline = buildSyntheticRoot({ name: 'cloud-init-cmdline', kernels: [{ kernel: debianKernel('arm64') }], files: CLOUD_INIT_BASE, grubCfg: debianGrubCfg([debianKernel('arm64').version], { cmdline: 'ro console=ttyAMA0 cloud-init=disabled' }) }).image;
  const facts = await probe(guestDisk({ name: 'cloud-init-cmdline', rootContent: disabledOnCmdline }), 'image.rootfs');
  t.match(facts.cloudInit, { enabled: false, disabledBy: ['the default kernel command line has cloud-init=disabled'] });
});
