/**
 * When a guest's console is not on the UART, `vmspec boot` falls back to
 * the evidence disk itself: it must tell a disk the collector wrote a
 * bundle to from the blank disk it created (header only) or junk.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdsBundle } from '../../boot/run-boots.js';
import { createEvidenceDisk } from '../../boot/reference/evidence-disk.js';
import { evidenceBundle, RECIPES } from '../fixtures/evidence-bundles.js';

t.test('a bundle written over the evidence disk is recognised; a blank or junk disk is not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-evdisk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const blank = join(dir, 'blank.img');
  createEvidenceDisk(blank, { phase: 'write', nonce: 'N1' });
  t.equal(holdsBundle(blank), false, 'the blank disk (header only)');

  const written = join(dir, 'written.img');
  createEvidenceDisk(written, { phase: 'write', nonce: 'N1' });
  const tar = readFileSync(evidenceBundle('acpiGicv2', RECIPES.acpiGicv2).tar);
  const fd = openSync(written, 'r+');
  writeSync(fd, tar, 0, tar.length, 0);
  closeSync(fd);
  t.equal(holdsBundle(written), true, 'the collector\'s tar over the disk, as the guest writes it');

  const junk = join(dir, 'junk.img');
  writeFileSync(junk, Buffer.alloc(1024 * 1024, 0x5a));
  t.equal(holdsBundle(junk), false, 'junk');
  t.equal(holdsBundle(join(dir, 'missing.img')), false, 'a missing disk');
});
