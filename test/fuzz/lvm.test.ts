import t from 'tap';
import { fuzz } from './harness.js';
import { lvmTarget } from './targets/lvm.js';
import { lvmFixturesUnavailable } from '../fixtures/lvm-builder.js';

/** LVM2 PVs (label, pv_header, mda_header, raw_locn ring, metadata text, segment maps, ext4 inside) under mutations of lvm2-made PVs. */

t.test('lvm: label, metadata areas, metadata text, logical volumes', { skip: lvmFixturesUnavailable() }, async (t) => {
  const stats = fuzz(t, lvmTarget);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both readable and refused volumes');
  t.ok(stats.distinctErrors >= 10, `mutations reach many different checks (${stats.distinctErrors})`);
});
