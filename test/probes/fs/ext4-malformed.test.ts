/**
 * Damaged and hostile filesystems: real images with bytes patched where
 * debugfs says the structure is. Each must give a ParseError (damage) or an
 * UnsupportedError (a feature we refuse) with a clear message — never a
 * RangeError, a crash, a hang or a huge allocation.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { BufferByteSource, FileByteSource } from '../../../bytes/byte-source.js';
import { openExt4, type Ext4Filesystem } from '../../../probes/fs/ext4.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import {
  buildExt4,
  copyImage,
  debugfsBlocks,
  debugfsInodeOffset,
  type Ext4Fixture,
  le16,
  le32,
  patch,
  pseudoRandom,
  richTree,
} from '../../fixtures/ext4-builder.js';

type TestT = Parameters<Parameters<typeof t.test>[0]>[0];

const ext4 = buildExt4({ name: 'malformed-4k', blockSize: 4096, sizeMiB: 32, tree: richTree(4096) });
const ext2 = buildExt4({ name: 'malformed-ext2-1k', mkfs: 'mkfs.ext2', blockSize: 1024, sizeMiB: 16, tree: richTree(1024, { stripes: 40, sparse: false }) });

const SB = 1024;
/** Superblock field offsets (ext4 docs: super.rst). */
const S = { inodes_count: 0x0, log_block_size: 0x18, blocks_per_group: 0x20, inodes_per_group: 0x28, magic: 0x38, feature_incompat: 0x60, inode_size: 0x58 };

function openImage(t: TestT, image: string): Ext4Filesystem {
  const src = new FileByteSource(image);
  t.teardown(() => src.close());
  return openExt4(src);
}

/** One scratch directory per subtest (t.testdir() would recreate it on each call). */
const scratch = new WeakMap<TestT, string>();

/** A patched copy of a fixture. */
function patched(t: TestT, fx: Ext4Fixture, edits: (img: string) => void): string {
  if (!scratch.has(t)) scratch.set(t, t.testdir());
  const img = copyImage(fx, scratch.get(t)!);
  edits(img);
  return img;
}

function u32At(img: string, offset: number): number {
  return readFileSync(img).readUInt32LE(offset);
}

/** Offset of the directory entry called `name` in a linear directory block, found by scanning (independent of the reader). */
function direntOffset(img: string, block: number, blockSize: number, name: string): number {
  const b = readFileSync(img).subarray(block * blockSize, (block + 1) * blockSize);
  for (let off = 0; off < blockSize; ) {
    const recLen = b.readUInt16LE(off + 4);
    if (b[off + 6] === name.length && b.toString('utf8', off + 8, off + 8 + name.length) === name) return block * blockSize + off;
    if (recLen === 0) break;
    off += recLen;
  }
  throw new Error(`no entry ${name} in block ${block}`);
}

/** Asserts fn throws `cls` with a message matching `re`. */
function throwsTyped(t: TestT, fn: () => unknown, cls: typeof ParseError | typeof UnsupportedError, re: RegExp, msg: string): void {
  try {
    fn();
    t.fail(`${msg}: did not throw`);
  } catch (e) {
    t.ok(e instanceof cls, `${msg}: ${(e as Error).name}`);
    t.match((e as Error).message, re, `${msg}: "${(e as Error).message}"`);
  }
}

t.test('superblock damage', async (t) => {
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.magic, le16(0x1234)))), ParseError, /ext4 superblock at offset 1080: bad magic 0x1234/, 'bad magic');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.inodes_count, le32(0xffffffff)))), ParseError, /s_inodes_count 4294967295 does not match/, 'huge inode count');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.inodes_per_group, le32(0x7fffffff)))), ParseError, /s_inodes_per_group 2147483647 is outside/, 'huge inodes per group');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.blocks_per_group, le32(0)))), ParseError, /s_blocks_per_group 0/, 'zero blocks per group');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.log_block_size, le32(30)))), ParseError, /s_log_block_size 30/, 'absurd block size');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.inode_size, le16(100)))), ParseError, /s_inode_size 100/, 'inode size not a power of two');
  throwsTyped(t, () => openExt4(new BufferByteSource(new Uint8Array(1500), 'tiny')), ParseError, /too small/, 'source smaller than a superblock');
});

