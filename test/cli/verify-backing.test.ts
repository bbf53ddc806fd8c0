/**
 * `vmspec verify IMAGE --backing follow` on a qcow2 overlay of a compliant
 * image (qemu-img): with its backing file there, V2/V1-IMG-CONTAINER pass
 * with the rest; with the backing file removed, the disk the VM sees cannot
 * be assembled, so IMG-CONTAINER fails with the reason, every other image
 * clause is undecided with it, the report is written and the exit code is 4.
 * Without --backing follow the overlay stays a usage error (exit 2).
 */
import t from 'tap';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from '../fixtures/disk-builder.js';
import { fastFixturesUnavailable } from '../fixtures/rootfs-builder.js';
import { vmImage } from '../verdicts/inputs.js';
import { run } from '../fixtures/cache.js';
import { validator } from '../../requirements/schemas.js';
import type { RunResults } from '../../engine/results.js';
import { findAavmf, findQemu } from '../../boot/qemu-run.js';
import { vmspec } from './cli-runner.js';

const unavailable = fastFixturesUnavailable();
/** The fault matrix's compliant image (GPT, FAT32 ESP with Debian's GRUB, ext4 root with Debian's kernel config). */
const compliant = unavailable ? '' : vmImage('good');

/** base.qcow2 (the compliant disk) and overlay.qcow2 naming it relatively, in a fresh directory. */
function chain(dir: string): { base: string; overlay: string } {
  const base = join(dir, 'base.qcow2');
  const overlay = join(dir, 'overlay.qcow2');
  run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', compliant, base]);
  run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', overlay], { cwd: dir });
  return { base, overlay };
}

const SPECS = [['vmspec-v2', 'V2-IMG-CONTAINER'], ['vmspec-v1', 'V1-IMG-CONTAINER']] as const;

function verified(t: Tap, image: string, spec: string, report: string): { status: number | null; stderr: string; run: RunResults } {
  const r = vmspec(['verify', image, '--backing', 'follow', '--spec', spec, '--format', 'json', '-o', report]);
  t.ok(existsSync(report), `${spec}: the report was written`);
  const run = JSON.parse(readFileSync(report, 'utf8')) as RunResults;
  const validate = validator('results');
  t.ok(validate(run), `${spec}: results JSON is schema-valid ${JSON.stringify(validate.errors ?? [])}`);
  t.equal(r.status, run.exitCode, `${spec}: the exit code is the report's`);
  return { status: r.status, stderr: r.stderr, run };
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

t.test('a complete followed chain: IMG-CONTAINER passes, and every verdict is the raw image\'s', { skip: unavailable }, async (t) => {
  const dir = t.testdir({});
  const { base, overlay } = chain(dir);
  const before = [sha256File(base), sha256File(overlay)];
  for (const [spec, container] of SPECS) {
    const { run } = verified(t, overlay, spec, join(dir, `${spec}.json`));
    const raw = verified(t, compliant, spec, join(dir, `${spec}-raw.json`)).run;
    t.equal(run.exitCode, 0, `${spec}: exit 0`);
    const r = run.results.find((x) => x.id === container)!;
    t.equal(r.status, 'pass', `${spec}: ${container} passes`);
    t.match(r.observed, { format: 'qcow2', virtualDisk: { complete: true, reason: null }, container: { backingFile: 'base.qcow2', backingFormat: 'qcow2', backingChainDepth: 1 } });
    const statuses = (x: RunResults) => x.results.map((y) => `${y.id}: ${y.status}`);
    t.same(statuses(run), statuses(raw), `${spec}: the same verdicts as the raw image, read through the chain`);
    t.ok(run.results.filter((x) => x.status === 'pass').length >= 20, `${spec}: the image and guest clauses pass`);
  }
  t.same([sha256File(base), sha256File(overlay)], before, 'neither file of the chain was written');
});

t.test('the backing file removed: IMG-CONTAINER fails with the reason, every other clause is undecided, exit 4', { skip: unavailable }, async (t) => {
  const dir = t.testdir({});
  const { base, overlay } = chain(dir);
  renameSync(base, join(dir, 'base.qcow2.moved'));
  const reason = `backing file "base.qcow2" does not exist (looked for at ${base})`;
  for (const [spec, container] of SPECS) {
    const { run, stderr } = verified(t, overlay, spec, join(dir, `${spec}.json`));
    t.equal(run.exitCode, 4, `${spec}: exit 4: the informative MAY fails, the MUST clauses are undecided`);
    t.equal(stderr, '', `${spec}: a verdict, not an error`);
    const r = run.results.find((x) => x.id === container)!;
    t.equal(r.status, 'fail', `${spec}: ${container} fails`);
    t.equal(r.mandatory, false, `${spec}: informative: its failure alone leaves the exit code alone`);
    t.ok(r.message.includes(`found ${JSON.stringify('backing file "base.qcow2" does not exist')}`.slice(0, -1)), `${spec}: the message says what is missing and why (the whole reason is in observed): ${r.message}`);
    t.match(r.observed, { format: 'qcow2', virtualDisk: { complete: false, reason }, container: { backingFile: 'base.qcow2', backingFormat: 'qcow2' } });
    const automated = run.results.filter((x) => x.id !== container && x.status !== 'manual');
    t.ok(automated.length >= 20, `${spec}: ${automated.length} other automated clauses (image and guest: the default selection for an image)`);
    const notUndecided = automated.filter((x) => x.status !== 'undecided' || !x.message.includes(`the disk the VM sees cannot be assembled: ${reason}`));
    t.same(notUndecided.map((x) => `${x.id}: ${x.status}: ${x.message}`), [], `${spec}: every other clause is undecided, with the reason`);
    t.same(run.results.filter((x) => x.status === 'fail').map((x) => x.id), [container], `${spec}: only ${container} fails`);
  }
  const refused = vmspec(['verify', overlay]);
  t.equal(refused.status, 2, 'without --backing follow the overlay is still refused: the user has not chosen to follow it');
  t.match(refused.stderr, /has a backing file "base\.qcow2" \(format qcow2\); the image alone is not the whole disk \(give --backing follow/);
});

const noBoot = unavailable || (findQemu() === undefined ? 'qemu-system-aarch64 not found' : findAavmf() === undefined ? 'AAVMF not found' : false);

t.test('vmspec boot stops before any boot, with the reason (exit 2)', { skip: noBoot }, async (t) => {
  const dir = t.testdir({});
  const { base, overlay } = chain(dir);
  renameSync(base, join(dir, 'base.qcow2.moved'));
  const work = join(dir, 'work');
  const r = vmspec(['boot', overlay, '--backing', 'follow', '--cloud-init', 'off', '--work-dir', work]);
  t.equal(r.status, 2);
  t.ok(r.stderr.includes(`vmspec: ${overlay}: the disk the VM sees cannot be assembled, so no VM can boot from it: backing file "base.qcow2" does not exist (looked for at ${base}) (put the backing file there; \`vmspec verify IMAGE --backing follow\` reports this as the image's V2-IMG-CONTAINER failure)\n`), r.stderr);
  t.same(existsSync(work) ? readdirSync(work) : [], [], 'nothing was booted or created');
});
