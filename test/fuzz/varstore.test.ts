import t from 'tap';
import { fuzz } from './harness.js';
import { varstoreTarget } from './targets/varstore.js';

/** The edk2 variable store reader, under mutations of Debian's formatted AAVMF template and random bytes. */
t.test('edk2 variable store: FV header, store header, variable walk', async (t) => {
  const stats = fuzz(t, varstoreTarget);
  t.ok(stats.counts.ok > 0, 'mutated stores are still read (problems reported as facts)');
  t.ok(stats.counts.ParseError > 0, 'and broken ones refused with a ParseError');
});
