import t from 'tap';
import { btrfsUnavailable } from '../fixtures/btrfs-builder.js';
import { fuzz } from './harness.js';
import { btrfsTarget } from './targets/btrfs.js';

/** btrfs (superblock, chunk map, tree blocks, items, compressed extents) under mutations of kernel-written images. */

const unavailable = btrfsUnavailable();
t.test('btrfs: superblock, chunks, trees, extents', { skip: unavailable || undefined }, async (t) => {
  const stats = fuzz(t, btrfsTarget);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both readable and refused filesystems');
  t.ok(stats.distinctErrors >= 10, `mutations reach many different checks (${stats.distinctErrors})`);
});
