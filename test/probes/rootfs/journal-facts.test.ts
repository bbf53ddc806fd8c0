/**
 * image.rootfs on a root snapshotted from a running system (issue #12): its
 * /etc/os-release exists only in the ext4 journal. Replayed, it is read and
 * `rootfs.journal` says so; with the journal unreadable, the root is read as
 * `mount -o norecovery` shows it (the older /usr/lib/os-release) and the facts say why.
 */
import t from 'tap';
import { Ajv } from 'ajv';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { join } from 'node:path';
import { openDisk } from '../../../probes/image/open-disk.js';
import { PROBES } from '../../../probes/registry.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import { debugfs, patch } from '../../fixtures/ext4-builder.js';
import { buildJournalSnapshot, canMount } from '../../fixtures/ext4-journal-builder.js';
import { fastFixturesUnavailable, guestDisk } from '../../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable() || (canMount ? false : 'journal snapshots need root: mount -o loop');
if (unavailable) {
  t.plan(0, unavailable);
  process.exit(0);
}

const fx = buildJournalSnapshot({
  name: 'jr-root',
  blockSize: 4096,
  sizeMiB: 32,
  rounds: [
    { tree: { 'etc/hostname': { file: 'vm\n' }, 'usr/lib/os-release': { file: 'ID=home\nVERSION_ID=0\n' } }, commit: 'syncfs' },
    // In the journal only: the unreplayed view falls back to /usr/lib/os-release.
    { tree: { 'etc/os-release': { file: 'ID=journalled\nVERSION_ID=1\nPRETTY_NAME="Journalled Linux"\n' } } },
  ],
});

const probe = PROBES.find((x) => x.name === 'image.rootfs')!;
const valid = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(probe.facts);

type TestT = Parameters<Parameters<typeof t.test>[0]>[0];

async function rootfsFacts(t: TestT, image: string): Promise<Facts> {
  const disk = openDisk(image);
  t.teardown(() => disk.close());
  const facts = (await probe.run({ image: disk, memo: new Memo() }, {})) as Facts;
  t.ok(valid(facts), `schema-valid ${JSON.stringify(valid.errors ?? [])}`);
  return facts;
}

t.test('a dirty journal is replayed: the os-release written last is found, and the facts say so', async (t) => {
  const image = guestDisk({ name: 'jr-root', rootContent: fx.snapshot });
  const before = sha256File(image);
  const facts = await rootfsFacts(t, image);
  t.match(facts.rootfs, {
    readable: true, partition: 2, filesystem: 'ext4', needsRecovery: true,
    journal: { replayed: true, transactions: Number, blocksReplayed: Number, checksumFailures: 0, features: ['journal_64bit', 'journal_checksum_v3'], reason: null },
  });
  t.ok((facts.rootfs as { journal: { transactions: number } }).journal.transactions >= 1);
  t.match(facts.os, { id: 'journalled', versionId: '1', prettyName: 'Journalled Linux' });
  t.equal(sha256File(image), before, 'the image is unchanged');
});

t.test('an unreadable journal: read unreplayed (the older os-release), the reason in the facts', async (t) => {
  const copy = join(t.testdir(), 'broken-journal.img');
  copyFileSparse(fx.snapshot, copy);
  const jsb = Number(debugfs(copy, 'bmap <8> 0').trim()) * 4096;
  patch(copy, jsb, [0, 0, 0, 0]); // the journal superblock's h_magic
  const facts = await rootfsFacts(t, guestDisk({ name: 'jr-root-broken', rootContent: copy }));
  t.match(facts.rootfs, {
    readable: true, partition: 2, filesystem: 'ext4', needsRecovery: true,
    journal: { replayed: false, transactions: 0, blocksReplayed: 0, reason: /journal superblock: bad magic 0x0/ },
  });
  t.match(facts.os, { id: 'home', versionId: '0' });
});

/** The fixtures' ext4 UUID (ext4-journal-builder.ts mkfs -U): the ESP stub's `search.fs_uuid` finds the root by it. */
const SNAPSHOT_UUID = '5c2e8a41-7d3b-4f6e-a1c9-0d4b7e2f9a36';
const GRUB_CFG = `menuentry 'Journalled Linux' {\n  linux /boot/vmlinuz-6.1.0-1-arm64 root=UUID=${SNAPSHOT_UUID} ro\n}\n`;
const BASE_ROUND = { tree: { 'etc/hostname': { file: 'vm\n' }, 'usr/lib/os-release': { file: 'ID=home\n' }, 'boot/vmlinuz-6.1.0-1-arm64': { file: 'kernel\n' } }, commit: 'syncfs' as const };

t.test('GRUB reads a dirty ext4 unreplayed, as grub-core/fs/ext2.c does: a grub.cfg only in the journal is not found', async (t) => {
  const removable = PROBES.find((x) => x.name === 'image.removable-boot')!;
  const chain = async (image: string) => {
    const disk = openDisk(image);
    t.teardown(() => disk.close());
    return (await removable.run({ image: disk, memo: new Memo() }, {})) as Facts;
  };
  // grub.cfg written home (syncfs): GRUB finds it and the kernel it names.
  const home = buildJournalSnapshot({ name: 'jr-grub-home', blockSize: 4096, sizeMiB: 32, rounds: [{ ...BASE_ROUND, tree: { ...BASE_ROUND.tree, 'boot/grub/grub.cfg': { file: GRUB_CFG } } }, { tree: { 'etc/motd': { file: 'later\n' } } }] });
  t.match(await chain(guestDisk({ name: 'jr-grub-home', rootContent: home.snapshot, stubUuid: SNAPSHOT_UUID })), { loaderFound: true, kernelReached: true, unfollowable: null });
  // grub.cfg committed to the journal only: Linux (and vmspec's OS view) would see it, GRUB at boot does not.
  const journalled = buildJournalSnapshot({ name: 'jr-grub-journal', blockSize: 4096, sizeMiB: 32, rounds: [BASE_ROUND, { tree: { 'boot/grub/grub.cfg': { file: GRUB_CFG } } }] });
  const image = guestDisk({ name: 'jr-grub-journal', rootContent: journalled.snapshot, stubUuid: SNAPSHOT_UUID });
  const root = await rootfsFacts(t, image);
  t.match(root.rootfs, { needsRecovery: true, journal: { replayed: true } }, 'the OS view is replayed');
  t.match(await chain(image), { loaderFound: true, kernelReached: false }, 'the loader\'s chain stops where GRUB would: no grub.cfg on the unreplayed filesystem');
});
