/**
 * Dirty xfs logs (issue #12): images snapshotted from a live kernel mount,
 * so committed metadata sits in the log only. The reader replays the log in
 * memory; the oracle is the kernel itself (a copy mounted, which replays),
 * compared entry by entry: names, types, sizes, modes, link targets,
 * contents. The unreplayed view must differ, or the fixture proves nothing.
 * Hostile logs: a typed outcome with a reason, never a crash or a hang.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { join } from 'node:path';
import { BufferByteSource, FileByteSource } from '../../../bytes/byte-source.js';
import { crc32c } from '../../../bytes/crc32.js';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { openXfs, type XfsFilesystem } from '../../../probes/fs/xfs.js';
import { pseudoRandom, SLOW_LINK_TARGET, type Tree } from '../../fixtures/ext4-builder.js';
import { patchBytes } from '../../fixtures/xfs-builder.js';
import { buildXfsLogSnapshot, canMount, kernelRecoveredTree, type TreeEntry, type XfsLogFixture, type XfsLogSnapshotSpec } from '../../fixtures/xfs-log-builder.js';
import { ReplayFuzzTally } from '../../fixtures/replay-fuzz.js';

type TestT = Parameters<Parameters<typeof t.test>[0]>[0];

if (!canMount) {
  t.plan(0, 'xfs log snapshots need root: mount -o loop');
  process.exit(0);
}

const base: Tree = {
  'etc/os-release': { file: 'NAME="Test Linux"\nID=test\n' },
  'etc/hostname': { file: 'vm\n' },
  'bin/tool': { random: 300_000, seed: 1 },
  'a/b/c/deep.txt': { file: 'deep\n' },
  'links/fast': { symlink: '../etc/os-release' },
  'links/slow': { symlink: SLOW_LINK_TARGET + './'.repeat(300) },
  'links/dir': { symlink: '../a/b' },
  'ünïcødé/日本語.txt': { file: 'こんにちは\n' },
  doomed: { many: 300, prefix: 'a-name-long-enough-to-fill-several-directory-blocks-' },
};

function rounds(last: 'syncfs' | 'fsync'): XfsLogSnapshotSpec['rounds'] {
  return [
    { tree: base, commit: 'syncfs' },
    {
      remove: ['doomed', 'etc/hostname'],
      rename: [['a/b/c/deep.txt', 'a/moved.txt']],
      tree: { 'var/spool': { many: 500, prefix: 'job-with-a-longer-name-' }, 'late/file': { random: 9000, seed: 2 }, 'sparse/f': { sparse: 8 << 20, chunks: [[0, 100, 1], [4 << 20, 5000, 2]] } },
      commit: 'syncfs',
    },
    {
      tree: { 'last/x.txt': { file: 'written just before the snapshot\n' }, 'last/link': { symlink: 'x.txt' }, 'last/sub/dir': { dir: true }, 'etc/hostname': { file: 'renamed-vm\n' } },
      rename: [['bin/tool', 'bin/tool.renamed']],
      commit: last,
    },
  ];
}

const variants: XfsLogSnapshotSpec[] = [
  { name: 'xl-v5-copy', sizeMiB: 64, rounds: rounds('syncfs'), snapshot: 'copy' },
  { name: 'xl-v5-shutdown', sizeMiB: 64, rounds: rounds('fsync'), snapshot: 'shutdown' },
  // Written home by a freeze first, so replay meets metadata whose LSN is already newer than some logged items.
  { name: 'xl-v5-freeze', sizeMiB: 64, rounds: [{ tree: base, commit: 'freeze' }, ...rounds('syncfs').slice(1)], snapshot: 'copy' },
  // A freeze, then one small change: the freeze's own log traffic is older than metadata written home (skippedNewer).
  { name: 'xl-v5-newer', sizeMiB: 64, rounds: [{ tree: base, commit: 'freeze' }, { tree: { 'etc/motd': { file: 'later\n' } }, commit: 'syncfs' }], snapshot: 'shutdown' },
  // Enough log traffic to go round the 1368-block log several times: cycle > 1, records across the physical end.
  { name: 'xl-v5-wrap', sizeMiB: 64, rounds: [{ tree: base, churn: 15000, commit: 'syncfs' }, { churn: 6000, tree: { 'after/wrap.txt': { file: 'wrapped\n' } }, rename: [['etc/hostname', 'etc/hostname.old']], commit: 'syncfs' }], snapshot: 'copy' },
];

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function open(t: TestT, image: string, norecovery = false): XfsFilesystem {
  const src = new FileByteSource(image);
  t.teardown(() => src.close());
  return openXfs(src, { norecovery });
}

/** The reader's tree in the oracle's form. */
function readerTree(fs: XfsFilesystem): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  for (const e of walk(fs, '/')) {
    const st = fs.lstat(e.path);
    if (e.type === 'symlink') out[e.path] = { type: 'symlink', size: st.size, mode: st.mode, target: fs.readlink(e.path) };
    else if (e.type === 'directory') out[e.path] = { type: 'directory', size: 0, mode: st.mode };
    else if (e.type === 'file') out[e.path] = { type: 'file', size: st.size, mode: st.mode, sha256: createHash('sha256').update(fs.readFile(e.path, { maxBytes: 64 << 20 })).digest('hex') };
    else out[e.path] = { type: 'other', size: 0, mode: st.mode };
  }
  return out;
}

