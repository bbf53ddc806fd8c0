import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { RunResults } from '../engine/results.js';
import { btrfsUnavailable, buildBtrfs } from '../test/fixtures/btrfs-builder.js';
import { efiBinaries } from '../test/fixtures/efi-binaries.js';
import { lvmFixturesUnavailable } from '../test/fixtures/lvm-builder.js';
import { blkidUuid, blsEsp, bootVolume, btrfsSplitRoot, FEDORA_BOOT_UUID, FEDORA_ROOT_UUID, fedoraFstab, rhelDisk, splitDisk } from '../test/fixtures/os-layout-builder.js';
import {
  buildInitrd, buildSyntheticRoot, debianGrubCfg, debianKernel, fastFixturesUnavailable, guestDisk, ROOT_UUID,
  type DebianKernel, type InstalledKernel,
} from '../test/fixtures/rootfs-builder.js';
import { shimEspFiles } from '../test/fixtures/shim-builder.js';
import { buildUki, ukiUnavailable } from '../test/fixtures/uki-builder.js';
import { xfsFixturesUnavailable } from '../test/fixtures/xfs-builder.js';
import type { Bench, BenchContext, Measurement, Row, Unavailable } from './harness.js';
import { CLI } from './images.js';
import { bytesReadFrom, compareRoutes, type Route } from './routes.js';

/**
 * Static verify (`vmspec verify IMAGE --format json`) on disks laid out as
 * distributions ship them (issue #12), built by the test fixture builders
 * with the same recipes the tests use, so the cached disks are shared: a
 * Debian single-ext4 root (the baseline), Fedora Cloud, RHEL/CentOS Stream,
 * openSUSE, Ubuntu's shim chain and a UKI-only systemd-boot ESP. Each is
 * timed against a bare Node start (informational) and judged by the bytes
 * it reads from the image file (strace) against the ext4 baseline's: the
 * readers should touch metadata and the files the clauses need, not scan.
 * Each row also says whether GUEST-1..4, FW-6 and FW-7 were decided, and
 * on which kernel (selected by the boot chain, or the newest found).
 */

const NODE: Route = { name: 'node -e 0', steps: [[process.execPath, '-e', '0']] };
const BASELINE = 'Debian ext4';
const MAX_BYTES_RATIO = 2;
/** The clauses issue #12 asks to be decided on every layout, by their spec labels. */
const MUST_DECIDE = /^(GUEST-[1-4]|FW-6|FW-7)$/;

const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];

// The tests' recipes (test/probes/rootfs/verify-split-root.test.ts): the same values, so the same cache entries.

interface Layout {
  label: string;
  /** Builds (or finds cached) the disk; a sentence when this machine cannot build it. */
  build(): string;
  unavailable: string | false;
}

