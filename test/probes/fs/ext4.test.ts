import t from 'tap';
import { readFileSync } from 'node:fs';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { Ext4Filesystem, openExt4 } from '../../../probes/fs/ext4.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import {
  buildExt4,
  compareWithOracles,
  copyImage,
  debugfs,
  debugfsDump,
  debugfsInodeOffset,
  debugfsExtentDepth,
  debugfsStat,
  le16,
  patch,
  pseudoRandom,
  richTree,
  SLOW_LINK_TARGET,
} from '../../fixtures/ext4-builder.js';

/** Default mkfs.ext4: 64bit, extents, metadata_csum, dir_index, flex_bg, huge_file; 4 KiB blocks; htree built by e2fsck -D. */
const fx = buildExt4({
  name: 'default-4k',
  blockSize: 4096,
  sizeMiB: 96,
  indexDirs: true,
  tree: { ...richTree(4096), 'var/lib/many': { many: 3000, prefix: 'entry-with-a-longish-name-' } },
});

const src = new FileByteSource(fx.image);
t.teardown(() => src.close());
const fs = openExt4(src);

t.test('superblock facts match dumpe2fs/debugfs', async (t) => {
  t.equal(fs.type, 'ext4');
  t.equal(fs.info.blockSize, 4096);
  t.equal(fs.info.descSize, 64);
  t.equal(fs.info.label, 'default-4k');
  t.equal(fs.info.uuid, '3b7a1c2e5f4d4e6a9c8b0123456789ab');
  t.equal(fs.info.clean, true);
  t.equal(fs.info.needsRecovery, false);
  t.equal(fs.info.truncated, false);
  const featuresLine = /Filesystem features:\s+(.*)/.exec(debugfs(fx.image, 'features'))?.[1] ?? '';
  const ours = [...fs.info.features.compat, ...fs.info.features.incompat, ...fs.info.features.roCompat].sort();
  t.same(ours, featuresLine.trim().split(/\s+/).sort(), 'feature names are e2fsprogs names');
  for (const f of ['64bit', 'extent', 'flex_bg', 'filetype']) t.ok(fs.info.features.incompat.includes(f), `incompat ${f}`);
  t.ok(fs.info.features.roCompat.includes('metadata_csum'));
  t.ok(fs.info.features.compat.includes('dir_index'));
  const stats = debugfs(fx.image, 'stats');
  t.equal(fs.info.blocksCount, Number(/Block count:\s+(\d+)/.exec(stats)?.[1]));
  t.equal(fs.info.inodesCount, Number(/Inode count:\s+(\d+)/.exec(stats)?.[1]));
  t.equal(fs.info.inodeSize, Number(/Inode size:\s+(\d+)/.exec(stats)?.[1]));
});

t.test('every entry matches the source tree and debugfs', async (t) => {
  const report = compareWithOracles(fs, fx, t.testdir());
  t.same(report.mismatches, [], 'no mismatches');
  t.ok(report.counts.entries > 3000, `${report.counts.entries} entries compared`);
  t.ok(report.counts.debugfsDumps >= 10, `${report.counts.debugfsDumps} files compared with debugfs dump`);
  t.ok(report.counts.debugfsStats >= 30, `${report.counts.debugfsStats} entries compared with debugfs stat`);
});

t.test('the oracle comparison notices a wrong byte, inode or listing', async (t) => {
  // A reader that lies a little: the harness above must catch each lie.
  const liar = {
    lstat: (p: string) => (p === '/etc/hostname' ? { ...fs.lstat(p), ino: 9999 } : fs.lstat(p)),
    readdir: (p: string) => (p === '/a' ? [] : fs.readdir(p)),
    readFile: (p: string, o?: { maxBytes?: number }) => {
      const d = fs.readFile(p, o).slice();
      if (p === '/bin/tool') d[500] = (d[500]! + 1) & 0xff;
      return d;
    },
    read: (p: string, off: number, len: number) => fs.read(p, off, len),
    readlink: (p: string) => (p === '/links/fast' ? 'elsewhere' : fs.readlink(p)),
  };
  const report = compareWithOracles(liar, fx, t.testdir());
  const text = report.mismatches.join('\n');
  t.match(text, /\/bin\/tool: content/);
  t.match(text, /\/etc\/hostname: inode vs debugfs stat/);
  t.match(text, /\/a: readdir/);
  t.match(text, /\/links\/fast: symlink target/);
});