t.test('incompatible features are refused by name', async (t) => {
  const incompat = u32At(ext4.image, SB + S.feature_incompat);
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.feature_incompat, le32(incompat | 0x1)))), UnsupportedError, /compression/, 'compression');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.feature_incompat, le32(incompat | 0x1000)))), UnsupportedError, /dirdata/, 'dirdata');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.feature_incompat, le32(incompat | 0x8)))), UnsupportedError, /journal_dev/, 'external journal device');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, SB + S.feature_incompat, le32(incompat | 0x800000)))), UnsupportedError, /unknown\(0x800000\)/, 'unknown bit');
  // RO_COMPAT unknowns do not stop a reader.
  const ro = u32At(ext4.image, SB + 0x64);
  const fs = openImage(t, patched(t, ext4, (i) => patch(i, SB + 0x64, le32(ro | 0x40000000))));
  t.ok(fs.info.features.roCompat.includes('unknown(0x40000000)'));
  t.equal(new TextDecoder().decode(fs.readFile('/etc/hostname')), 'vm\n');
  // needs_recovery reads what is on disk and says so.
  const rec = openImage(t, patched(t, ext4, (i) => patch(i, SB + S.feature_incompat, le32(incompat | 0x4))));
  t.equal(rec.info.needsRecovery, true);
});

t.test('encrypted inodes are refused, the rest still reads', async (t) => {
  const img = patched(t, ext4, (i) => {
    for (const p of ['/bin/tool', '/a/b']) {
      const off = debugfsInodeOffset(i, p, 4096);
      patch(i, off + 0x20, le32(u32At(i, off + 0x20) | 0x800));
    }
  });
  const fs = openImage(t, img);
  throwsTyped(t, () => fs.readFile('/bin/tool'), UnsupportedError, /inode \d+ is encrypted/, 'encrypted file');
  throwsTyped(t, () => fs.readdir('/a/b'), UnsupportedError, /encrypted/, 'encrypted directory');
  t.equal(new TextDecoder().decode(fs.readFile('/etc/hostname')), 'vm\n');
});

t.test('extent damage', async (t) => {
  const toolOff = debugfsInodeOffset(ext4.image, '/bin/tool', 4096);
  const iblock = toolOff + 0x28;
  // Root of /bin/tool: header (12) then its first extent; ee_start_lo at +8 of the entry.
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, iblock + 12 + 8, le32(0x7ffffff0)))).readFile('/bin/tool'), ParseError, /extent 0\+\d+ → physical block 2147483632: blocks 2147483632\.\.\d+ lie outside the filesystem/, 'extent pointing outside the filesystem');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, iblock + 6, le16(100)))).readFile('/bin/tool'), ParseError, /eh_depth 100 exceeds the maximum extent tree depth 5/, 'absurd depth');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, iblock + 2, le16(9)))).readFile('/bin/tool'), ParseError, /eh_entries 9 exceeds eh_max 4/, 'entries beyond max');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, iblock + 4, le16(300)))).readFile('/bin/tool'), ParseError, /eh_max 300 entries do not fit in a 60-byte node/, 'max beyond the node');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, iblock, le16(0xbeef)))).readFile('/bin/tool'), ParseError, new RegExp(`ext4 extent tree of inode \\d+ at offset ${iblock}: bad extent header magic 0xbeef`), 'bad node magic, with offset');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, iblock + 12 + 4, le16(0)))).readFile('/bin/tool'), ParseError, /extent of length 0/, 'zero-length extent');

  // /frag is depth 2: root → index node → leaves. Make the index node point at itself.
  const fragOff = debugfsInodeOffset(ext4.image, '/frag', 4096);
  const raw = readFileSync(ext4.image);
  t.equal(raw.readUInt16LE(fragOff + 0x28 + 6), 2, '/frag root depth 2');
  const node = raw.readUInt32LE(fragOff + 0x28 + 12 + 4);
  const selfLoop = patched(t, ext4, (i) => patch(i, node * 4096 + 12 + 4, le32(node)));
  throwsTyped(t, () => openImage(t, selfLoop).readFile('/frag', { maxBytes: 64 << 20 }), ParseError, /eh_depth 1 where the parent index implies depth 0/, 'tree node pointing at itself');
});

