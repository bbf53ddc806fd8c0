import t from 'tap';
import { fuzz } from './harness.js';
import { fatTarget } from './targets/fat.js';
import { peTarget } from './targets/pe.js';
import { qcow2Target } from './targets/qcow2.js';

/**
 * FAT (boot sector, directory walk, cluster chains), PE/COFF headers and
 * the qcow2 mapping, each under mutations of real fixtures and random bytes.
 */

t.test('FAT12/16/32: directory walk and cluster chains', async (t) => {
  const stats = fuzz(t, fatTarget);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both readable and refused volumes');
});

t.test('PE/COFF headers', async (t) => {
  const stats = fuzz(t, peTarget);
  t.ok(stats.counts.ok === stats.cases, 'readPe reports problems as facts and never throws');
});

t.test('qcow2 mapping: L1/L2 pointers, refcounts, compressed clusters', async (t) => {
  const stats = fuzz(t, qcow2Target);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both readable and refused images');
  t.ok(stats.distinctErrors >= 10, `mutations reach many different checks (${stats.distinctErrors})`);
});
