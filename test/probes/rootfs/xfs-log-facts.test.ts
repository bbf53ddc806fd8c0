/**
 * image.rootfs on an xfs root snapshotted from a running system (issue #12):
 * its /etc/os-release and grub.cfg exist only in the xfs log. Linux's view
 * (vmspec's OS view) is replayed and `rootfs.journal` says so; GRUB's xfs
 * driver reads no log, so the boot chain reads the volume unreplayed.
 */
import t from 'tap';
import { Ajv } from 'ajv';
import { openDisk } from '../../../probes/image/open-disk.js';
import { PROBES } from '../../../probes/registry.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { XFS_FIXTURE_UUID } from '../../fixtures/xfs-builder.js';
import { buildXfsLogSnapshot, canMount } from '../../fixtures/xfs-log-builder.js';
import { fastFixturesUnavailable, guestDisk } from '../../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable() || (canMount ? false : 'xfs log snapshots need root: mount -o loop');
if (unavailable) {
  t.plan(0, unavailable);
  process.exit(0);
}

const GRUB_CFG = `menuentry 'Logged Linux' {\n  linux /boot/vmlinuz-6.1.0-1-arm64 root=UUID=${XFS_FIXTURE_UUID} ro\n}\n`;
const BASE = { tree: { 'etc/hostname': { file: 'vm\n' }, 'usr/lib/os-release': { file: 'ID=home\n' }, 'boot/vmlinuz-6.1.0-1-arm64': { file: 'kernel\n' } }, commit: 'syncfs' as const };

const rootfs = PROBES.find((x) => x.name === 'image.rootfs')!;
const removable = PROBES.find((x) => x.name === 'image.removable-boot')!;
const valid = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(rootfs.facts);

t.test('a dirty xfs root is replayed for the OS view; GRUB reads it unreplayed and misses a grub.cfg only in the log', async (t) => {
  const fx = buildXfsLogSnapshot({
    name: 'xl-root', sizeMiB: 64, snapshot: 'shutdown',
    rounds: [BASE, { tree: { 'etc/os-release': { file: 'ID=logged\nVERSION_ID=1\n' }, 'boot/grub/grub.cfg': { file: GRUB_CFG } }, commit: 'syncfs' }],
  });
  const image = guestDisk({ name: 'xl-root', rootContent: fx.snapshot, stubUuid: XFS_FIXTURE_UUID });
  const disk = openDisk(image);
  t.teardown(() => disk.close());
  const facts = (await rootfs.run({ image: disk, memo: new Memo() }, {})) as Facts;
  t.ok(valid(facts), `schema-valid ${JSON.stringify(valid.errors ?? [])}`);
  t.match(facts.rootfs, { filesystem: 'xfs', needsRecovery: true, journal: { replayed: true, reason: null, features: ['logv2', 'crc', 'little-endian writer'] } });
  // syncfs wrote the data; the directory entries and inodes naming it are only in the log.
  t.match(facts.os, { id: 'logged', versionId: '1' }, 'the os-release only in the log is read');
  const chain = (await removable.run({ image: disk, memo: new Memo() }, {})) as Facts;
  t.match(chain, { loaderFound: true, kernelReached: false }, 'GRUB finds no grub.cfg on the unreplayed filesystem');
});

t.test('the same chain with grub.cfg written home (freeze) reaches the kernel, though the log is dirty', async (t) => {
  const fx = buildXfsLogSnapshot({
    name: 'xl-root-home', sizeMiB: 64, snapshot: 'shutdown',
    rounds: [{ tree: { ...BASE.tree, 'boot/grub/grub.cfg': { file: GRUB_CFG } }, commit: 'freeze' }, { tree: { 'etc/motd': { file: 'later\n' } }, commit: 'syncfs' }],
  });
  const image = guestDisk({ name: 'xl-root-home', rootContent: fx.snapshot, stubUuid: XFS_FIXTURE_UUID });
  const disk = openDisk(image);
  t.teardown(() => disk.close());
  const facts = (await rootfs.run({ image: disk, memo: new Memo() }, {})) as Facts;
  t.match(facts.rootfs, { needsRecovery: true, journal: { replayed: true } });
  t.match((await removable.run({ image: disk, memo: new Memo() }, {})) as Facts, { loaderFound: true, kernelReached: true, unfollowable: null });
});