t.test('directory damage', async (t) => {
  const [etcBlock] = debugfsBlocks(ext4.image, '/etc');
  const first = etcBlock! * 4096;
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, first + 4, le16(0)))).readdir('/etc'), ParseError, new RegExp(`ext4 directory inode \\d+ block 0 at offset ${first + 4}: rec_len 0 is smaller than the minimal directory entry`), 'rec_len 0');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, first + 4, le16(0xfff0)))).readdir('/etc'), ParseError, /rec_len 65520 runs past the end/, 'rec_len past the block');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, first + 4, le16(14)))).readdir('/etc'), ParseError, /not a multiple of 4/, 'unaligned rec_len');
  const host = direntOffset(ext4.image, etcBlock!, 4096, 'hostname');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, host, le32(0x7fffffff)))).readdir('/etc'), ParseError, /names inode 2147483647, beyond s_inodes_count/, 'inode number out of range');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, host + 6, [200]))).readdir('/etc'), ParseError, /too small for name_len 200/, 'name longer than the record');
});

t.test('a directory entry pointing back up the tree: walks end with a ParseError', async (t) => {
  // /a/b/c becomes /a itself: /a → b → c(=a) → b → ...
  const aIno = openImage(t, ext4.image).stat('/a').ino;
  const [bBlock] = debugfsBlocks(ext4.image, '/a/b');
  const img = patched(t, ext4, (i) => patch(i, direntOffset(i, bBlock!, 4096, 'c'), le32(aIno)));
  const fs = openImage(t, img);
  t.equal(fs.stat('/a/b/c/b/c/b/c').ino, aIno, 'a path through the cycle still resolves (bounded by its length)');
  throwsTyped(t, () => [...walk(fs, '/')], ParseError, /directory cycle: \/a\/b\/c is the same directory \(inode \d+\) as \/a/, 'walk detects the cycle');

  // An entry naming its own directory.
  const [etcBlock] = debugfsBlocks(ext4.image, '/etc');
  const etcIno = openImage(t, ext4.image).stat('/etc').ino;
  const self = patched(t, ext4, (i) => {
    const off = direntOffset(i, etcBlock!, 4096, 'os-release');
    patch(i, off, le32(etcIno));
    patch(i, off + 7, [2]); // file_type: directory
  });
  throwsTyped(t, () => [...walk(openImage(t, self), '/etc')], ParseError, /directory cycle: \/etc\/os-release is the same directory/, 'self-reference');
});

t.test('group descriptor and inode damage', async (t) => {
  // Group 0's descriptor is in block 1 (4 KiB blocks); bg_inode_table_lo at +8.
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, 4096 + 8, le32(0x7fffffff)))), ParseError, /bg_inode_table 2147483647 .* lies outside the filesystem/, 'inode table outside the filesystem');
  const fastOff = debugfsInodeOffset(ext4.image, '/links/fast', 4096);
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, fastOff + 4, le32(5000)))).readlink('/links/fast'), ParseError, /symlink of 5000 bytes is longer than a block or PATH_MAX/, 'symlink longer than a block');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, fastOff + 4, le32(61)))).readlink('/links/fast'), ParseError, /has no blocks yet does not fit in i_block/, 'fast symlink longer than i_block');
  const rootOff = debugfsInodeOffset(ext4.image, '<2>', 4096);
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, rootOff, le16(0o100644)))), ParseError, /root inode is not a directory/, 'root not a directory');
  throwsTyped(t, () => openImage(t, patched(t, ext4, (i) => patch(i, rootOff + 0x80, le16(2000)))), ParseError, /i_extra_isize 2000 does not fit/, 'i_extra_isize past the record');
});

t.test('legacy block map damage', async (t) => {
  const toolOff = debugfsInodeOffset(ext2.image, '/bin/tool', 1024);
  throwsTyped(t, () => openImage(t, patched(t, ext2, (i) => patch(i, toolOff + 0x28 + 4 * 3, le32(0x7ffffff0)))).readFile('/bin/tool'), ParseError, /data block pointer for logical block 3 → block 2147483632 lies outside the filesystem/, 'direct pointer outside');
  throwsTyped(t, () => openImage(t, patched(t, ext2, (i) => patch(i, toolOff + 0x28 + 4 * 12, le32(0x7ffffff0)))).readFile('/bin/tool'), ParseError, /indirect block pointer for logical block 12 → block 2147483632 lies outside the filesystem/, 'indirect pointer outside');
  // An indirect block listing itself as data just reads its own bytes: damage, but finite.
  const ind = u32At(ext2.image, toolOff + 0x28 + 4 * 12);
  const fs = openImage(t, patched(t, ext2, (i) => patch(i, ind * 1024, le32(ind))));
  t.equal(fs.readFile('/bin/tool').length, 100_000);
});