function layouts(k: DebianKernel): Layout[] {
  const v = k.version;
  const goodKernel: InstalledKernel = { kernel: k, initrd: { modules: ALL_INITRD, compression: 'zstd', early: true } };
  // The synthetic Debian root every layout carries (verify-split-root, shim, uki and verify-btrfs tests build this one).
  const synthetic = () => buildSyntheticRoot({ name: 'btrfs-src-good-set-default', kernels: [goodKernel], grubCfg: debianGrubCfg([v]) }).image;
  const initramfs = () => buildInitrd({ kernel: k, modules: ALL_INITRD, compression: 'zstd', early: true });
  const btrfs = btrfsUnavailable();
  return [
    {
      label: `${BASELINE} (ESP with GRUB, one ext4 root; test/cli/verify-undecided.test.ts's guestDisk 'good')`,
      unavailable: false,
      build: () => guestDisk({ name: 'good', rootContent: buildSyntheticRoot({ name: 'guest-good', kernels: [goodKernel], grubCfg: debianGrubCfg([v]) }).image }),
    },
    {
      label: 'Fedora Cloud (ESP, ext4 /boot with BLS entries, btrfs root subvol=root, zstd)',
      unavailable: btrfs,
      build: () => {
        const esp = blsEsp('fedora', FEDORA_BOOT_UUID);
        const espUuid = blkidUuid(esp);
        const fstab = fedoraFstab(espUuid);
        const root = btrfsSplitRoot({
          name: 'fedora', from: synthetic(), uuid: FEDORA_ROOT_UUID, label: 'fedora', fstab, snapshot: { name: 'snapshot-1', versionId: 'snapshot-1' },
        });
        const boot = bootVolume({
          name: 'fedora-good', filesystem: 'ext4', uuid: FEDORA_BOOT_UUID, label: 'boot', kernel: k, initramfs: initramfs(),
          entries: [{ id: `0123456789abcdef0123456789abcdef-${v}`, title: `Fedora Linux (${v}) 40 (Cloud Edition)`, version: v, options: `root=UUID=${FEDORA_ROOT_UUID} ro rootflags=subvol=root console=ttyAMA0 quiet` }],
        });
        return splitDisk('fedora-good', esp, boot, root, '8300');
      },
    },
    {
      label: 'RHEL/CentOS Stream (ESP, xfs /boot with BLS entries, xfs root on LVM rhel/root)',
      unavailable: xfsFixturesUnavailable() || lvmFixturesUnavailable(),
      build: () => {
        return rhelDisk({ synthetic: synthetic(), kernel: k, initramfs: initramfs() }).image;
      },
    },
    {
      label: 'openSUSE (ESP with GRUB, btrfs root, @/.snapshots/1/snapshot the default subvolume, zstd)',
      unavailable: btrfs,
      build: () => {
        const from = synthetic();
        // As openSUSE's installer lays it out: @ and its subvolumes, the root a snapper snapshot set as the default.
        const root = buildBtrfs({
          name: 'opensuse-layout', sizeMiB: 320, uuid: ROOT_UUID, label: 'rootfs', mountOptions: 'compress=zstd', inputs: [from],
          populate: [
            `mount -o ro,loop -t ext4 '${from}' "$2"`,
            'btrfs -q subvolume create "$1/@"',
            'btrfs -q subvolume create "$1/@/home"',
            'btrfs -q subvolume create "$1/@/.snapshots"',
            'mkdir -p "$1/@/.snapshots/1"',
            'btrfs -q subvolume create "$1/@/.snapshots/1/snapshot"',
            'cp -a "$2/." "$1/@/.snapshots/1/snapshot/"',
            'umount "$2"',
            'btrfs -q subvolume set-default "$1/@/.snapshots/1/snapshot"',
          ].join('\n'),
        });
        return guestDisk({ name: 'opensuse-layout', rootContent: root });
      },
    },
    {
      label: 'Ubuntu (ESP with shim, fbaa64.efi, \\EFI\\<vendor>\\BOOTAA64.CSV, signed GRUB; ext4 root; shim.test.ts\'s disk)',
      unavailable: false,
      build: () => guestDisk({
        name: 'shim-debian', rootContent: synthetic(),
        ...shimEspFiles({ bootDir: ['grub', 'fallback', 'mokManager'], vendorDir: { name: 'debian', csv: true, grub: true } }),
      }),
    },
    {
      label: 'UKI only (systemd-boot, \\EFI\\Linux\\*.efi with kernel, initrd, cmdline; no GRUB; ext4 root)',
      unavailable: ukiUnavailable(),
      build: () => {
        // uki.test.ts's UKI carrying every virtio driver in its .initrd.
        const uki = buildUki({
          name: 'initrd-all', cmdline: `root=UUID=${ROOT_UUID} ro console=ttyAMA0`, uname: v,
          osRelease: 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', kernelImage: join(k.root, 'boot', `vmlinuz-${v}`), initrd: initramfs(),
        });
        return guestDisk({
          name: 'uki-systemd-boot', rootContent: synthetic(), loader: efiBinaries().systemdBootAa64, stub: 'none',
          espFiles: { [`/EFI/Linux/debian-${v}.efi`]: uki },
        });
      },
    },
  ];
}