function differences(a: Record<string, TreeEntry>, b: Record<string, TreeEntry>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${k}: reader ${JSON.stringify(a[k])} kernel ${JSON.stringify(b[k])}`);
  }
  return out;
}

const built = variants.map((spec) => ({ spec, fx: buildXfsLogSnapshot(spec) }));

for (const { spec, fx } of built) {
  t.test(`${spec.name}: replayed view matches the kernel's recovery; unreplayed view differs`, async (t) => {
    t.match(fx.logprint, /state: <DIRTY>/, 'xfs_logprint: the snapshot\'s log is dirty');
    const before = sha(fx.snapshot);
    const fs = open(t, fx.snapshot);
    const j = fs.info.journal!;
    t.equal(fs.info.needsRecovery, true);
    t.equal(j.replayed, true, `replayed: ${JSON.stringify(j)}`);
    t.equal(j.reason, undefined, 'nothing irregular');
    t.ok(j.transactions > 0 && j.blocksReplayed > 0, `${j.transactions} transactions, ${j.blocksReplayed} items`);
    t.same(j.features, ['logv2', 'crc', 'little-endian writer']);
    const lp = /log tail: (\d+) head: (\d+)/.exec(fx.logprint);
    t.same([j.tail, j.head], [Number(lp?.[1]), Number(lp?.[2])], 'tail and head as xfs_logprint finds them');
    const tree = readerTree(fs);
    t.same(differences(tree, fx.oracle), [], 'every entry matches the kernel-recovered tree');
    t.ok(Object.keys(fx.oracle).length > 50, `${Object.keys(fx.oracle).length} entries compared`);
    t.equal(fs.info.crc.failed, 0, `v5 CRCs of replayed metadata hold (${fs.info.crc.checked} checked)`);

    const raw = open(t, fx.snapshot, true);
    t.match(raw.info.journal, { replayed: false, reason: /norecovery/ });
    let unreplayed: string[];
    try {
      unreplayed = differences(readerTree(raw), fx.oracle);
    } catch (e) {
      unreplayed = [`the unreplayed view does not even read: ${(e as Error).message}`];
    }
    t.ok(unreplayed.length > 0, `the unreplayed view differs from the kernel's in ${unreplayed.length} ways (e.g. ${unreplayed[0]})`);
    t.equal(sha(fx.snapshot), before, 'the image is byte-identical after reading');
  });
}

t.test('the wrapped log really wraps', async (t) => {
  const fx = built[4]!.fx;
  const fs = open(t, fx.snapshot);
  t.ok(fs.info.log.cycle! > 1, `log cycle ${fs.info.log.cycle}`);
});

