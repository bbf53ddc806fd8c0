import { readFileSync } from 'node:fs';
import { isReadError } from '../../../bytes/errors.js';
import { openBtrfs, type BtrfsFilesystem } from '../../../probes/fs/btrfs.js';
import { crc32c } from '../../../bytes/crc32.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { btrfsUnavailable, buildBtrfs } from '../../fixtures/btrfs-builder.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * btrfs filesystems written by the kernel (mixed block groups keep them at
 * 16 MiB): superblock, sys_chunk_array, chunk/root/fs tree blocks, with
 * compressed, inline and prealloc extents and a subvolume. The fixup
 * re-seals the superblock and every tree block's crc32c, so mutations get
 * past the checksums into the parsers behind them.
 */

const SB = 0x10000;
const POPULATE = `
m=$1
btrfs -q subvolume create "$m/root"
mkdir -p "$m/root/etc" "$m/root/lzo" "$m/root/zlib"
echo 'ID=fedora' > "$m/root/etc/os-release"
btrfs property set "$m/root/lzo" compression lzo
btrfs property set "$m/root/zlib" compression zlib
seq 1 20000 > "$m/root/zstd.txt"; seq 1 20000 > "$m/root/lzo/a.txt"; seq 1 20000 > "$m/root/zlib/a.txt"
seq 1 200 > "$m/root/lzo/inline.txt"
fallocate -l 65536 "$m/root/prealloc"
truncate -s 1000000 "$m/root/sparse"
ln -s etc/os-release "$m/root/link"
i=0; while [ $i -lt 60 ]; do echo $i > "$m/root/entry-$i"; i=$((i+1)); done
btrfs -q subvolume set-default "$m/root"
`;

/** struct btrfs_super_block fields (btrfs_tree.h), at 64 KiB. */
const SUPER: [number, 1 | 2 | 4 | 8, string][] = [
  [0x50, 8, 'root'], [0x58, 8, 'chunk_root'], [0x60, 8, 'log_root'], [0x70, 8, 'total_bytes'], [0x88, 8, 'num_devices'],
  [0x90, 4, 'sectorsize'], [0x94, 4, 'nodesize'], [0xa0, 4, 'sys_chunk_array_size'], [0xbc, 8, 'incompat_flags'],
  [0xc4, 2, 'csum_type'], [0xc6, 1, 'root_level'], [0xc7, 1, 'chunk_root_level'], [0xc9, 8, 'dev_item.devid'],
  // The first sys_chunk_array entry: key offset (logical), length, num_stripes, stripe offset.
  [0x32b + 9, 8, 'sys chunk key.offset'], [0x32b + 17, 8, 'sys chunk length'], [0x32b + 17 + 24, 8, 'sys chunk type'],
  [0x32b + 17 + 44, 2, 'sys chunk num_stripes'], [0x32b + 17 + 56, 8, 'sys chunk stripe offset'],
];

const le32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;

function seal(b: Uint8Array, at: number, size: number): void {
  const c = crc32c(b.subarray(at + 32, at + size));
  b[at] = c & 0xff;
  b[at + 1] = (c >>> 8) & 0xff;
  b[at + 2] = (c >>> 16) & 0xff;
  b[at + 3] = c >>> 24;
}

/** Tree blocks: sector-aligned blocks carrying the superblock's fsid in their header. */
function treeBlocks(b: Uint8Array): { at: number; size: number }[] {
  if (b.length < SB + 4096) return [];
  const ns = le32(b, SB + 0x94);
  const size = ns >= 4096 && ns <= 65536 && (ns & (ns - 1)) === 0 ? ns : 4096;
  const out = [];
  for (let at = 0; at + size <= b.length; at += 4096) {
    if (at === SB) continue;
    let same = true;
    for (let i = 0; i < 16 && same; i++) same = b[at + 0x20 + i] === b[SB + 0x20 + i];
    if (same) out.push({ at, size });
  }
  return out;
}

function seed(): Seed {
  const image = buildBtrfs({ name: 'fuzz-mixed', sizeMiB: 16, mkfs: ['-M'], mountOptions: 'compress=zstd', populate: POPULATE });
  const bytes = new Uint8Array(readFileSync(image));
  const fields: Field[] = SUPER.map(([at, width, name]) => ({ at: SB + at, width, endian: 'le' as const, name }));
  const hot: [number, number][] = [[SB, 4096]];
  for (const { at } of treeBlocks(bytes)) {
    hot.push([at, 1024]);
    fields.push(
      { at: at + 0x60, width: 4, endian: 'le', name: `tree block ${at} nritems` },
      { at: at + 0x64, width: 1, endian: 'le', name: `tree block ${at} level`, values: [1n, 7n, 8n] },
      // The first item: its key type and offset, its data offset and size (or blockptr).
      { at: at + 0x65 + 8, width: 1, endian: 'le', name: `tree block ${at} key type`, values: [1n, 84n, 96n, 108n, 132n, 228n] },
      { at: at + 0x65 + 17, width: 4, endian: 'le', name: `tree block ${at} item offset` },
      { at: at + 0x65 + 21, width: 4, endian: 'le', name: `tree block ${at} item size` },
    );
  }
  return { name: 'btrfs-mixed-16m', bytes, fields, hot };
}

/** What the rootfs probes do: open, walk, read each file's head, follow symlinks. */
function exercise(fs: BtrfsFilesystem): number {
  let n = 0;
  for (const e of walk(fs, '/', { maxEntries: 5000, maxDepth: 64 })) {
    n++;
    try {
      if (e.type === 'file') fs.readFile(e.path, { maxBytes: 256 * 1024, truncate: true });
      else if (e.type === 'symlink') fs.readlink(e.path);
    } catch (err) {
      if (!isReadError(err) && !(err instanceof FsError)) throw err;
    }
  }
  return n;
}

export const btrfsTarget: FuzzTarget = {
  name: 'btrfs',
  runs: 300,
  seeds: () => (btrfsUnavailable() ? [] : [seed()]),
  fixup(b) {
    if (b.length < SB + 4096) return;
    seal(b, SB, 4096);
    for (const { at, size } of treeBlocks(b)) seal(b, at, size);
  },
  alsoTyped: (e) => e instanceof FsError,
  run: (bytes) => exercise(openBtrfs(new BufferByteSource(bytes, 'fuzz-btrfs.img'))),
};