t.test('a truncated image opens, and reads past its end fail clearly', async (t) => {
  const whole = readFileSync(ext4.image);
  // Cut right after /etc/hostname's data block: metadata and that file stay, /frag's last blocks go.
  const cut = (debugfsBlocks(ext4.image, '/etc/hostname')[0]! + 1) * 4096;
  t.ok(Math.max(...debugfsBlocks(ext4.image, '/frag')) * 4096 >= cut, '/frag ends past the cut');
  const src = new BufferByteSource(whole.subarray(0, cut), 'truncated.img');
  const fs = openExt4(src);
  t.equal(fs.info.truncated, true);
  t.equal(new TextDecoder().decode(fs.readFile('/etc/hostname')), 'vm\n');
  throwsTyped(t, () => fs.readFile('/frag', { maxBytes: 64 << 20 }), ParseError, /past the end of truncated\.img \(\d+ bytes\): truncated image\?/, 'data past the end');
});

t.test('fuzzing metadata never crashes or hangs', async (t) => {
  // Only typed errors may escape, and each run must end quickly, whatever the damage.
  const fx = buildExt4({ name: 'fuzz-1k', blockSize: 1024, sizeMiB: 8, features: '^has_journal', tree: richTree(1024, { stripes: 120, sparse: true }) });
  const pristine = new Uint8Array(readFileSync(fx.image));
  const base = openExt4(new BufferByteSource(pristine));
  // Where metadata lives: superblock, descriptors, every inode record and directory block we can find.
  const spots: [number, number][] = [[1024, 1024], [2048, 1024]];
  for (const e of walk(base, '/')) {
    const inode = base.inode(e.ino);
    spots.push([inode.offset, base.info.inodeSize]);
    if (e.type === 'directory' || (inode.i_flags & 0x80000) !== 0) {
      for (const r of base.runs(inode, 0, 8)) spots.push([r.pblk * 1024, Math.min(r.len, 2) * 1024]);
    }
  }
  const typed = (e: unknown): boolean => e instanceof ParseError || e instanceof UnsupportedError || e instanceof FsError;
  const rounds = 400;
  const counts = { ok: 0, parse: 0, unsupported: 0, fs: 0 };
  const untyped: string[] = [];
  let slowest = 0;
  for (let round = 0; round < rounds; round++) {
    const img = pristine.slice();
    const rnd = pseudoRandom(64, round + 1);
    const edits = 1 + (rnd[0]! % 8);
    for (let k = 0; k < edits; k++) {
      const [start, len] = spots[(rnd[1 + 2 * k]! * 256 + rnd[2 + 2 * k]!) % spots.length]!;
      const at = start + ((rnd[20 + k]! * 256 + rnd[30 + k]!) % len);
      img[at] = rnd[40 + k]! % 3 === 0 ? 0xff : rnd[40 + k]! % 3 === 1 ? 0 : img[at]! ^ (1 << rnd[50 + k]! % 8);
    }
    const t0 = performance.now();
    try {
      const fs = openExt4(new BufferByteSource(img, `fuzz-${round}`));
      for (const e of walk(fs, '/', { maxEntries: 10_000 })) {
        try {
          if (e.type === 'file') fs.readFile(e.path, { maxBytes: 1 << 20, truncate: true });
          else if (e.type === 'symlink') fs.readlink(e.path);
        } catch (err) {
          if (!typed(err)) throw err;
        }
      }
      counts.ok++;
    } catch (err) {
      if (err instanceof ParseError) counts.parse++;
      else if (err instanceof UnsupportedError) counts.unsupported++;
      else if (err instanceof FsError) counts.fs++;
      else untyped.push(`round ${round}: ${(err as Error).stack}`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  t.same(untyped, [], 'only ParseError, UnsupportedError or FsError escape');
  t.ok(slowest < 5000, `slowest round ${slowest.toFixed(0)} ms`);
  t.ok(counts.parse > 0, `outcomes: ${JSON.stringify(counts)}`);
});
