import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedDir, repoRoot, run } from '../test/fixtures/cache.js';
import { cachedRealImage } from '../test/fixtures/rootfs-builder.js';
import type { DiskFormat } from '../probes/image/disk-format.js';

/**
 * The images the verify bench runs on, built with the real tools and cached
 * (.cache/fixtures, like the test fixtures; the reference image in vmspec's
 * own cache). Each says what it is, for the table.
 */
export interface BenchImage {
  label: string;
  path: string;
  format: DiskFormat;
  /** Byte offset of the ESP in a raw image (for mtools' IMG@@offset), from sgdisk. */
  espOffset?: number;
}

export const CLI = join(repoRoot, 'bin', 'vmspec.js');
const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

/** Start of partition 1 in bytes, as sgdisk reports it. */
function espOffsetOf(img: string): number {
  const m = /^\s+1\s+(\d+)\s/m.exec(run('sgdisk', ['-p', img]));
  if (!m) throw new Error(`${img}: sgdisk shows no partition 1`);
  return Number(m[1]) * 512;
}

/** The built-in reference image (`vmspec reference build`: ~25 s the first time, then cached). */
export function referenceImage(): BenchImage {
  const r = spawnSync(process.execPath, [CLI, 'reference', 'build'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const path = r.stdout.trim().split('\n').pop();
  if (r.status !== 0 || !path) throw new Error(`vmspec reference build failed (exit ${r.status})`);
  return { label: 'reference image (raw, 64 MiB)', path, format: 'raw', espOffset: espOffsetOf(path) };
}

export type SparseSize = '64M' | '64G';

/**
 * A sparse raw disk: GPT with a 48 MiB FAT32 ESP holding the reference
 * image's \EFI\BOOT\BOOTAA64.EFI, and an unformatted aarch64 root partition
 * filling the rest. Only the size differs between the two, so their verify
 * times can be compared for flatness. Built as the test fixtures build
 * disks: truncate, sgdisk, mkfs.vfat --offset, mtools.
 */
export function sparseEspDisk(size: SparseSize, reference: BenchImage): BenchImage {
  const loader = cachedDir('bench-bootaa64', { v: 1, reference: reference.path, size: statSync(reference.path).size }, (d) => {
    run('mcopy', ['-i', `${reference.path}@@${reference.espOffset}`, '::/EFI/BOOT/BOOTAA64.EFI', join(d, 'BOOTAA64.EFI')], { env: mtoolsEnv });
  });
  const dir = cachedDir('bench-sparse-esp', { v: 2, size, loader }, (d) => {
    const img = join(d, 'disk.img');
    writeFileSync(img, '');
    run('truncate', ['-s', size, img]);
    run('sgdisk', ['-o', img]);
    run('sgdisk', ['-n', '1:2048:+48M', '-t', '1:EF00', '-c', '1:ESP', '-n', '2:0:0', '-t', '2:8305', '-c', '2:root', img]);
    const offset = espOffsetOf(img);
    // --offset and -h are in sectors, the block count in KiB: the FAT fills the ESP exactly. Cluster
    // size fixed: mkfs.vfat sizes clusters by the whole file, so a 64 GiB disk would get too few for FAT32.
    const sectors = String(offset / 512);
    run('mkfs.vfat', ['-F', '32', '-s', '1', '-n', 'ESP', '-h', sectors, '--offset', sectors, img, String(48 * 1024)]);
    const at = `${img}@@${offset}`;
    run('mmd', ['-i', at, '::/EFI', '::/EFI/BOOT'], { env: mtoolsEnv });
    run('mcopy', ['-i', at, join(loader, 'BOOTAA64.EFI'), '::/EFI/BOOT/BOOTAA64.EFI'], { env: mtoolsEnv });
  });
  const path = join(dir, 'disk.img');
  return { label: `sparse raw, GPT + ESP, ${size === '64M' ? '64 MiB' : '64 GiB'}`, path, format: 'raw', espOffset: espOffsetOf(path) };
}

/**
 * A compressed qcow2 (qemu-img convert -c) of a cloud-sized image: the
 * Debian 12 arm64 image the rootfs tests build (GRUB, kernels, initrd,
 * cloud-init; 1.34 GiB) when it is cached, else the reference image.
 */
export function cloudQcow2(reference: BenchImage): BenchImage {
  const real = cachedRealImage();
  const src = real?.raw ?? reference.path;
  const st = statSync(src);
  const dir = cachedDir('bench-cloud-qcow2', { v: 1, src, size: st.size, mtime: st.mtimeMs }, (d) => {
    run('qemu-img', ['convert', '-c', '-f', 'raw', '-O', 'qcow2', src, join(d, 'disk.qcow2')], { timeout: 30 * 60 * 1000 });
  });
  const what = real ? `Debian 12 arm64 cloud-style image, ${(st.size / 2 ** 30).toFixed(2)} GiB` : 'reference image (the Debian cloud-style fixture is not built here)';
  return { label: `compressed qcow2 (${what})`, path: join(dir, 'disk.qcow2'), format: 'qcow2' };
}
