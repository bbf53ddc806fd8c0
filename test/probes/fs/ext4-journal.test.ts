/**
 * Dirty journals (issue #12): ext4 images copied while mounted, so committed
 * transactions sit in the journal only. The reader replays them in memory;
 * the oracle is another copy recovered by e2fsck -fy, compared entry by entry
 * (source tree, debugfs ls/stat/dump). The unreplayed view must differ, or
 * the fixture proves nothing. Hostile journals: typed outcome, never a crash.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { join } from 'node:path';
import { BufferByteSource, FileByteSource } from '../../../bytes/byte-source.js';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { openExt4, type Ext4Filesystem } from '../../../probes/fs/ext4.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { compareWithOracles, debugfs, patch, pseudoRandom, SLOW_LINK_TARGET, type Tree } from '../../fixtures/ext4-builder.js';
import { buildJournalSnapshot, canMount, type JournalFixture, type JournalSnapshotSpec } from '../../fixtures/ext4-journal-builder.js';
import { ReplayFuzzTally } from '../../fixtures/replay-fuzz.js';

type TestT = Parameters<Parameters<typeof t.test>[0]>[0];

if (!canMount) {
  t.plan(0, 'journal snapshots need root: mount -o loop');
  process.exit(0);
}

/**
 * Three commits: a base tree with a multi-block directory (syncfs: also written home); that directory
 * removed (its blocks revoked) and more written; a last round copied right after its commit (fsync: in the journal only).
 */
function rounds(opts: { magic: boolean }): JournalSnapshotSpec['rounds'] {
  const base: Tree = {
    'etc/os-release': { file: 'NAME="Test Linux"\nID=test\n' },
    'etc/hostname': { file: 'vm\n' },
    'bin/tool': { random: 30_000, seed: 1 },
    'a/b/c/deep.txt': { file: 'deep\n' },
    'links/fast': { symlink: '../etc/os-release' },
    'links/slow': { symlink: SLOW_LINK_TARGET },
    'links/dir': { symlink: '../a/b' },
    'ünïcødé/日本語.txt': { file: 'こんにちは\n' },
    doomed: { many: 300, prefix: 'a-name-long-enough-to-fill-several-directory-blocks-' },
  };
  return [
    { tree: base, commit: 'syncfs' },
    { remove: ['doomed', 'etc/hostname'], tree: { 'var/spool': { many: 60, prefix: 'job-' }, 'late/file': { random: 9000, seed: 2 } } },
    {
      tree: { 'last/x.txt': { file: 'written just before the snapshot\n' }, 'last/link': { symlink: 'x.txt' }, 'last/sub/dir': { dir: true }, 'etc/hostname': { file: 'renamed-vm\n' } },
      ...(opts.magic ? { magicFiles: ['last/magic.bin'] } : {}),
    },
  ];
}

const variants: { spec: JournalSnapshotSpec; journalFeatures: string[] }[] = [
  { spec: { name: 'jr-csum3-64-4k', blockSize: 4096, sizeMiB: 32, rounds: rounds({ magic: false }) }, journalFeatures: ['journal_64bit', 'journal_checksum_v3'] },
  {
    spec: { name: 'jr-csum3-data-4k', blockSize: 4096, sizeMiB: 32, mountOptions: 'data=journal', rounds: rounds({ magic: true }) },
    journalFeatures: ['journal_64bit', 'journal_checksum_v3'],
  },
  {
    spec: { name: 'jr-plain-32-1k', blockSize: 1024, sizeMiB: 32, features: '^metadata_csum,^64bit', mountOptions: 'data=journal', rounds: rounds({ magic: true }) },
    journalFeatures: [],
  },
  {
    spec: { name: 'jr-v1csum-async', blockSize: 4096, sizeMiB: 32, features: '^metadata_csum', mountOptions: 'data=writeback,journal_async_commit', rounds: rounds({ magic: false }) },
    journalFeatures: ['journal_checksum', 'journal_64bit', 'journal_async_commit'],
  },
];

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function open(t: TestT, image: string, norecovery = false): Ext4Filesystem {
  const src = new FileByteSource(image);
  t.teardown(() => src.close());
  return openExt4(src, { norecovery });
}

/** Journal block → where debugfs's logdump found which kind of block: "Found expected sequence N, type T (...) at block B". */
function logBlocks(fx: JournalFixture): { sequence: number; type: number; block: number }[] {
  return [...fx.logdump.matchAll(/Found expected sequence (\d+), type (\d+) \([^)]*\) at block (\d+)/g)].map((m) => ({ sequence: Number(m[1]), type: Number(m[2]), block: Number(m[3]) }));
}

/** Byte offset in the image of journal block `jblk`, via debugfs bmap on the journal inode. */
function journalBlockOffset(image: string, jblk: number, blockSize: number): number {
  return Number(debugfs(image, `bmap <8> ${jblk}`).trim()) * blockSize;
}

const built = variants.map((v) => ({ ...v, fx: buildJournalSnapshot(v.spec) }));

