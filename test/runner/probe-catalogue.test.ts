/** The lazy probe catalogue (what runs load) must list exactly the registry's probes (what lint checks against). */
import t from 'tap';
import { CATALOGUE } from '../../probes/catalogue.js';
import { PROBES } from '../../probes/registry.js';

t.test('catalogue and registry agree on every probe, its input and its module', async (t) => {
  t.same(CATALOGUE.map((e) => e.name).sort(), PROBES.map((p) => p.name).sort(), 'the same names');
  for (const e of CATALOGUE) {
    const eager = PROBES.find((p) => p.name === e.name);
    const lazy = await e.load();
    t.equal(lazy, eager, `${e.name}: the lazy loader gives the registered probe object`);
    t.equal(e.input, lazy.input, `${e.name}: input ${e.input}`);
  }
});