t.test('uninitialised extents read as zeros, as debugfs reads them', async (t) => {
  const dir = t.testdir();
  const img = copyImage(fx, dir);
  const raw = readFileSync(img);
  // /bin/tool: one extent in i_block (depth 0); /sparse: its 600 MiB chunk is the second extent.
  for (const [path, index] of [['/bin/tool', 0], ['/sparse', 1]] as const) {
    const lenAt = debugfsInodeOffset(img, path, 4096) + 0x28 + 12 + 12 * index + 4;
    patch(img, lenAt, le16(raw.readUInt16LE(lenAt) + 32768));
  }
  t.match(debugfs(img, 'ex /bin/tool', ['-n']), /Uninit/, 'debugfs -n sees an uninitialised extent');
  const s = new FileByteSource(img);
  t.teardown(() => s.close());
  const pfs = openExt4(s);
  const tool = pfs.readFile('/bin/tool');
  t.equal(tool.length, 100_000);
  t.ok(tool.every((b) => b === 0), 'all zeros');
  t.same(tool, new Uint8Array(readFileSync(debugfsDump(img, '/bin/tool', dir, ['-n']))), 'same bytes as debugfs dump');
  t.ok(pfs.read('/sparse', 600 << 20, 4096).every((b) => b === 0), 'uninitialised chunk of /sparse is zeros');
  t.same(pfs.read('/sparse', 0, 5000), pseudoRandom(5000, 20), 'initialised extents of the same file still read');
  // readInto writes what read returns, whatever the buffer held: uninitialised extents are zeroed, not skipped.
  for (const [path, offset, length] of [['/bin/tool', 0, 100_000], ['/sparse', (600 << 20) - 3000, 9000], ['/sparse', 0, 5000]] as const) {
    const out = new Uint8Array(length + 7).fill(0xee);
    t.equal(pfs.readInto(path, offset, out.subarray(0, length)), length, `${path} at ${offset}: readInto reads ${length} bytes`);
    t.same(out.subarray(0, length), pfs.read(path, offset, length), `${path} at ${offset}: readInto writes what read returns`);
    t.ok(out.subarray(length).every((b) => b === 0xee), `${path} at ${offset}: and nothing past it`);
  }
});

t.test('htree directory is read linearly, index blocks skipped', async (t) => {
  const dir = fs.resolve('/var/lib/many').node;
  t.ok((dir.i_flags & 0x1000) !== 0, 'EXT4_INDEX_FL set (e2fsck -D indexed it)');
  t.match(debugfs(fx.image, 'htree /var/lib/many'), /Indirect levels: 0/);
  const names = fs.readdir('/var/lib/many').map((e) => e.name);
  t.equal(names.length, 3000);
  t.equal(new Set(names).size, 3000, 'no duplicates (dx blocks not read as entries)');
  t.ok(names.every((n) => /^entry-with-a-longish-name-\d+$/.test(n)), 'only real names');
  t.equal(fs.stat('/var/lib/many/entry-with-a-longish-name-2999').size, 0);
});

t.test('fragmented file has a depth-2 extent tree and reads back', async (t) => {
  t.equal(debugfsExtentDepth(fx.image, '/frag'), 2, 'debugfs ex shows depth 2');
  t.equal(fs.extentDepth(fs.resolve('/frag').node), 2);
  const data = fs.readFile('/frag', { maxBytes: 64 << 20 });
  t.equal(data.length, (2 * 1500 - 1) * 4096);
  // Odd blocks are holes: zeros.
  t.ok(data.subarray(4096, 8192).every((b) => b === 0), 'hole reads as zeros');
  // readInto over a buffer of garbage: the holes are zeroed, and the end of the file is where it stops.
  const out = new Uint8Array(data.length + 4096).fill(0xee);
  t.equal(fs.readInto('/frag', 0, out), data.length, 'readInto stops at the end of the file');
  t.same(out.subarray(0, data.length), data, 'readInto writes what readFile returns, holes as zeros');
});

t.test('sparse file: holes are zeros, size is i_size, only touched blocks are read', async (t) => {
  const st = fs.stat('/sparse');
  t.equal(st.size, 1 << 30);
  t.match(debugfsStat(fx.image, '/sparse').blocks, /\(0-1\):\d+/);
  const before = src.stats.bytesRead;
  const mid = fs.read('/sparse', 300 << 20, 1 << 20);
  t.equal(mid.length, 1 << 20);
  t.ok(mid.every((b) => b === 0));
  t.ok(src.stats.bytesRead - before < 64 * 1024, 'a hole costs no data reads');
  t.equal(fs.read('/sparse', (1 << 30) - 10, 100).length, 10, 'read clipped at i_size');
  t.equal(fs.read('/sparse', 1 << 30, 100).length, 0, 'read at i_size is empty');
  t.throws(() => fs.readFile('/sparse'), { code: 'EFBIG' }, 'larger than the default maxBytes');
  const head = fs.readFile('/sparse', { maxBytes: 4096, truncate: true });
  t.equal(head.length, 4096);
});