for (const { spec, fx, journalFeatures } of built) {
  t.test(`${spec.name}: replayed view matches e2fsck's recovery; unreplayed view differs`, async (t) => {
    t.match(fx.dumpe2fs, /Filesystem features:.*needs_recovery/, 'the snapshot has needs_recovery (dumpe2fs -h)');
    const log = logBlocks(fx);
    t.ok(log.some((b) => b.type === 2), `debugfs logdump shows committed transactions (${log.filter((b) => b.type === 2).length} commit blocks)`);
    const before = sha(fx.snapshot);

    const fs = open(t, fx.snapshot);
    const j = fs.info.journal!;
    t.equal(fs.info.needsRecovery, true);
    t.equal(j.replayed, true, `replayed: ${JSON.stringify({ ...j })}`);
    t.equal(j.reason, undefined, 'nothing irregular');
    t.equal(j.transactions, log.filter((b) => b.type === 2).length, 'as many transactions as logdump finds commit blocks');
    t.ok(j.blocksReplayed > 0);
    t.equal(j.checksumFailures, 0);
    t.same(j.features.sort(), journalFeatures.sort(), `journal features ${j.features.join(' ')}`);
    t.match(fx.dumpe2fs, new RegExp(`Journal features:\\s+${journalFeatures.length === 0 ? '\\(none\\)' : ''}`));
    for (const f of journalFeatures) t.match(fx.dumpe2fs, new RegExp(`Journal features:.*\\b${f}\\b`));
    if (log.some((b) => b.type === 5)) t.ok(j.revokeRecords > 0 && j.revoked > 0, `revoke blocks in the log: ${j.revokeRecords} records, ${j.revoked} logged blocks skipped`);
    if (spec.rounds.some((r) => r.magicFiles)) t.ok(j.escaped > 0, `${j.escaped} escaped block(s) restored`);

    const report = compareWithOracles(fs, fx.oracle, t.testdir());
    t.same(report.mismatches, [], 'every entry matches the e2fsck-recovered oracle');
    t.ok(report.counts.entries > 80 && report.counts.debugfsDumps >= 6, `compared ${JSON.stringify(report.counts)}`);
    t.equal(fs.readlink('/last/link'), 'x.txt');
    t.equal(new TextDecoder().decode(fs.readFile('/etc/hostname')), 'renamed-vm\n');
    t.throws(() => fs.lstat('/doomed'), FsError, 'the removed directory is gone');

    const raw = open(t, fx.snapshot, true);
    t.equal(raw.info.journal?.replayed, false);
    const unreplayed = compareWithOracles(raw, fx.oracle, t.testdir());
    t.ok(unreplayed.mismatches.length > 0, `the unreplayed view differs from the oracle in ${unreplayed.mismatches.length} ways (e.g. ${unreplayed.mismatches[0]})`);

    t.equal(sha(fx.snapshot), before, 'the image is byte-identical after reading');
  });
}

const csum3 = built[0]!.fx;
const plain = built[2]!.fx;
const v1csum = built[3]!.fx;

const scratch = new WeakMap<TestT, string>();
let copies = 0;
/** A copy of a snapshot with edits; the fixture stays pristine. */
function hostile(t: TestT, fx: JournalFixture, edit: (img: string) => void): string {
  // One scratch directory per subtest: t.testdir() recreates it on each call.
  if (!scratch.has(t)) scratch.set(t, t.testdir());
  const img = join(scratch.get(t)!, `hostile-${copies++}.img`);
  copyFileSparse(fx.snapshot, img);
  edit(img);
  return img;
}

t.test('a logged block failing its tag checksum is not replayed; the rest is', async (t) => {
  const log = logBlocks(csum3);
  const desc = log.find((b) => b.type === 1)!;
  // The first data block after the first descriptor.
  const img = hostile(t, csum3, (i) => {
    const off = journalBlockOffset(i, desc.block + 1, 4096);
    patch(i, off + 100, [readFileSync(i)[off + 100]! ^ 0xff]);
  });
  const fs = open(t, img);
  const j = fs.info.journal!;
  t.equal(j.replayed, true);
  t.equal(j.checksumFailures, 1);
  t.match(j.reason, /1 logged block\(s\) fail their tag checksum and were not replayed: block \d+ \(journal block \d+, transaction \d+\).*EFSBADCRC/);
  t.equal(j.blocksReplayed, open(t, csum3.snapshot).info.journal!.blocksReplayed - 1);
});

t.test('a descriptor failing its checksum: recovery refused (the kernel fails the mount), read unreplayed', async (t) => {
  const desc = logBlocks(csum3).filter((b) => b.type === 1).at(-1)!;
  const img = hostile(t, csum3, (i) => {
    const off = journalBlockOffset(i, desc.block, 4096);
    patch(i, off + 12 + 3, [readFileSync(i)[off + 15]! ^ 0x01]); // first tag's t_blocknr
  });
  const j = open(t, img).info.journal!;
  t.equal(j.replayed, false);
  t.match(j.reason, new RegExp(`transaction ${desc.sequence}: descriptor block ${desc.block} fails its checksum .*EFSBADCRC`));
  t.equal(j.blocksReplayed, 0);
});

