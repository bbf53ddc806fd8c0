/**
 * One filesystem per feature set that changes the on-disk format, each built
 * by e2fsprogs and compared entry by entry with its source tree and debugfs.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { type Ext4Filesystem, openExt4 } from '../../../probes/fs/ext4.js';
import {
  buildExt4,
  compareWithOracles,
  copyImage,
  debugfs,
  debugfsExtentDepth,
  debugfsInodeOffset,
  debugfsLs,
  debugfsStat,
  type Ext4Fixture,
  type Ext4Spec,
  le32,
  patch,
  richTree,
  SLOW_LINK_TARGET,
} from '../../fixtures/ext4-builder.js';

/** The subtest type, without naming tap's generics. */
type TestT = Parameters<Parameters<typeof t.test>[0]>[0];

const open = (t: TestT, image: string): Ext4Filesystem => {
  const src = new FileByteSource(image);
  t.teardown(() => src.close());
  return openExt4(src);
};

/** Builds the fixture, opens it and checks every entry against the oracles. */
function checkFixture(t: TestT, spec: Ext4Spec, expect: { type: string; descSize?: number }): { fx: Ext4Fixture; fs: Ext4Filesystem } {
  const fx = buildExt4(spec);
  const fs = open(t, fx.image);
  t.equal(fs.type, expect.type, `reads as ${expect.type}`);
  t.equal(fs.info.blockSize, spec.blockSize);
  if (expect.descSize !== undefined) t.equal(fs.info.descSize, expect.descSize);
  const featuresLine = /Filesystem features:\s*(.*)/.exec(debugfs(fx.image, 'features'))?.[1]?.trim() ?? '';
  const ours = [...fs.info.features.compat, ...fs.info.features.incompat, ...fs.info.features.roCompat].sort();
  t.same(ours, featuresLine === '(none)' ? [] : featuresLine.split(/\s+/).sort(), `features: ${featuresLine}`);
  const report = compareWithOracles(fs, fx, t.testdir());
  t.same(report.mismatches, [], `${report.counts.entries} entries, ${report.counts.bytes} bytes, ${report.counts.debugfsDirs} debugfs listings agree`);
  return { fx, fs };
}


t.test('ext4 without 64bit: 32-byte group descriptors', async (t) => {
  const { fs } = checkFixture(t, { name: 'no64bit-4k', blockSize: 4096, sizeMiB: 64, features: '^64bit', tree: richTree(4096) }, { type: 'ext4', descSize: 32 });
  t.notOk(fs.info.features.incompat.includes('64bit'));
});

t.test('ext4 with 1 KiB blocks: two-level htree and depth-2 extent tree', async (t) => {
  const { fx, fs } = checkFixture(t, {
    name: 'ext4-1k',
    blockSize: 1024,
    sizeMiB: 64,
    indexDirs: true,
    tree: { ...richTree(1024), big: { many: 5000, prefix: 'a-rather-long-file-name-for-htree-' } },
  }, { type: 'ext4', descSize: 64 });
  t.match(debugfs(fx.image, 'htree /big'), /Indirect levels: 1/, 'debugfs: the htree has interior (dx_node) blocks');
  const names = fs.readdir('/big').map((e) => e.name);
  t.equal(names.length, 5000);
  t.equal(new Set(names).size, 5000);
  t.equal(debugfsExtentDepth(fx.image, '/frag'), 2);
  t.equal(fs.extentDepth(fs.resolve('/frag').node), 2);
});

t.test('ext4 without extents: legacy block maps, triple indirect for a 1 GiB sparse file', async (t) => {
  const { fx, fs } = checkFixture(t, { name: 'noextent-1k', blockSize: 1024, sizeMiB: 64, features: '^extent,^64bit', tree: richTree(1024) }, { type: 'ext4', descSize: 32 });
  const sparse = fs.resolve('/sparse').node;
  t.equal(sparse.i_flags & 0x80000, 0, 'no EXTENTS_FL');
  t.match(debugfsStat(fx.image, '/sparse').blocks, /\(TIND\)/, 'debugfs shows a triple-indirect block');
  t.equal(fs.extentDepth(sparse), undefined);
});