t.test('symlinks: fast, slow, absolute, relative, chains, loops', async (t) => {
  const fast = fs.resolve('/links/fast', false).node;
  t.equal(debugfsStat(fx.image, '/links/fast').fastLink, '../etc/os-release', 'debugfs agrees it is fast');
  t.equal(fast.i_blocks, 0);
  t.equal(fs.readlink('/links/fast'), '../etc/os-release');
  const slow = fs.resolve('/links/slow', false).node;
  t.ok(slow.i_blocks > 0, 'slow symlink has a data block');
  t.equal(fs.readlink('/links/slow'), SLOW_LINK_TARGET);
  t.equal(new TextDecoder().decode(fs.readFile('/links/slow')), 'deep\n');
  t.equal(new TextDecoder().decode(fs.readFile('/links/abs')), 'vm\n');
  t.equal(new TextDecoder().decode(fs.readFile('/links/chain')), new TextDecoder().decode(fs.readFile('/etc/os-release')));
  t.equal(new TextDecoder().decode(fs.readFile('/links/above-root')), 'vm\n', '.. never climbs above the root');
  t.equal(fs.realpath('/links/dir/c/../c/d'), '/a/b/c/d');
  t.equal(fs.realpath('/links/slow'), '/a/b/c/d/e/deep.txt');
  t.same(fs.readdir('/links/dir').map((e) => e.name).sort(), ['c', 'empty-dir']);
  t.equal(fs.lstat('/links/dir').type, 'symlink');
  t.equal(fs.stat('/links/dir').type, 'directory');
  t.throws(() => fs.stat('/links/loop1'), { code: 'ELOOP' });
  t.throws(() => fs.stat('/links/self'), { code: 'ELOOP' });
  t.throws(() => fs.stat('/links/dangling'), { code: 'ENOENT' });
  t.equal(fs.lstat('/links/dangling').type, 'symlink');
  t.equal(fs.exists('/links/dangling'), false);
  t.equal(fs.exists('/links/loop1'), false);
  t.throws(() => fs.readlink('/etc/hostname'), { code: 'EINVAL' });
});

t.test('path resolution errors are FsErrors with POSIX codes', async (t) => {
  t.throws(() => fs.stat('/nope'), { code: 'ENOENT' });
  t.throws(() => fs.stat('/etc/hostname/x'), { code: 'ENOTDIR' });
  t.throws(() => fs.stat('/etc/hostname/'), { code: 'ENOTDIR' });
  t.throws(() => fs.stat('/etc/hostname/..'), { code: 'ENOTDIR' });
  t.throws(() => fs.readFile('/etc'), { code: 'EISDIR' });
  t.throws(() => fs.readFile('/dev/fifo-é'), { code: 'EINVAL' });
  t.throws(() => fs.readdir('/etc/hostname'), { code: 'ENOTDIR' });
  t.throws(() => fs.stat('/' + 'a/'.repeat(3000)), { code: 'ENAMETOOLONG' });
  t.throws(() => fs.stat('/etc\0'), { code: 'EINVAL' });
  const e = (() => {
    try {
      fs.stat('/a/b/zzz');
    } catch (err) {
      return err;
    }
  })();
  t.ok(e instanceof FsError);
  t.match((e as FsError).path, '/a/b/zzz');
  t.equal(fs.stat('/../../etc/./hostname').ino, fs.stat('/etc/hostname').ino, '.. at the root stays at the root');
  t.equal(fs.stat('etc//hostname').ino, fs.stat('/etc/hostname').ino, 'relative and doubled slashes are normalised');
  t.equal(fs.realpath('/a/b/c/../../b/./c/d/e/'), '/a/b/c/d/e');
});

t.test('unicode names and special files', async (t) => {
  t.same(fs.readdir('/ünïcødé').map((e) => e.name).sort(), ['emoji-😀', '日本語.txt']);
  t.equal(new TextDecoder().decode(fs.readFile('/ünïcødé/日本語.txt')), 'こんにちは\n');
  t.equal(new TextDecoder().decode(fs.readFile('/ünïcødé/emoji-😀/ñ')), 'ñ\n');
  t.equal(fs.lstat('/dev/fifo-é').type, 'fifo');
  const isRoot = process.getuid?.() === 0;
  if (isRoot) t.equal(fs.lstat('/dev/tty-ñ').type, 'char-device');
  else t.equal(fs.exists('/dev/tty-ñ'), false, 'no device node without root');
  t.equal(fs.readdir('/').find((e) => e.name === 'name with spaces')?.type, 'file');
});

t.test('walk visits every entry once, without following symlinks', async (t) => {
  const paths: string[] = [];
  for (const e of walk(fs, '/')) paths.push(e.path);
  t.equal(new Set(paths).size, paths.length, 'no entry twice');
  t.ok(paths.includes('/a/b/c/d/e/deep.txt'));
  t.ok(paths.includes('/links/dir'));
  t.notOk(paths.some((p) => p.startsWith('/links/dir/')), 'symlinked directory not entered');
  t.ok(paths.length > 3030);
});

t.test('reads are lazy: opening and one lookup read a few KiB', async (t) => {
  const s = new FileByteSource(fx.image);
  t.teardown(() => s.close());
  const fresh = Ext4Filesystem.open(s);
  const afterOpen = s.stats.bytesRead;
  t.ok(afterOpen <= 8192, `open read ${afterOpen} bytes`);
  fresh.readFile('/etc/os-release');
  t.ok(s.stats.bytesRead < 64 * 1024, `one file read ${s.stats.bytesRead} bytes in all`);
});
