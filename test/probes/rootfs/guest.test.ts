/**
 * The likely initrd (probes/rootfs/guest.ts): image.kernel-drivers' prepare
 * lists the newest kernel's initrd before the boot chain says which boots.
 * On real guest disks (GPT, ESP with Debian's GRUB, ext4 root): when the
 * chain leads to it, its listing is adopted (the file is read once); when
 * the chain leads elsewhere, it is stopped (its decompressor with it) and
 * the right one is listed; either way the results are those of the probe
 * run without prepare.
 */
import t from 'tap';
import { childPids, childrenLeft } from '../../fixtures/child-processes.js';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { evaluate } from '../../../engine/evaluate.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { probeEntry, type ProbeEntry } from '../../../probes/table.js';
import { loadSpecOrThrow } from '../../../requirements/spec-load.js';
import { buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, type InstalledKernel } from '../../fixtures/rootfs-builder.js';
import { execFileSync } from 'node:child_process';

const unavailable = fastFixturesUnavailable();

const MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_balloon', 'ext4'];

/** The probe table with every probe's prepare step taken away: what the clauses judge without it. */
const withoutPrepare = (name: string): ProbeEntry | undefined => {
  const entry = probeEntry(name);
  if (!entry) return undefined;
  return { ...entry, load: async () => ({ ...(await entry.load()), prepare: undefined }) };
};

/** Evaluates `ids` on `image` with the probe table given, returning the results (durations zeroed) and the bytes read from the disk. */
async function judge(image: string, ids: string[], probes?: (name: string) => ProbeEntry | undefined): Promise<{ results: unknown[]; bytesRead: number }> {
  const spec = loadSpecOrThrow('vmspec-v2');
  const reqs = ids.map((id) => spec.requirements.find((r) => r.id === id)!);
  const disk = openDisk(image);
  try {
    const results = await evaluate(reqs, { image: disk }, probes);
    if (!(disk.disk instanceof FileByteSource)) throw new Error('a raw image reads through a FileByteSource');
    return { results: results.map((r) => ({ ...r, durationMs: 0 })), bytesRead: disk.disk.stats.bytesRead };
  } finally {
    disk.close();
  }
}

/** Size of /boot/initrd.img-V inside the ext4 root image, by debugfs (the oracle). */
function initrdSize(rootImage: string, version: string): number {
  const out = execFileSync('debugfs', ['-R', `stat /boot/initrd.img-${version}`, rootImage], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return Number(/Size: (\d+)/.exec(out)![1]);
}

t.test('the chain leads to the likely initrd: its listing is adopted, the file read once, the results unchanged', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const root = buildSyntheticRoot({ name: 'evaluate-prepare', kernels: [{ kernel: k, initrd: { modules: MODULES, compression: 'gzip', early: false } }], grubCfg: debianGrubCfg([k.version]) }).image;
  const image = guestDisk({ name: 'evaluate-prepare', rootContent: root });
  const size = initrdSize(root, k.version);
  t.ok(size > 100_000, `the initrd is ${size} bytes`);
  const prepared = await judge(image, ['V2-GUEST-VIRTIO-PCI']);
  const plain = await judge(image, ['V2-GUEST-VIRTIO-PCI'], withoutPrepare);
  t.same(prepared.results, plain.results, 'the same result as the probe run without prepare');
  t.match(prepared.results[0], { status: 'pass', observed: { kernel: { version: k.version, selectedBy: 'bootloader' }, initrd: { path: `/boot/initrd.img-${k.version}`, size } } });
  t.ok(Math.abs(prepared.bytesRead - plain.bytesRead) < size / 2, `the initrd is read once: ${prepared.bytesRead} bytes read with prepare, ${plain.bytesRead} without`);
});

t.test('the chain leads elsewhere: the likely listing is stopped, its decompressor too, and the booted initrd listed', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const newer = '6.1.0-99-arm64';
  // The newer kernel (the likely one) has a zstd initrd, listed through the zstd tool; GRUB's default entry boots the older.
  const kernels: InstalledKernel[] = [
    { kernel: k, initrd: { modules: MODULES, compression: 'gzip', early: false } },
    { kernel: k, renameTo: newer, initrd: { modules: MODULES, compression: 'zstd', early: false } },
  ];
  const root = buildSyntheticRoot({ name: 'likely-initrd-elsewhere', kernels, grubCfg: debianGrubCfg([k.version, newer]) }).image;
  const image = guestDisk({ name: 'likely-initrd-elsewhere', rootContent: root });
  const before = childPids();
  const prepared = await judge(image, ['V2-GUEST-VIRTIO-PCI', 'V2-GUEST-GICV3']);
  t.same(await childrenLeft(before), [], "the likely initrd's zstd is not left running");
  const plain = await judge(image, ['V2-GUEST-VIRTIO-PCI', 'V2-GUEST-GICV3'], withoutPrepare);
  t.same(prepared.results, plain.results, 'the same results as the probe run without prepare');
  t.match(prepared.results[0], {
    status: 'pass',
    observed: { kernel: { version: k.version, selectedBy: 'bootloader' }, otherKernels: [{ version: newer }], initrd: { path: `/boot/initrd.img-${k.version}`, segments: ['gzip at 0'] } },
  });
  const inVain = initrdSize(root, newer);
  t.ok(prepared.bytesRead - plain.bytesRead >= inVain, `the likely initrd (${inVain} bytes) was read in vain: ${prepared.bytesRead} bytes read with prepare, ${plain.bytesRead} without`);
});
