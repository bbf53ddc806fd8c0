import t from 'tap';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { UnsupportedError } from '../../../bytes/errors.js';
import { openBtrfs, type BtrfsFilesystem, type BtrfsOpenOptions } from '../../../probes/fs/btrfs.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { BufferByteSource, FileByteSource } from '../../../bytes/byte-source.js';
import { btrfsUnavailable, buildBtrfs, buildMultiDevice, withMount } from '../../fixtures/btrfs-builder.js';
import { run } from '../../fixtures/cache.js';
import { sha256File } from '../../fixtures/disk-builder.js';

/**
 * The btrfs reader against the kernel: images written through a loop mount
 * (compress=zstd, per-directory lzo and zlib, subvolumes, a snapshot, a
 * default subvolume), then every file the reader lists compared with what
 * a read-only kernel mount of the same subvolume shows, and the trees with
 * `btrfs inspect-internal dump-tree`.
 */

const UUID = '0f6c3a2e-7d41-4b8e-9f05-2c3d4e5f6a7b';

/** The distribution shapes in one image: Fedora's `root`/`home`, openSUSE's `@/.snapshots/1/snapshot`, set-default to `root`. */
const POPULATE = `
m=$1
btrfs -q subvolume create "$m/root"
btrfs -q subvolume create "$m/home"
btrfs -q subvolume create "$m/@"
r=$m/root
mkdir -p "$r/etc" "$r/usr/bin" "$r/boot" "$r/zstd" "$r/lzo" "$r/zlib" "$r/many"
echo 'NAME="Fedora Linux"' > "$r/etc/os-release"
btrfs property set "$r/lzo" compression lzo
btrfs property set "$r/zlib" compression zlib
for d in zstd lzo zlib; do
  seq 1 120000 > "$r/$d/seq.txt"
  seq 1 300 > "$r/$d/small.txt"
done
sync
# An overwrite in the middle splits a compressed extent: the file then references it at an offset.
printf 'overwritten in place' | dd of="$r/zstd/seq.txt" bs=1 seek=200000 conv=notrunc status=none
printf 'overwritten in place' | dd of="$r/lzo/seq.txt" bs=1 seek=300000 conv=notrunc status=none
head -c 400000 /dev/urandom > "$r/usr/bin/random.bin"
fallocate -l 1048576 "$r/prealloc.bin"
fallocate -l 1048576 "$r/half-written.bin"
printf 'written into preallocated space' | dd of="$r/half-written.bin" bs=1 seek=500000 conv=notrunc status=none
truncate -s 10000000 "$r/sparse.bin"
printf 'middle of a hole' | dd of="$r/sparse.bin" bs=1 seek=6000000 conv=notrunc status=none
ln -s ../etc/os-release "$r/usr/relative-link"
ln -s /etc/os-release "$r/boot/absolute-link"
ln -s /nowhere "$r/dangling"
i=0; while [ $i -lt 3000 ]; do echo $i > "$r/many/entry-with-a-longish-name-$i"; i=$((i+1)); done
echo user > "$m/home/profile"
mkdir -p "$m/@/.snapshots/1"
btrfs -q subvolume snapshot "$r" "$m/@/.snapshots/1/snapshot"
echo 'NAME="changed after the snapshot"' > "$r/etc/os-release"
btrfs -q subvolume set-default "$r"
`;

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** Every entry the reader lists, compared with the kernel's view of the same subvolume: type, inode, content, link target, names. */
function compareWithKernel(t: Tap, fs: BtrfsFilesystem, mnt: string): number {
  let files = 0;
  let mismatches = 0;
  const kernelNames = (p: string): string[] => readdirSync(mnt + p).sort();
  const readerNames = (p: string): string[] => fs.readdir(p).map((e) => e.name).sort();
  if (JSON.stringify(kernelNames('/')) !== JSON.stringify(readerNames('/'))) mismatches++;
  for (const e of walk(fs, '/')) {
    const st = lstatSync(mnt + e.path);
    const kernelType = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other';
    const sameSubvolume = e.ino < 2 ** 32;
    const ok = kernelType === e.type
      && (!sameSubvolume || st.ino === e.ino)
      && (e.type !== 'file' || Buffer.from(fs.readFile(e.path, { maxBytes: 64 * 1024 * 1024 })).equals(readFileSync(mnt + e.path)))
      && (e.type !== 'symlink' || fs.readlink(e.path) === readlinkSync(mnt + e.path))
      && (e.type !== 'directory' || JSON.stringify(kernelNames(e.path)) === JSON.stringify(readerNames(e.path)));
    if (!ok) {
      mismatches++;
      t.fail(`${e.path} differs from the kernel's view`);
    }
    if (e.type === 'file') files++;
  }
  t.equal(mismatches, 0, `every entry matches the kernel (${files} files)`);
  return files;
}

