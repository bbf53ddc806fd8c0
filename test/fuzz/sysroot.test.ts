import t from 'tap';
import { fuzz } from './harness.js';
import { efivarsTarget } from './targets/efivars.js';
import { tarTarget } from './targets/tar.js';

/** The evidence side: the tar bundle reader and efivarfs entries. */

t.test('tar bundle reader', async (t) => {
  const stats = fuzz(t, tarTarget);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both opened and refused bundles');
  t.ok(stats.distinctErrors >= 10, `mutations reach many different checks (${stats.distinctErrors})`);
});

t.test('efivarfs entries (evidence.efivars)', async (t) => {
  const stats = fuzz(t, efivarsTarget());
  t.equal(stats.counts.ok, stats.cases, 'any variable content is a fact, never an error');
});
