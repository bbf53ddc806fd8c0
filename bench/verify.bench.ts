import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { have } from '../test/fixtures/rootfs-builder.js';
import type { Bench, BenchContext, Measurement, Row } from './harness.js';
import { CLI, cloudQcow2, referenceImage, sparseEspDisk, type BenchImage } from './images.js';
import { bytesReadFrom, compareRoutes, type Route } from './routes.js';

/**
 * Static verify (`vmspec verify IMAGE --format json`) against the routes
 * people take to answer the same questions about an image: sgdisk + mtools,
 * qemu-img info, and the original vmspec-tools' qemu-nbd + mount + parted +
 * file. Every route on every image runs in one interleaved group.
 */

const NODE: Route = { name: 'node -e 0', steps: [[process.execPath, '-e', '0']] };

function vmspecRoute(img: BenchImage): Route {
  return { name: `vmspec ${img.path}`, steps: [[process.execPath, CLI, 'verify', img.path, '--format', 'json']], okExit: [0, 1, 4] }; // 4: a MUST clause undecided (the reference's root is not readable by design)
}

function shellRoute(img: BenchImage): Route {
  const name = `sgdisk+mdir ${img.path}`;
  if (img.format !== 'raw' || img.espOffset === undefined) return { name, steps: [], unavailable: 'sgdisk and mtools read raw images only' };
  return { name, steps: [['sgdisk', '-v', img.path], ['mdir', '-i', `${img.path}@@${img.espOffset}`, '::/EFI/BOOT']], env: { MTOOLS_SKIP_CHECK: '1' } };
}

function qemuImgRoute(img: BenchImage): Route {
  // As people type it: no -f, so qemu-img probes the format (and warns about raw) like a user's run does.
  return { name: `qemu-img ${img.path}`, steps: [['qemu-img', 'info', img.path]] };
}

let nbdWhy: string | false | undefined;

/** Why the qemu-nbd route cannot run here (it needs root, the nbd module and parted), or false. */
function nbdUnavailable(): string | false {
  if (nbdWhy !== undefined) return nbdWhy;
  if (process.getuid?.() !== 0) return (nbdWhy = 'qemu-nbd --connect and mount need root');
  const mod = spawnSync('modprobe', ['nbd'], { encoding: 'utf8' });
  if (mod.error || mod.status !== 0) return (nbdWhy = `modprobe nbd: ${(mod.stderr ?? mod.error?.message ?? '').trim().split('\n').pop()?.replace(/^modprobe: (FATAL|ERROR): /, '')}`);
  if (!existsSync('/dev/nbd0')) return (nbdWhy = '/dev/nbd0 does not exist after modprobe nbd');
  const missing = ['qemu-nbd', 'parted', 'file'].filter((t) => !have(t));
  if (missing.length) return (nbdWhy = `not installed: ${missing.join(', ')}`);
  return (nbdWhy = false);
}

/** The original tool's route: export the image over nbd, read the table with parted, mount the ESP, `file` the loader. */
function nbdRoute(img: BenchImage, mnt: string): Route {
  const name = `nbd ${img.path}`;
  const why = nbdUnavailable();
  if (why) return { name, steps: [], unavailable: why };
  return {
    name,
    steps: [
      ['qemu-nbd', '--read-only', '--format', img.format, '--connect', '/dev/nbd0', img.path],
      ['parted', '-s', '/dev/nbd0', 'print'],
      ['mount', '-o', 'ro', '/dev/nbd0p1', mnt],
      ['file', join(mnt, 'EFI/BOOT/BOOTAA64.EFI')],
      ['umount', mnt],
      ['qemu-nbd', '--disconnect', '/dev/nbd0'],
    ],
  };
}

function bytesOf(route: Route, img: BenchImage): number | { unavailable: string } {
  try {
    return bytesReadFrom(route, img.path);
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  ctx.log('images: reference (vmspec reference build), sparse 64 MiB and 64 GiB, compressed qcow2…');
  const reference = referenceImage();
  const small = sparseEspDisk('64M', reference);
  const huge = sparseEspDisk('64G', reference);
  const cloud = cloudQcow2(reference);
  const images = [reference, small, huge, cloud];
  const mnt = mkdtempSync(join(tmpdir(), 'vmspec-bench-mnt-'));
  try {
    return measure(ctx, images, mnt);
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
}

function measure(ctx: BenchContext, images: BenchImage[], mnt: string): Row[] {
  const perImage = images.map((img) => ({
    img,
    vmspec: vmspecRoute(img),
    peers: [
      { label: 'sgdisk -v + mdir ::/EFI/BOOT', route: shellRoute(img) },
      { label: 'qemu-img info', route: qemuImgRoute(img) },
      { label: 'qemu-nbd + parted + mount + file', route: nbdRoute(img, mnt) },
    ],
  }));
  // NODE_EXTRA_CA_CERTS (set on some machines, this one among them) makes every Node start parse a
  // certificate bundle, ~20 ms that both sides of a ratio pay: the reference image again without it.
  const bare = process.env.NODE_EXTRA_CA_CERTS ? { envUnset: ['NODE_EXTRA_CA_CERTS'] } : undefined;
  const bareNode: Route | undefined = bare && { ...NODE, name: `${NODE.name} (NODE_EXTRA_CA_CERTS unset)`, ...bare };
  const bareVmspec: Route | undefined = bare && { ...perImage[0]!.vmspec, name: `${perImage[0]!.vmspec.name} (NODE_EXTRA_CA_CERTS unset)`, ...bare };
  const routes = [NODE, ...perImage.flatMap((p) => [p.vmspec, ...p.peers.map((x) => x.route)]), ...(bareNode && bareVmspec ? [bareNode, bareVmspec] : [])];
  ctx.log(`verify: ${routes.length} routes × ${ctx.rounds} rounds, interleaved…`);
  const times = compareRoutes(routes, ctx.rounds);
  const t = (r: Route): Measurement => times.get(r.name)!;

  ctx.log('verify: bytes read (strace)…');
  const rows: Row[] = [];
  // Targets (issue #13): a raw image at most 1.5× a bare Node start, a compressed qcow2 (inflating clusters) 2.5×.
  for (const { img, vmspec, peers } of perImage) {
    const own = bytesOf(vmspec, img);
    rows.push({ what: `verify: ${img.label}`, vmspec: t(vmspec), peer: { name: 'node -e 0', result: t(NODE) }, target: { kind: 'ratio', max: img.format === 'qcow2' ? 2.5 : 1.5 }, bytesRead: { vmspec: own } });
    for (const { label, route } of peers) {
      rows.push({ what: `verify: ${img.label}`, vmspec: t(vmspec), peer: { name: label, result: t(route) }, target: { kind: 'none' }, bytesRead: { vmspec: own, ...(route.unavailable ? {} : { peer: bytesOf(route, img) }) } });
    }
  }
  if (bareNode && bareVmspec) {
    rows.push({ what: `verify: ${perImage[0]!.img.label}, NODE_EXTRA_CA_CERTS unset on both sides`, vmspec: t(bareVmspec), peer: { name: bareNode.name, result: t(bareNode) }, target: { kind: 'none' } });
  }
  const smallVmspec = perImage[1]!.vmspec;
  const hugeVmspec = perImage[2]!.vmspec;
  rows.push({
    what: 'verify: 64 GiB sparse vs the same layout at 64 MiB (flat)',
    vmspec: t(hugeVmspec),
    peer: { name: 'vmspec on 64 MiB', result: t(smallVmspec) },
    target: { kind: 'ratio', max: 1.1 },
  });
  return rows;
}

export default { title: 'static verify', run } satisfies Bench;