function main(): void {
  const image = buildBtrfs({ name: 'distro-shapes', sizeMiB: 256, uuid: UUID, mountOptions: 'compress=zstd', populate: POPULATE });
  const before = sha256File(image);
  t.teardown(() => {
    // Reading (and the kernel's read-only mounts) never change the image.
    if (sha256File(image) !== before) throw new Error(`${image} changed`);
  });
  const dump = run('btrfs', ['inspect-internal', 'dump-tree', image]);

  t.test('the fixture holds what the reader must handle (dump-tree)', async (t) => {
    for (const c of [1, 2, 3]) t.match(dump, new RegExp(`extent compression ${c}`), `compression ${c} (zlib, lzo, zstd) extents`);
    t.match(dump, /inline extent data size \d+ ram_bytes \d+ compression 0/, 'inline extents');
    t.match(dump, /prealloc data disk byte \d+/, 'prealloc extents');
    t.match(dump, /extent data offset [1-9]\d* nr \d+ ram \d+\s+extent compression [123]/, 'a compressed extent referenced at an offset');
    t.match(dump, /node \d+ level [1-9] items \d+ free space \d+ generation \d+ owner 256/, 'the root subvolume tree has internal nodes');
  });

  t.test('superblock facts and the default subvolume match btrfs-progs', async (t) => {
    const src = new FileByteSource(image);
    t.teardown(() => src.close());
    const fs = openBtrfs(src);
    t.equal(fs.info.uuid, UUID.replace(/-/g, ''));
    t.equal(fs.info.label, 'distro-shapes');
    t.equal(fs.info.checksum, 'crc32c');
    t.same(fs.info.profiles.sort(), ['DUP', 'SINGLE'], 'default mkfs: DUP metadata, SINGLE data');
    const listing = withMount(image, 'ro', (mnt) => ({ def: run('btrfs', ['subvolume', 'get-default', mnt]), list: run('btrfs', ['subvolume', 'list', mnt]) }));
    const defaultId = /^ID (\d+) /.exec(listing.def)![1]!;
    t.equal(fs.info.defaultSubvolume, defaultId, 'the DEFAULT dir item names what `btrfs subvolume get-default` reports');
    t.same(fs.info.subvolume, { id: defaultId, path: 'root' });
    for (const line of listing.list.trim().split('\n')) {
      const [, id, path] = /^ID (\d+) .* path (.+)$/.exec(line)!;
      const sub = openBtrfs(src, { subvolume: path! });
      t.same(sub.info.subvolume, { id, path }, `subvolume ${path} resolves to ${id}`);
      t.equal(sub.subvolumePath(BigInt(id!)), path, 'ROOT_BACKREF and INODE_REF give its path back');
    }
    t.ok(fs.info.metadataCsums.checked > 0 && fs.info.metadataCsums.failed === 0, 'tree block checksums verified');
    t.equal(fs.info.needsRecovery, false);
  });

  const views: { name: string; options: BtrfsOpenOptions; mount: string }[] = [
    { name: 'the default subvolume (root)', options: {}, mount: 'ro' },
    { name: 'subvol=root', options: { subvolume: 'root' }, mount: 'ro,subvol=root' },
    { name: "openSUSE's @/.snapshots/1/snapshot", options: { subvolume: '@/.snapshots/1/snapshot' }, mount: 'ro,subvol=@/.snapshots/1/snapshot' },
    { name: 'the top level (subvolid=5), crossing into every subvolume', options: { subvolume: '/' }, mount: 'ro,subvolid=5' },
  ];
  for (const v of views) {
    t.test(`${v.name}: every file as the kernel reads it`, async (t) => {
      const src = new FileByteSource(image);
      t.teardown(() => src.close());
      const fs = openBtrfs(src, v.options);
      const files = withMount(image, v.mount, (mnt) => compareWithKernel(t, fs, mnt));
      t.ok(files >= 3000, `${files} files compared`);
    });
  }

  t.test('the snapshot keeps what the root had when it was taken', async (t) => {
    const src = new FileByteSource(image);
    t.teardown(() => src.close());
    const snap = openBtrfs(src, { subvolume: '@/.snapshots/1/snapshot' });
    const root = openBtrfs(src);
    t.equal(Buffer.from(snap.readFile('/etc/os-release')).toString(), 'NAME="Fedora Linux"\n');
    t.equal(Buffer.from(root.readFile('/etc/os-release')).toString(), 'NAME="changed after the snapshot"\n');
    t.equal(Buffer.from(root.read('/sparse.bin', 6000000, 16)).toString(), 'middle of a hole');
    t.same([...root.read('/prealloc.bin', 4096, 8)], [0, 0, 0, 0, 0, 0, 0, 0], 'prealloc reads as zeros');
  });

  t.test('paths that are not subvolumes are refused', async (t) => {
    const src = new FileByteSource(image);
    t.teardown(() => src.close());
    t.throws(() => openBtrfs(src, { subvolume: 'nope' }), FsError);
    t.throws(() => openBtrfs(src, { subvolume: 'root/etc' }), { code: 'EINVAL' });
    t.throws(() => openBtrfs(src).readFile('/dangling'), { code: 'ENOENT' });
  });

  t.test('DUP data and sha256 checksums', async (t) => {
    const dup = buildBtrfs({
      name: 'dup-sha256', sizeMiB: 256, mkfs: ['-m', 'dup', '-d', 'dup', '--csum', 'sha256'], mountOptions: 'compress=zlib',
      populate: 'seq 1 50000 > "$1/seq.txt"; head -c 200000 /dev/urandom > "$1/random.bin"; ln -s seq.txt "$1/link"',
    });
    const sum = sha256File(dup);
    const src = new FileByteSource(dup);
    t.teardown(() => src.close());
    const fs = openBtrfs(src);
    t.same(fs.info.profiles, ['DUP']);
    t.equal(fs.info.checksum, 'sha256');
    withMount(dup, 'ro', (mnt) => compareWithKernel(t, fs, mnt));
    t.equal(sha256File(dup), sum, 'the image is unchanged');
  });

  t.test('a damaged DUP copy of a tree block: the other copy is read, and the failure counted', async (t) => {
    const rootLogical = /^root\s+(\d+)$/m.exec(run('btrfs', ['inspect-internal', 'dump-super', image]))![1]!;
    const mirrors = [...run('btrfs-map-logical', ['-l', rootLogical, image]).matchAll(/^mirror (\d) logical \d+ physical (\d+)/gm)].map((m) => Number(m[2]));
    t.equal(mirrors.length, 2, 'btrfs-map-logical lists two copies of the root tree block');
    const bytes = new Uint8Array(readFileSync(image));
    bytes[mirrors[0]! + 200]! ^= 0xff; // inside the item area: only the checksum can tell
    const fs = openBtrfs(new BufferByteSource(bytes, 'damaged copy'));
    t.equal(Buffer.from(fs.readFile('/etc/os-release')).toString(), 'NAME="changed after the snapshot"\n');
    t.equal(fs.info.metadataCsums.failed, 1, 'one copy failed its checksum');
    bytes[mirrors[1]! + 200]! ^= 0xff;
    t.throws(() => openBtrfs(new BufferByteSource(bytes, 'both copies damaged')), { name: 'ParseError', message: /checksum mismatch/ }, 'both copies bad: damage');
  });

  t.test('RAID profiles are refused naming the profile', async (t) => {
    const [dev1] = buildMultiDevice('raid1', 'raid1', 128);
    const src = new FileByteSource(dev1!);
    t.teardown(() => src.close());
    let err: unknown;
    try {
      openBtrfs(src);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof UnsupportedError, 'an UnsupportedError, not damage');
    t.match((err as Error).message, /uses the RAID1 profile/);
  });
}

const unavailable = btrfsUnavailable();
if (unavailable) {
  t.test('btrfs reader', { skip: unavailable }, async () => {});
} else {
  main();
}