t.test('a commit block failing its checksum ends the log before that transaction', async (t) => {
  const commits = logBlocks(csum3).filter((b) => b.type === 2);
  const last = commits.at(-1)!;
  const img = hostile(t, csum3, (i) => {
    const off = journalBlockOffset(i, last.block, 4096);
    patch(i, off + 0x40, [readFileSync(i)[off + 0x40]! ^ 0x80]);
  });
  const fs = open(t, img);
  const j = fs.info.journal!;
  t.equal(j.replayed, true);
  t.equal(j.transactions, commits.length - 1);
  t.match(j.reason, new RegExp(`transaction ${last.sequence}: its commit block fails its checksum; it and any later ones are not replayed`));
  // Without the last transaction, its files are not there (or not complete): the reader still works.
  t.doesNotThrow(() => [...walk(fs, '/')]);
});

t.test('a revoke block claiming more records than it holds: refused, read unreplayed', async (t) => {
  // No v2/v3 checksum here (v1 does not cover revoke blocks), so only r_count is wrong.
  const rev = logBlocks(v1csum).find((b) => b.type === 5);
  if (!rev) return t.fail('the fixture has no revoke block');
  const img = hostile(t, v1csum, (i) => patch(i, journalBlockOffset(i, rev.block, 4096) + 12, [0, 0, 0x20, 0])); // r_count 8192 > 4096
  const fs = open(t, img);
  t.equal(fs.info.journal!.replayed, false);
  t.match(fs.info.journal!.reason, /revoke block \d+ has r_count 8192, more than the block holds/);
  t.doesNotThrow(() => [...walk(fs, '/')]);
});

t.test('a bad journal superblock: not replayed, with the reason', async (t) => {
  const img = hostile(t, csum3, (i) => patch(i, journalBlockOffset(i, 0, 4096) + 0x1c, [0, 0, 0x7f, 0xff])); // s_start, breaks the checksum too
  t.match(open(t, img).info.journal, { replayed: false, reason: /journal superblock checksum 0x[0-9a-f]+ does not match/ });
  const img2 = hostile(t, plain, (i) => patch(i, journalBlockOffset(i, 0, 1024) + 0x1c, [0, 0, 0x7f, 0xff]));
  t.match(open(t, img2).info.journal, { replayed: false, reason: /s_start 32767 is outside the log area/ });
});

t.test('fast commit journals are refused by name and read unreplayed', async (t) => {
  const fx = buildJournalSnapshot({ name: 'jr-fast-commit', blockSize: 4096, sizeMiB: 32, features: 'fast_commit', rounds: rounds({ magic: false }) });
  const fs = open(t, fx.snapshot);
  t.match(fs.info.journal, { replayed: false, reason: /fast commits \(journal_fast_commit\)/ });
  t.ok(fs.info.journal!.features.includes('journal_fast_commit'));
  t.doesNotThrow(() => [...walk(fs, '/')]);
});

t.test('fuzzing the journal never crashes, hangs or replays a block failing its checksum', async (t) => {
  for (const fx of [csum3, plain]) {
    const bs = fx.spec.blockSize;
    const pristine = new Uint8Array(readFileSync(fx.snapshot));
    const log = logBlocks(fx);
    const spots = [0, ...log.map((b) => b.block), ...log.filter((b) => b.type === 1).map((b) => b.block + 1)].map((jblk) => journalBlockOffset(fx.snapshot, jblk, bs));
    const tally = new ReplayFuzzTally();
    for (let round = 0; round < 150; round++) {
      const img = pristine.slice();
      const rnd = pseudoRandom(64, 1000 + round);
      const edits = 1 + (rnd[0]! % 6);
      for (let k = 0; k < edits; k++) {
        const base = spots[rnd[1 + k]! % spots.length]!;
        // Mostly headers, tags and commit fields (the first 256 bytes), sometimes anywhere in the block.
        const at = base + (rnd[10 + k]! % 4 === 0 ? (rnd[20 + k]! * 256 + rnd[30 + k]!) % bs : rnd[20 + k]!);
        img[at] = rnd[40 + k]! % 3 === 0 ? 0xff : rnd[40 + k]! % 3 === 1 ? 0 : img[at]! ^ (1 << rnd[50 + k]! % 8);
      }
      tally.open(round, () => openExt4(new BufferByteSource(img, `fuzz-${round}`)));
    }
    t.same(tally.untyped, [], `${fx.spec.name}: only typed errors escape (${JSON.stringify(tally.outcomes)})`);
    t.ok(tally.outcomes.refused > 0 && tally.outcomes.replayed > 0, `${fx.spec.name}: both outcomes seen ${JSON.stringify(tally.outcomes)}`);
  }
});