t.test('ext2 (mkfs.ext2): no journal, block maps', async (t) => {
  checkFixture(t, { name: 'ext2-1k', mkfs: 'mkfs.ext2', blockSize: 1024, sizeMiB: 64, tree: richTree(1024) }, { type: 'ext2', descSize: 32 });
});

t.test('ext2 revision 0: no features at all, 128-byte inodes, no file types in entries', async (t) => {
  const { fs } = checkFixture(t, { name: 'ext2-rev0', mkfs: 'mkfs.ext2', revision: 0, blockSize: 1024, sizeMiB: 48, tree: richTree(1024, { stripes: 50 }) }, { type: 'ext2' });
  t.equal(fs.info.inodeSize, 128);
  t.same(fs.info.features.incompat, []);
});

t.test('ext3 (mkfs.ext3): journal, block maps, double indirect', async (t) => {
  const { fx } = checkFixture(t, { name: 'ext3-4k', mkfs: 'mkfs.ext3', blockSize: 4096, sizeMiB: 64, tree: richTree(4096) }, { type: 'ext3', descSize: 32 });
  t.match(debugfsStat(fx.image, '/sparse').blocks, /\(DIND\)/);
});

t.test('inline_data: small files and directories inside the inode', async (t) => {
  const tree = {
    ...richTree(4096),
    'inl/0': { file: '' },
    'inl/1': { file: 'x' },
    'inl/59': { file: 'a'.repeat(59) },
    'inl/60': { file: 'b'.repeat(60) },
    'inl/61': { file: 'c'.repeat(61) },
    'inl/120': { file: 'd'.repeat(100) + 'tail-of-120-bytes..!' },
    'inl/150': { random: 150, seed: 5 },
    'inl/dir/one': { file: '1\n' },
    'inl/dir/two': { file: '2\n' },
  };
  const { fx, fs } = checkFixture(t, { name: 'inline-4k', blockSize: 4096, sizeMiB: 64, features: 'inline_data', tree }, { type: 'ext4' });
  for (const p of ['/inl/1', '/inl/59', '/inl/61', '/inl/120', '/inl/dir', '/links/slow']) {
    t.ok((debugfsStat(fx.image, p).flags & 0x10000000) !== 0, `${p} is inline (debugfs)`);
  }
  t.equal(debugfsStat(fx.image, '/inl/150').flags & 0x10000000, 0, '/inl/150 did not fit: it has a block');
  t.equal(fs.readlink('/links/slow'), SLOW_LINK_TARGET, 'inline symlink target continued in system.data');

  // mke2fs never spills an inline directory into system.data (the kernel does):
  // build one by giving /inl/dir the xattr area of the 120-byte inline file, holding one more entry.
  const img = copyImage(fx, t.testdir());
  const inodeSize = fs.info.inodeSize;
  const dirOff = debugfsInodeOffset(img, '/inl/dir', 4096);
  const fileOff = debugfsInodeOffset(img, '/inl/120', 4096);
  const raw = readFileSync(img);
  const extra = raw.readUInt16LE(fileOff + 0x80);
  const area = raw.subarray(fileOff + 128 + extra, fileOff + inodeSize);
  t.equal(area.readUInt32LE(0), 0xea020000, 'ibody xattr magic');
  const first = 4;
  t.equal(area.toString('latin1', first + 16, first + 16 + area[first]!), 'data', 'the entry is system.data');
  const valueOffs = area.readUInt16LE(first + 2);
  const valueSize = area.readUInt32LE(first + 8);
  t.equal(valueSize, 60);
  const target = fs.stat('/etc/hostname').ino;
  const dirent = Buffer.alloc(valueSize);
  dirent.writeUInt32LE(target, 0);
  dirent.writeUInt16LE(valueSize, 4);
  dirent[6] = 'from-ea'.length;
  dirent[7] = 1;
  dirent.write('from-ea', 8, 'latin1');
  const newArea = Buffer.from(area);
  dirent.copy(newArea, first + valueOffs);
  patch(img, dirOff + 128 + raw.readUInt16LE(dirOff + 0x80), newArea);
  patch(img, dirOff + 4, le32(120)); // i_size_lo: i_block + system.data
  const patched = open(t, img);
  const names = patched.readdir('/inl/dir').map((e) => e.name).sort();
  t.same(names, ['from-ea', 'one', 'two']);
  t.same(debugfsLs(img, '/inl/dir', ['-n']).map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort(), names, 'debugfs -n lists the same');
  t.equal(new TextDecoder().decode(patched.readFile('/inl/dir/from-ea')), 'vm\n');
});