t.test('LSN ordering: logged items older than the metadata on disk are not replayed over it', async (t) => {
  const fs = open(t, built[3]!.fx.snapshot);
  t.ok(fs.info.journal!.skippedNewer > 0, `${fs.info.journal!.skippedNewer} item(s) skipped as older than the disk (the tree still matches the kernel's, above)`);
});

const scratch = new WeakMap<TestT, string>();
let copies = 0;
function hostile(t: TestT, fx: XfsLogFixture, edit: (img: string) => void): string {
  if (!scratch.has(t)) scratch.set(t, t.testdir());
  const img = join(scratch.get(t)!, `hostile-${copies++}.img`);
  copyFileSparse(fx.snapshot, img);
  edit(img);
  return img;
}

/** Byte offset of log basic block `blk` in the image. */
function logOffset(fs: XfsFilesystem, blk: number): number {
  const sb = fs.sb;
  const agShift = 2 ** sb.sb_agblklog;
  const linear = Math.floor(sb.sb_logstart / agShift) * sb.sb_agblocks + (sb.sb_logstart % agShift);
  return linear * sb.sb_blocksize + blk * 512;
}

/** Log record header blocks between tail and head (no wrap in the fixtures this is used on). */
function recordBlocks(img: string, fs: XfsFilesystem): number[] {
  const j = fs.info.journal!;
  const out: number[] = [];
  const bytes = readFileSync(img);
  for (let b = j.tail!; b < j.head!; b++) if (bytes.readUInt32BE(logOffset(fs, b)) === 0xfeedbabe) out.push(b);
  return out;
}

t.test('a torn write at the head: that record is dropped as the kernel drops it, the rest replays', async (t) => {
  const fx = built[0]!.fx;
  const fs0 = open(t, fx.snapshot);
  const recs = recordBlocks(fx.snapshot, fs0);
  const last = recs.at(-1)!;
  const img = hostile(t, fx, (i) => {
    const off = logOffset(fs0, last + 1) + 100;
    patchBytes(i, off, [readFileSync(i)[off]! ^ 0xff]);
  });
  const fs = open(t, img);
  const j = fs.info.journal!;
  t.equal(j.replayed, true);
  t.ok(j.checksumFailures >= 1, `${j.checksumFailures} record(s) fail their CRC`);
  t.match(j.reason, /torn write/);
  t.equal(j.head, last, 'the head moved back to the torn record');
  const kernel = kernelRecoveredTree(img, scratch.get(t)!);
  t.ok(kernel, 'the kernel mounts it too');
  t.same(differences(readerTree(fs), kernel!), [], 'same tree as the kernel after dropping the torn record');
});

t.test('a log written in another format (h_fmt) is refused with the reason and read unreplayed', async (t) => {
  const fx = built[0]!.fx;
  const fs0 = open(t, fx.snapshot);
  const recs = recordBlocks(fx.snapshot, fs0);
  // Every record claims IRIX format: CRCs fail too, so the head search drops them as torn... unless all are bad:
  const img = hostile(t, fx, (i) => {
    for (const b of recs) patchBytes(i, logOffset(fs0, b) + 300, [0, 0, 0, 3]);
  });
  const fs = open(t, img);
  t.equal(fs.info.journal!.replayed, false);
  t.match(fs.info.journal!.reason, /log recovery failed/);
  t.doesNotThrow(() => [...walk(fs, '/')]);
  t.equal(kernelRecoveredTree(img, scratch.get(t)!), null, 'the kernel refuses to mount it as well');
});