function verifyRoute(label: string, image: string): Route {
  // 4: a MUST clause undecided, a verify that ran (the decided check below says which).
  return { name: `vmspec verify ${label}`, steps: [[process.execPath, CLI, 'verify', image, '--format', 'json']], okExit: [0, 1, 4] };
}

/** One verify's statuses for the clauses issue #12 asks to be decided; a note naming any left undecided or skipped, and why. */
function decidedNote(image: string): string {
  const r = spawnSync(process.execPath, [CLI, 'verify', image, '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status === null || ![0, 1, 4].includes(r.status)) return `verify exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`;
  const res = JSON.parse(r.stdout) as RunResults;
  const wanted = res.results.filter((x) => MUST_DECIDE.test(x.ref?.label ?? ''));
  const open = wanted.filter((x) => x.status !== 'pass' && x.status !== 'fail');
  const labels = [...new Set(wanted.map((x) => x.ref!.label!))].sort();
  if (!wanted.length) return 'no GUEST-1..4 / FW-6 / FW-7 clause in the results';
  if (!open.length) {
    const failed = wanted.filter((x) => x.status === 'fail').map((x) => x.id);
    // The kernel judged, as GICv3's observation names it: the one the boot chain reaches, else the newest found.
    const kernel = (res.results.find((x) => x.id === 'V2-GUEST-GICV3')?.observed as { kernel?: { version?: string; selectedBy?: string } } | undefined)?.kernel;
    const on = kernel?.version ? `, kernel ${kernel.version} selected by ${kernel.selectedBy ?? '?'}` : '';
    return `${labels.join(', ')} decided (${wanted.length} clauses${failed.length ? `; failing: ${failed.join(', ')}` : ', all pass'}${on})`;
  }
  return `NOT decided: ${open.map((x) => `${x.id} (${x.ref!.label}) ${x.status}: ${x.message ?? ''}`.trim()).join('; ')}`;
}

function bytesOf(route: Route, image: string): number | Unavailable {
  try {
    return bytesReadFrom(route, image);
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const why = fastFixturesUnavailable();
  if (why) return [{ what: 'layouts: every layout', vmspec: { unavailable: why }, target: { kind: 'none' } }];
  ctx.log('layouts: building or finding the cached disks (fixture builders, .cache/fixtures)…');
  const k = debianKernel('arm64');
  const built = layouts(k).map((l) => {
    if (l.unavailable) return { ...l, image: undefined, why: l.unavailable };
    ctx.log(`layouts: ${l.label.split(' (')[0]}…`);
    return { ...l, image: l.build(), why: undefined };
  });
  const live = built.filter((b) => b.image !== undefined).map((b) => ({ ...b, route: verifyRoute(b.label.split(' (')[0]!, b.image!) }));
  ctx.log(`layouts: ${live.length + 1} routes × ${ctx.rounds} rounds, interleaved…`);
  const times = compareRoutes([NODE, ...live.map((l) => l.route)], ctx.rounds);
  const t = (r: Route): Measurement => times.get(r.name)!;

  ctx.log('layouts: bytes read (strace) and the clauses decided…');
  const baseline = live.find((l) => l.label.startsWith(BASELINE));
  const baseBytes: number | Unavailable = baseline ? bytesOf(baseline.route, baseline.image!) : { unavailable: 'the ext4 baseline was not built' };
  const target = { kind: 'bytes-ratio', max: MAX_BYTES_RATIO, baseline: BASELINE } as const;
  return built.map((b): Row => {
    const l = live.find((x) => x.label === b.label);
    if (!l) return { what: `verify: ${b.label}`, vmspec: { unavailable: b.why! }, target };
    const own = l === baseline ? baseBytes : bytesOf(l.route, l.image!);
    return {
      what: `verify: ${b.label}`, vmspec: t(l.route), peer: { name: NODE.name, result: t(NODE) }, target,
      bytesRead: { vmspec: own, peer: baseBytes }, note: decidedNote(l.image!),
    };
  });
}

export default { title: 'static verify on distribution layouts (issue #12)', run } satisfies Bench;
