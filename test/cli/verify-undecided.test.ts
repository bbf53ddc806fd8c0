/**
 * Undecided is not passed: a clause that applies but whose input was missing
 * or unreadable is `undecided` (exit 4 when it is mandatory), apart from a
 * clause that does not apply (`skip`, exit 0). And the default selection
 * follows what was given. Real images (sgdisk, mkfs.*, Debian's kernel) and
 * real evidence bundles (the real collector on a fake guest root).
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validator } from '../../requirements/schemas.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import type { RunResults } from '../../engine/results.js';
import { buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, have, otherFilesystem } from '../fixtures/rootfs-builder.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';
import { vmspec } from './cli-runner.js';

const unavailable = fastFixturesUnavailable();
const spec = loadSpecOrThrow('vmspec-v2');
const GUEST = spec.requirements.filter((r) => r.id.startsWith('V2-GUEST-') && r.probe).map((r) => r.id);
const validate = validator('results');

function run(t: Tap, args: string[]): RunResults {
  const r = vmspec([...args, '--format', 'json']);
  const out = JSON.parse(r.stdout) as RunResults;
  t.ok(validate(out), `results JSON is schema-valid ${JSON.stringify(validate.errors ?? [])}`);
  t.equal(r.status, out.exitCode, 'process exit code matches the JSON');
  return out;
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];
const byStatus = (r: RunResults, s: string) => r.results.filter((x) => x.status === s).map((x) => x.id).sort();
const result = (r: RunResults, id: string) => r.results.find((x) => x.id === id)!;

t.test('a root vmspec cannot read: the guest clauses are undecided, exit 4; a readable one: they pass, BOOTARM is not applicable, exit 0', { skip: unavailable }, async (t) => {
  const unreadable: [string, string | null, RegExp][] = [['empty', null, /holds no recognised filesystem/]];
  if (have('mkfs.btrfs')) unreadable.push(['btrfs', otherFilesystem('btrfs', 128, 'mkfs.btrfs -q -f "$1"'), /partition 2 is btrfs without \/etc and \/usr/]);
  for (const [name, content, reason] of unreadable) {
    const image = guestDisk({ name: `unreadable-${name}`, rootContent: content });
    const res = run(t, ['verify', image]);
    t.same(byStatus(res, 'undecided'), [...GUEST].sort(), `${name}: every guest clause is undecided`);
    for (const id of GUEST) t.match(result(res, id).message, reason, `${name}: ${id} says why`);
    t.same(byStatus(res, 'fail'), [], `${name}: nothing fails`);
    t.same(byStatus(res, 'error'), [], `${name}: no probe error`);
    t.equal(res.summary.undecided, GUEST.length, `${name}: the summary counts them`);
    t.equal(res.exitCode, 4, `${name}: exit 4, not 0`);
    const text = vmspec(['verify', image]);
    t.equal(text.status, 4);
    t.match(text.stdout, /UNDECIDED V2-GUEST-GICV3 /, 'the text report names the status');
    t.match(text.stdout, new RegExp(`Summary: \\d+ pass, 0 fail, \\d+ skip, 0 error, 0 waived, \\d+ manual, ${GUEST.length} undecided — exit 4 \\(a MUST/SHALL clause is undecided`));
  }

  const k = debianKernel('arm64');
  const good = guestDisk({ name: 'good', rootContent: buildSyntheticRoot({ name: 'guest-good', kernels: [{ kernel: k, initrd: { modules: ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'], compression: 'zstd', early: true } }], grubCfg: debianGrubCfg([k.version]) }).image });
  const res = run(t, ['verify', good]);
  t.same(byStatus(res, 'undecided'), [], 'nothing undecided on a readable root');
  for (const id of ['V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-CONSOLE-PL011']) t.equal(result(res, id).status, 'pass', `${id} passes`);
  t.match(result(res, 'V2-IMG-BOOTARM-PATH'), { status: 'skip', message: /not applicable/ }, 'BOOTARM is not applicable (no BOOTARM.EFI), not undecided');
  t.equal(res.summary.undecided, 0);
  t.equal(res.exitCode, 0);
});

t.test('a waiver may cover an undecided clause; an expired one says it is still undecided', { skip: unavailable }, async (t) => {
  const image = guestDisk({ name: 'unreadable-empty', rootContent: null });
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-undecided-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const waivers = join(dir, 'waivers.yaml');
  writeFileSync(waivers, 'waivers:\n  - id: V2-GUEST-*\n    justification: kernel config checked by hand (root is encrypted)\n    owner: auditor@example.com\n    expires: 2099-01-01\n');
  const waived = run(t, ['verify', image, '--waivers', waivers]);
  t.same(byStatus(waived, 'waived'), [...GUEST].sort(), 'every undecided guest clause is waived (never passed)');
  t.equal(waived.summary.undecided, 0);
  t.equal(waived.exitCode, 0);
  writeFileSync(waivers, 'waivers:\n  - id: V2-GUEST-GICV3\n    justification: checked by hand\n    owner: auditor@example.com\n    expires: 2020-01-01\n');
  const expired = run(t, ['verify', image, '--waivers', waivers]) as RunResults & { warnings?: string[] };
  t.equal(result(expired, 'V2-GUEST-GICV3').status, 'undecided');
  t.match(expired.warnings?.join('\n'), /expired on 2020-01-01 and was not applied; still undecided: V2-GUEST-GICV3/);
  t.equal(expired.exitCode, 4);
});

t.test('the default selection follows the inputs given; explicit options keep their meaning', { skip: unavailable }, async (t) => {
  const image = guestDisk({ name: 'unreadable-empty', rootContent: null });
  const inputOf = new Map((await import('../../probes/table.js')).PROBE_TABLE.map((p) => [p.name, p.input]));
  const plain = run(t, ['verify', image]);
  t.same(plain.selection.observableFrom, ['image']);
  const inputs = new Set(plain.results.filter((r) => r.probe).map((r) => inputOf.get(r.probe!)));
  t.same([...inputs], ['image'], 'verify IMAGE selects no clause that needs a running guest or a boot');
  t.same(plain.results.filter((r) => !r.probe).map((r) => r.target).filter((k) => k !== 'image' && k !== 'guest'), [], 'manual clauses: only image and guest targets');
  t.ok(plain.results.some((r) => r.id === 'V2-IMG-GPT') && plain.results.some((r) => r.id === 'V2-GUEST-GICV3'), 'image clauses and root-filesystem clauses are there');
  t.equal(plain.summary.skip, plain.results.filter((r) => r.status === 'skip').length);
  t.notOk(plain.results.some((r) => /^needs /.test(r.message)), 'no "needs in-guest evidence" flood');

  const bundle = evidenceBundle('acpiGicv2', RECIPES.acpiGicv2 as BundleRecipe).dir;
  const ev = run(t, ['verify', '--evidence', bundle]);
  t.same(ev.selection.observableFrom, ['evidence']);
  t.same([...new Set(ev.results.filter((r) => r.probe).map((r) => inputOf.get(r.probe!)))], ['evidence'], 'verify --evidence selects the clauses evidence decides');
  t.notOk(ev.results.some((r) => r.target === 'image'), 'no image clause');

  // Explicit: the whole spec, as written. What the inputs cannot show is not applicable; what they show but did not read is undecided.
  const hv = run(t, ['verify', image, '--target', 'hypervisor']);
  t.notOk('observableFrom' in hv.selection, 'an explicit selection is recorded as given');
  t.ok(hv.results.length > 0 && hv.results.every((r) => r.target === 'hypervisor'));
  for (const r of hv.results.filter((x) => x.probe)) t.equal(r.status, 'skip', `${r.id}: an image cannot show the hypervisor: not applicable`);
  t.equal(hv.exitCode, 0, 'not applicable is not a reason to fail');
  const guest = run(t, ['verify', '--evidence', bundle, '--target', 'guest']);
  for (const id of GUEST) t.match(result(guest, id), { status: 'undecided', message: /^needs a disk image/ }, `${id}: the guest ran, but its image was not given`);
  t.equal(guest.exitCode, 4);
});
