/**
 * The evaluator on a real guest disk (GPT, ESP with Debian's GRUB, ext4
 * root with a kernel and a gzip initrd): probes run once per (name,
 * params); a probe's `prepare` (image.kernel-drivers starts listing the
 * initrd) runs before any requirement is evaluated and changes no result.
 */
import t from 'tap';
import { evaluate } from '../../engine/evaluate.js';
import { openDisk } from '../../probes/image/open-disk.js';
import { PARTITION_TABLE_MEMO_KEY } from '../../probes/image/partition-table.js';
import { Memo } from '../../probes/types.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { buildInitrd, buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk } from '../fixtures/rootfs-builder.js';
import { cachedDir } from '../fixtures/cache.js';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const unavailable = fastFixturesUnavailable();

/** A memo that records which keys are asked for, in order. */
class RecordingMemo extends Memo {
  readonly keys: string[] = [];
  override get<T>(key: string, compute: () => T): T {
    this.keys.push(key);
    return super.get(key, compute);
  }
}

const strip = (rs: { durationMs?: number }[]): unknown[] => rs.map((r) => ({ ...r, durationMs: 0 }));

t.test('prepare runs first, and the results are those of each clause evaluated alone', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const image = guestDisk({
    name: 'evaluate-prepare',
    rootContent: buildSyntheticRoot({ name: 'evaluate-prepare', kernels: [{ kernel: k, initrd: { modules: ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_balloon', 'ext4'], compression: 'gzip', early: false } }], grubCfg: debianGrubCfg([k.version]) }).image,
  });
  const spec = loadSpecOrThrow('vmspec-v2');
  const req = (id: string) => spec.requirements.find((r) => r.id === id)!;
  // A partition-table clause first, then one whose probe (image.kernel-drivers) prepares.
  const reqs = [req('V2-IMG-GPT'), req('V2-GUEST-VIRTIO-PCI')];
  t.equal(reqs[1]!.probe, 'image.kernel-drivers', 'the second clause is judged by image.kernel-drivers');

  const disk = openDisk(image);
  t.teardown(() => disk.close());
  const memo = new RecordingMemo();
  const together = await evaluate(reqs, { image: disk, memo });
  const initrdKey = memo.keys.findIndex((k) => k.startsWith('rootfs.initrd:'));
  t.ok(initrdKey >= 0, 'the initrd was listed');
  t.equal(memo.keys[0], 'rootfs.guest-view', "the first thing asked for is kernel-drivers' guest view (its prepare)");
  t.ok(memo.keys.indexOf(PARTITION_TABLE_MEMO_KEY, initrdKey) > initrdKey, "the initrd's listing started before the partition-table clause's probe ran");
  t.match(together[1], { status: 'pass', observed: { options: { CONFIG_VIRTIO_PCI: { available: 'initrd' } }, initrd: { segments: ['gzip at 0'] } } });

  const alone = [];
  for (const r of reqs) {
    const d = openDisk(image);
    try {
      alone.push(...(await evaluate([r], { image: d })));
    } finally {
      d.close();
    }
  }
  t.same(strip(together), strip(alone), 'the same results as each clause evaluated on its own');
});

t.test('a damaged initrd: what prepare started fails in run, as without it', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const modules = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_balloon'];
  const good = buildInitrd({ kernel: k, modules, compression: 'gzip' });
  // The gzip stream cut in half: the initrd's listing fails with a gzip error.
  const cutDir = cachedDir('evaluate-cut-initrd', { v: 1, good, size: statSync(good).size }, (d) => {
    writeFileSync(join(d, 'initrd.img'), readFileSync(good).subarray(0, Math.floor(statSync(good).size / 2)));
  });
  const image = guestDisk({
    name: 'evaluate-cut-initrd',
    rootContent: buildSyntheticRoot({ name: 'evaluate-cut-initrd', kernels: [{ kernel: k, initrd: { modules, compression: 'gzip' } }], grubCfg: debianGrubCfg([k.version]), copies: { [`boot/initrd.img-${k.version}`]: join(cutDir, 'initrd.img') } }).image,
  });
  const spec = loadSpecOrThrow('vmspec-v2');
  const reqs = [spec.requirements.find((r) => r.id === 'V2-IMG-GPT')!, spec.requirements.find((r) => r.id === 'V2-GUEST-VIRTIO-PCI')!];
  const disk = openDisk(image);
  t.teardown(() => disk.close());
  const results = await evaluate(reqs, { image: disk });
  t.equal(results[0]!.status, 'pass', 'the other clause is judged');
  t.match(results[1], { status: 'error', message: /probe image\.kernel-drivers could not run: .*gzip stream/ }, 'the clause errors with the gzip damage');
});

t.test('nothing is prepared for an input not given', async (t) => {
  const spec = loadSpecOrThrow('vmspec-v2');
  const memo = new RecordingMemo();
  const results = await evaluate([spec.requirements.find((r) => r.id === 'V2-GUEST-VIRTIO-PCI')!], { memo });
  t.same(memo.keys, [], 'no probe read anything');
  t.equal(results[0]!.status, 'skip');
});