t.test('64 KiB blocks: rec_len encoding and large blocks', async (t) => {
  const { fx, fs } = checkFixture(t, { name: 'blocks-64k', blockSize: 65536, sizeMiB: 256, inodeCount: 16384, indexDirs: true, tree: { ...richTree(65536, { stripes: 40 }), many: { many: 6000, prefix: 'entry-' } } }, { type: 'ext4' });
  t.match(debugfs(fx.image, 'htree /many'), /Root node dump/, 'a 64 KiB htree root block');
  t.ok(fs.stat('/many').size > 65536, 'the directory spans several 64 KiB blocks');
  t.equal(fs.readdir('/many').length, 6000);
});

t.test('meta_bg: group descriptors spread over meta-groups', async (t) => {
  const { fs } = checkFixture(t, {
    name: 'meta-bg-1k',
    blockSize: 1024,
    sizeMiB: 64,
    features: 'meta_bg,^resize_inode',
    blocksPerGroup: 1024,
    inodeCount: 4096,
    tree: { ...richTree(1024, { stripes: 50 }), spread: { many: 3000, prefix: 'f' } },
  }, { type: 'ext4' });
  t.ok(fs.info.features.incompat.includes('meta_bg'));
  const perBlock = 1024 / fs.info.descSize;
  const maxIno = Math.max(...fs.readdir('/spread').map((e) => e.ino));
  const group = Math.floor((maxIno - 1) / fs.sb.s_inodes_per_group);
  t.ok(group >= perBlock, `an inode in group ${group}, past the first meta-group of ${perBlock} groups`);
});

t.test('bigalloc: 16 KiB clusters of 4 KiB blocks', async (t) => {
  const { fs } = checkFixture(t, { name: 'bigalloc-4k', blockSize: 4096, sizeMiB: 128, features: 'bigalloc', clusterSize: 16384, tree: richTree(4096, { stripes: 300 }) }, { type: 'ext4' });
  t.ok(fs.info.features.roCompat.includes('bigalloc'));
});

t.test('casefold: a +F directory finds names case-insensitively', async (t) => {
  const { fs } = checkFixture(t, {
    name: 'casefold-4k',
    blockSize: 4096,
    sizeMiB: 32,
    features: 'casefold',
    debugfsWrites: ['set_inode_field /ci flags 0x40080000'],
    tree: { 'ci/ReadMe.TXT': { file: 'x\n' }, 'ci/straße': { file: 'y\n' }, 'cs/ReadMe.TXT': { file: 'z\n' } },
  }, { type: 'ext4' });
  t.equal(new TextDecoder().decode(fs.readFile('/ci/readme.txt')), 'x\n');
  t.equal(new TextDecoder().decode(fs.readFile('/ci/STRASSE')), 'y\n', 'full case folding: ß ~ SS');
  t.throws(() => fs.stat('/cs/readme.txt'), { code: 'ENOENT' }, 'ordinary directories stay case-sensitive');
});
