import t from 'tap';
import { fuzz } from './harness.js';
import { xfsTarget } from './targets/xfs.js';

/** xfs v5 and v4 (superblock, inodes, extents, short-form/block/leaf/node directories, symlinks, log head) under mutations of mkfs.xfs -p images. */

t.test('xfs: superblock, inodes, extents, directories', async (t) => {
  const stats = fuzz(t, xfsTarget);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both readable and refused filesystems');
  t.ok(stats.distinctErrors >= 10, `mutations reach many different checks (${stats.distinctErrors})`);
});
