import t from 'tap';
import { fuzz } from './harness.js';
import { gptTarget, mbrTarget } from './targets/partition-table.js';

/** MBR and GPT readers under mutated real disks (sfdisk, sgdisk, fdisk -b 4096) and random bytes. */

t.test('MBR', async (t) => {
  fuzz(t, mbrTarget);
});

t.test('GPT, entryProblems included', async (t) => {
  const stats = fuzz(t, gptTarget);
  // The mutations must reach past the signature checks, or the fuzz proves nothing.
  t.ok(stats.counts.ok > stats.cases / 2, 'most cases parse to a reading (problems are facts, not errors)');
});
