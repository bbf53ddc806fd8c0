import t from 'tap';
import { fuzz } from './harness.js';
import { ext4Target } from './targets/ext4.js';

/** ext2/ext4 (superblock, extent trees, block maps, inline data, directories) under mutations of mkfs -d images. */

t.test('ext4: superblock, extents, directories', async (t) => {
  const stats = fuzz(t, ext4Target);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both readable and refused filesystems');
  t.ok(stats.distinctErrors >= 10, `mutations reach many different checks (${stats.distinctErrors})`);
});
