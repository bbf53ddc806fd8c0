import { readFileSync } from 'node:fs';
import { isReadError } from '../../../bytes/errors.js';
import { openExt4, type Ext4Filesystem } from '../../../probes/fs/ext4.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { buildExt4, type Ext4Spec, type Tree } from '../../fixtures/ext4-builder.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * ext2/ext4 filesystems made by mkfs -d: superblock, group descriptors,
 * inodes (extent trees, block maps, inline data), directory blocks.
 */

const TREE: Tree = {
  'etc/hostname': { file: 'vm\n' },
  'etc/os-release': { file: 'ID=debian\nVERSION_ID=12\n' },
  'boot/vmlinuz-6.1.0-50-arm64': { random: 20_000, seed: 3 },
  'usr/lib/modules/6.1.0-50-arm64/kernel/a.ko': { random: 3000, seed: 4 },
  'striped.bin': { striped: 12, blockSize: 1024, seed: 7 },
  'many': { many: 40, prefix: 'a-long-directory-entry-name-' },
  'vmlinuz': { symlink: 'boot/vmlinuz-6.1.0-50-arm64' },
  'slow-link': { symlink: `${'long/'.repeat(20)}target` },
};

const SPECS: Ext4Spec[] = [
  { name: 'fuzz-ext4-1k', blockSize: 1024, sizeMiB: 2, features: '^has_journal', tree: TREE },
  { name: 'fuzz-ext2-1k', mkfs: 'mkfs.ext2', blockSize: 1024, sizeMiB: 2, tree: TREE },
  { name: 'fuzz-ext4-inline', blockSize: 4096, sizeMiB: 4, features: '^has_journal,inline_data', tree: TREE },
];

/** ext4 docs (super.rst) superblock fields, at byte 1024. */
const SUPER: [number, 2 | 4, string][] = [
  [0x0, 4, 's_inodes_count'], [0x4, 4, 's_blocks_count_lo'], [0x14, 4, 's_first_data_block'], [0x18, 4, 's_log_block_size'],
  [0x1c, 4, 's_log_cluster_size'], [0x20, 4, 's_blocks_per_group'], [0x24, 4, 's_clusters_per_group'], [0x28, 4, 's_inodes_per_group'],
  [0x4c, 4, 's_rev_level'], [0x54, 4, 's_first_ino'], [0x58, 2, 's_inode_size'], [0x5c, 4, 's_feature_compat'],
  [0x60, 4, 's_feature_incompat'], [0x64, 4, 's_feature_ro_compat'], [0xfe, 2, 's_desc_size'], [0x150, 4, 's_blocks_count_hi'],
  [0x160, 4, 's_first_meta_bg'],
];

function ext4Seed(spec: Ext4Spec): Seed {
  const bytes = new Uint8Array(readFileSync(buildExt4(spec).image));
  const fs = openExt4(new BufferByteSource(bytes));
  const bs = fs.info.blockSize;
  const fields: Field[] = SUPER.map(([at, width, name]) => ({ at: 1024 + at, width, endian: 'le' as const, name }));
  // Group descriptor 0 (the block after the superblock): bitmaps and the inode table.
  const gdt = bs === 1024 ? 2048 : bs;
  for (const [at, name] of [[0, 'bg_block_bitmap_lo'], [4, 'bg_inode_bitmap_lo'], [8, 'bg_inode_table_lo']] as const) {
    fields.push({ at: gdt + at, width: 4, endian: 'le', name });
  }
  const hot: [number, number][] = [[1024, 1024], [gdt, 64]];
  for (const e of walk(fs, '/')) {
    const inode = fs.inode(e.ino);
    const o = inode.offset;
    hot.push([o, 160]);
    fields.push(
      { at: o + 0x4, width: 4, endian: 'le', name: `${e.path} i_size_lo` },
      { at: o + 0x20, width: 4, endian: 'le', name: `${e.path} i_flags`, values: [0x80000n, 0x10000000n, 0x800n] },
      // i_block: an extent header (eh_entries, eh_max, eh_depth) and the first extent, or the first block pointers.
      { at: o + 0x2a, width: 2, endian: 'le', name: `${e.path} eh_entries` },
      { at: o + 0x2c, width: 2, endian: 'le', name: `${e.path} eh_max` },
      { at: o + 0x2e, width: 2, endian: 'le', name: `${e.path} eh_depth`, values: [1n, 5n, 6n, 0xffffn] },
      { at: o + 0x34, width: 4, endian: 'le', name: `${e.path} ee_block / i_block[3]` },
      { at: o + 0x38, width: 2, endian: 'le', name: `${e.path} ee_len`, values: [0x8000n, 0x8001n, 0xffffn] },
      { at: o + 0x3c, width: 4, endian: 'le', name: `${e.path} ee_start_lo / i_block[5]` },
      { at: o + 0x6c, width: 4, endian: 'le', name: `${e.path} i_size_high` },
    );
    if (e.type === 'directory' && fs.extentDepth(inode) !== undefined) {
      for (const run of fs.runs(inode, 0, 2)) {
        hot.push([run.pblk * bs, Math.min(run.len * bs, 256)]);
        // The first entries' rec_len and name_len.
        for (const d of [0, 12, 24]) fields.push({ at: run.pblk * bs + d + 4, width: 2, endian: 'le', name: `${e.path} rec_len`, values: [0n, 8n, BigInt(bs), BigInt(bs) + 4n] });
      }
    }
  }
  return { name: spec.name, bytes, fields, hot };
}

/** What the rootfs probes do: open, walk, read each file's head, follow symlinks. */
function exercise(fs: Ext4Filesystem): number {
  let n = 0;
  for (const e of walk(fs, '/', { maxEntries: 5000, maxDepth: 64 })) {
    n++;
    try {
      if (e.type === 'file') fs.readFile(e.path, { maxBytes: 64 * 1024, truncate: true });
      else if (e.type === 'symlink') fs.readlink(e.path);
    } catch (err) {
      if (!isReadError(err) && !(err instanceof FsError)) throw err;
    }
  }
  return n;
}

export const ext4Target: FuzzTarget = {
  name: 'ext4',
  runs: 2000,
  seeds: () => SPECS.map(ext4Seed),
  alsoTyped: (e) => e instanceof FsError,
  run: (bytes) => exercise(openExt4(new BufferByteSource(bytes, 'fuzz-ext4.img'))),
};