t.test('fuzzing the log never crashes or hangs, and only typed errors escape', async (t) => {
  for (const fx of [built[0]!.fx, built[4]!.fx]) {
    const fs0 = open(t, fx.snapshot);
    const pristine = new Uint8Array(readFileSync(fx.snapshot));
    const j0 = fs0.info.journal!;
    const bbs = fs0.sb.sb_logblocks * (fs0.sb.sb_blocksize / 512);
    const spots: number[] = [];
    for (let b = j0.tail!; spots.length < 400; b = (b + 1) % bbs) {
      spots.push(logOffset(fs0, b));
      if (b === j0.head) break;
    }
    const tally = new ReplayFuzzTally();
    for (let round = 0; round < 60; round++) {
      const img = pristine.slice();
      const rnd = pseudoRandom(64, 2000 + round);
      const edits = 1 + (rnd[0]! % 4);
      for (let k = 0; k < edits; k++) {
        const at = spots[(rnd[1 + k]! * 256 + rnd[5 + k]!) % spots.length]! + (rnd[10 + k]! % 4 === 0 ? rnd[20 + k]! * 2 : rnd[20 + k]! % 64);
        img[at] = rnd[40 + k]! % 3 === 0 ? 0xff : rnd[40 + k]! % 3 === 1 ? 0 : img[at]! ^ (1 << rnd[50 + k]! % 8);
      }
      tally.open(round, () => openXfs(new BufferByteSource(img, `fuzz-${round}`)));
    }
    t.same(tally.untyped, [], `${fx.spec.name}: only typed errors escape (${JSON.stringify(tally.outcomes)})`);
    t.ok(tally.outcomes.replayed > 0, `${fx.spec.name}: outcomes ${JSON.stringify(tally.outcomes)}`);
  }
});

/** Recomputes a record's h_crc as xlog_cksum does (one header block, no wrap): hostile content then reaches the parser. */
function reseal(img: Uint8Array, hdrOff: number): void {
  const dv = new DataView(img.buffer, img.byteOffset);
  const hLen = dv.getUint32(hdrOff + 12);
  if (hLen === 0 || hLen > 256 * 1024) return;
  const hdr = img.slice(hdrOff, hdrOff + 328);
  hdr.fill(0, 32, 36);
  const crc = crc32c(img.subarray(hdrOff + 512, hdrOff + 512 + hLen), crc32c(hdr));
  dv.setUint32(hdrOff + 32, crc, true);
}

t.test('fuzzing log records whose CRC is made to match: the parser never crashes or hangs', async (t) => {
  const fx = built[0]!.fx;
  const fs0 = open(t, fx.snapshot);
  const recs = recordBlocks(fx.snapshot, fs0);
  const pristine = new Uint8Array(readFileSync(fx.snapshot));
  const tally = new ReplayFuzzTally();
  for (let round = 0; round < 60; round++) {
    const img = pristine.slice();
    const rnd = pseudoRandom(64, 5000 + round);
    const rec = recs[rnd[0]! % recs.length]!;
    const hdrOff = logOffset(fs0, rec);
    const hLen = new DataView(img.buffer).getUint32(hdrOff + 12);
    for (let k = 0; k < 1 + (rnd[1]! % 4); k++) {
      // Mostly the first bytes of the payload (op headers, transaction and item headers), sometimes anywhere in it.
      const rel = rnd[10 + k]! % 2 === 0 ? (rnd[20 + k]! % 96) : ((rnd[20 + k]! << 8) | rnd[30 + k]!) % hLen;
      const at = hdrOff + 512 + rel;
      img[at] = rnd[40 + k]! % 3 === 0 ? 0xff : rnd[40 + k]! % 3 === 1 ? 0 : img[at]! ^ (1 << rnd[50 + k]! % 8);
    }
    reseal(img, hdrOff);
    tally.open(round, () => openXfs(new BufferByteSource(img, `fuzz-${round}`)));
  }
  t.same(tally.untyped, [], `only typed errors escape (${JSON.stringify(tally.outcomes)})`);
  t.ok(tally.outcomes.refused > 0 && tally.outcomes.replayed > 0, `both outcomes: ${JSON.stringify(tally.outcomes)}; reasons: ${[...tally.reasons].slice(0, 8).join(' | ')}`);
});
