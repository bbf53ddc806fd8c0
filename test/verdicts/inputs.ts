/**
 * The inputs the fault matrix judges: a compliant VM image and compliant
 * evidence, and each of them with one real fault. Images are made by real
 * tools (sgdisk, mkfs, qemu-img, Debian's kernel config and EFI binaries);
 * evidence bundles by the real collector (test/fixtures/evidence-bundles.ts).
 * Every builder is cached, so the matrix costs one build per input.
 */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { copyFileSparse } from '../../bytes/sparse-copy.js';
import { join } from 'node:path';
import { buildReferenceImage } from '../../boot/reference/build.js';
import { createEvidenceDisk } from '../../boot/reference/evidence-disk.js';
import { copyVars, findAavmf, findQemu, runQemu } from '../../boot/qemu-run.js';
import { cachedDir, cachedDirAsync, run } from '../fixtures/cache.js';
import { convertTo, sgdiskPartitions, sha256File } from '../fixtures/disk-builder.js';
import { efiBinaries } from '../fixtures/efi-binaries.js';
import { buildFatImage } from '../fixtures/fat-builder.js';
import { GptEditor } from '../probes/image/gpt-edit.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../fixtures/evidence-bundles.js';
import { buildInitrd, buildSyntheticRoot, debianGrubCfg, debianKernel, espStubGrubCfg, guestDisk, ROOT_UUID, type InstalledKernel } from '../fixtures/rootfs-builder.js';
import { shimEspFiles, type ShimEspLayout } from '../fixtures/shim-builder.js';
import { buildUki, ukiUnavailable } from '../fixtures/uki-builder.js';

/** What one verification run reads: a disk image, an evidence bundle, or both. */
export interface VerdictInput {
  image?: string;
  evidence?: string;
  /** qcow2 backing files (`vmspec verify --backing`); refused when absent. */
  backing?: 'follow' | 'refuse';
}

export const ALL_INITRD = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_mmio', 'virtio_console', 'virtio_balloon', 'xen-blkfront', 'xen-netfront', 'ext4'];

/** A VM image as Debian's cloud images are laid out, with a 32-bit ARM loader at BOOTARM.EFI too (so the BOOTARM rules apply). */
export function vmImage(name: string, o: { configEdits?: InstalledKernel['configEdits']; loader?: string; bootarm?: string | null; espFiles?: Record<string, string>; stub?: 'prefix' | 'none' } = {}): string {
  const kernel: InstalledKernel = { kernel: debianKernel('arm64'), initrd: { modules: ALL_INITRD, compression: 'zstd', early: true }, ...(o.configEdits ? { configEdits: o.configEdits } : {}) };
  const root = buildSyntheticRoot({ name: `verdicts-${name}`, kernels: [kernel], grubCfg: debianGrubCfg([kernel.kernel.version]) }).image;
  const bootarm = o.bootarm === undefined ? efiBinaries().arm32 : o.bootarm;
  return guestDisk({
    name: `verdicts-${name}`, rootContent: root, ...(o.loader ? { loader: o.loader } : {}), ...(o.stub ? { stub: o.stub } : {}),
    espFiles: { ...(bootarm ? { '/EFI/BOOT/BOOTARM.EFI': bootarm } : {}), ...(o.espFiles ?? {}) },
  });
}

/**
 * vmImage with Debian's real signed shim at \EFI\BOOT\BOOTAA64.EFI and the
 * ESP files `layout` puts beside it and in \EFI\<vendor>\ (signed GRUB,
 * fallback, MokManager, BOOTAA64.CSV: test/fixtures/shim-builder.ts).
 */
export function shimImage(name: string, layout: ShimEspLayout): string {
  const { loader, espFiles } = shimEspFiles(layout);
  return vmImage(name, { loader, espFiles });
}

/**
 * vmImage with a unified kernel image alone at \EFI\BOOT\BOOTAA64.EFI (no
 * GRUB, no stub config): systemd-stub with Debian's arm64 kernel and an
 * initrd of `initrdModules` (test/fixtures/uki-builder.ts), over a root whose
 * own initrd has every driver (the UKI does not load it).
 */
export function ukiImage(name: string, initrdModules: string[]): string {
  const why = ukiUnavailable();
  if (why) throw new Error(`cannot build the UKI image ${name}: ${why} (scripts/install-system-packages.sh installs it)`);
  const k = debianKernel('arm64');
  const initrd = buildInitrd({ kernel: k, modules: initrdModules, compression: 'zstd', early: true });
  const uki = buildUki({
    name: `verdicts-${name}`, cmdline: `root=UUID=${ROOT_UUID} ro console=ttyAMA0`, uname: k.version,
    osRelease: 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', kernelImage: join(k.root, 'boot', `vmlinuz-${k.version}`), initrd,
  });
  return vmImage(name, { loader: uki, stub: 'none' });
}

/** A copy of the compliant image with one change made by a real tool (`edit(copyPath, dir)`), cached. */
export function editedImage(name: string, tool: string[], edit: (disk: string, dir: string) => void): string {
  const base = vmImage('good');
  const dir = cachedDir(`verdicts-edit-${name}`, { v: 1, base: sha256File(base), tool }, (d) => {
    const disk = join(d, 'disk.img');
    copyFileSparse(base, disk);
    edit(disk, d);
  });
  return join(dir, 'disk.img');
}

/**
 * A real 32-bit ARM EFI binary whose PE Subsystem says EFI boot-service
 * driver (11) instead of EFI application (10): what a driver (.efi from a
 * firmware build) copied to the boot path looks like. Subsystem is at
 * offset 68 of the optional header (PE/COFF spec §3.4, same for PE32 and PE32+).
 */
export function efiDriverArm32(): string {
  const src = efiBinaries().arm32;
  const dir = cachedDir('verdicts-efi-driver-arm32', { v: 1, src: sha256File(src) }, (d) => {
    const buf = readFileSync(src);
    const eLfanew = buf.readUInt32LE(0x3c);
    const subsystem = eLfanew + 4 + 20 + 68;
    if (buf.readUInt16LE(subsystem) !== 10) throw new Error(`${src}: Subsystem is ${buf.readUInt16LE(subsystem)}, expected 10 (EFI application)`);
    buf.writeUInt16LE(11, subsystem);
    writeFileSync(join(d, 'driver.efi'), buf);
  });
  return join(dir, 'driver.efi');
}

/** The compliant image in a container vmspec does not read (qemu-img convert). */
export function vmdkImage(): string {
  return convertTo(vmImage('good'), 'vmdk');
}

/** A qcow2 whose guest data lives in an external data file (qemu-img create -o data_file=...). */
export function qcow2ExternalData(): string {
  const base = vmImage('good');
  const dir = cachedDir('verdicts-qcow2-data-file', { v: 1, base: sha256File(base) }, (d) => {
    copyFileSparse(base, join(d, 'disk.raw'));
    run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'data_file=disk.data,data_file_raw=on', 'disk.raw', 'disk.qcow2'], { cwd: d });
  });
  return join(dir, 'disk.qcow2');
}

/**
 * The compliant image as a qcow2 overlay whose backing file is gone, followed
 * (`--backing follow`): `qemu-img convert` makes base.qcow2, `qemu-img create
 * -b base.qcow2` the overlay, then the base is removed.
 */
export function qcow2MissingBacking(): VerdictInput {
  const base = vmImage('good');
  const dir = cachedDir('verdicts-qcow2-missing-backing', { v: 1, base: sha256File(base) }, (d) => {
    run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', base, join(d, 'base.qcow2')]);
    run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'overlay.qcow2'], { cwd: d });
    rmSync(join(d, 'base.qcow2'));
  });
  return { image: join(dir, 'overlay.qcow2'), backing: 'follow' };
}

/** A bundle from the real collector for a named fixture recipe, or for a recipe given here. */
export function bundle(name: string, recipe?: BundleRecipe): string {
  const r = recipe ?? (RECIPES as Record<string, BundleRecipe>)[name];
  if (!r) throw new Error(`no evidence recipe ${name}`);
  return evidenceBundle(recipe ? `verdicts-${name}` : name, r).dir;
}

/**
 * The compliant image whose ESP was formatted FAT16 (mkfs.vfat -F 16, same
 * files: loaders and GRUB's stub config), written over partition 1 with the
 * partition table unchanged.
 */
export function fat16EspImage(): string {
  return editedImage('esp-fat16', ['mkfs.vfat -F 16', 'mcopy'], (disk, dir) => {
    const stub = join(dir, 'grub.cfg');
    writeFileSync(stub, espStubGrubCfg());
    const efi = efiBinaries();
    const fat = buildFatImage('verdicts-esp-fat16', {
      fatBits: 16, sizeMiB: 32, sectorsPerCluster: 1, label: 'ESP', dirs: ['/EFI', '/EFI/BOOT', '/EFI/debian'],
      files: [{ path: '/EFI/BOOT/BOOTAA64.EFI', from: efi.grubaa64 }, { path: '/EFI/BOOT/BOOTARM.EFI', from: efi.arm32 }, { path: '/EFI/debian/grub.cfg', from: stub }],
    });
    const esp = sgdiskPartitions(disk).find((p) => p.number === 1);
    if (!esp) throw new Error(`${disk}: no partition 1`);
    const fd = openSync(disk, 'r+');
    try {
      writeSync(fd, readFileSync(fat), 0, undefined, esp.firstLba * 512);
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * The compliant image with partition 2 (root) starting inside partition 1
 * (the ESP), both GPT headers resealed with valid CRCs: what a partitioning
 * tool with an off-by-N bug writes (sgdisk itself refuses to).
 */
export function overlappingPartitionsImage(): string {
  return editedImage('overlap', ['GptEditor: entry 2 StartingLBA = entry 1 EndingLBA - 7, sealed'], (disk) => {
    const g = GptEditor.load(disk);
    for (const lba of [1, g.lastLba]) {
      const e1 = g.entryOffset(lba, 1);
      const e2 = g.entryOffset(lba, 2);
      // GPT Partition Entry (UEFI 2.10 §5.3.3): StartingLBA at 32, EndingLBA at 40.
      g.buf.writeBigUInt64LE(g.buf.readBigUInt64LE(e1 + 40) - 7n, e2 + 32);
    }
    g.sealBoth();
    writeFileSync(disk, g.buf);
  });
}

/** Why a real boot cannot run here, or false. */
export function realBootUnavailable(): string | false {
  if (process.env.VMSPEC_SKIP_BOOT) return 'VMSPEC_SKIP_BOOT is set';
  if (findQemu() === undefined) return 'qemu-system-aarch64 not found (apt-get install --no-install-recommends qemu-system-arm)';
  if (findAavmf() === undefined) return 'AAVMF firmware not found (apt-get install --no-install-recommends qemu-efi-aarch64)';
  return false;
}

export interface RealBoot {
  acpi: boolean;
  gic?: 2 | 3;
  /** QEMU options appended after vmspec's own (e.g. -machine virtualization=on). */
  qemuArgs?: string[];
  /**
   * The persistence test: 'check' boots once with phase write and then, on the same variable
   * store, with phase check ('check-fresh': the check boot gets a fresh copy of the template, as a
   * hypervisor without a persistent store gives it). The check boot's evidence is returned.
   */
  persistence?: 'check' | 'check-fresh';
}

/**
 * The evidence disk of one real boot of the reference image (boot/reference:
 * Debian's arm64 kernel and busybox, its /init runs collect.sh) under QEMU
 * TCG with Debian's AAVMF, phase write, cached per image, QEMU and options.
 * The measured duration is kept beside it (boot-ms).
 */
let reference: ReturnType<typeof buildReferenceImage> | undefined;
/** The reference image, resolved once per process (each lookup asks apt for the package versions: ~10 s). */
export function referenceImage(): ReturnType<typeof buildReferenceImage> {
  reference ??= buildReferenceImage();
  return reference;
}

export async function realBootEvidence(name: string, boot: RealBoot): Promise<string> {
  const firmware = findAavmf();
  if (!firmware) throw new Error('AAVMF firmware not found');
  const ref = await referenceImage();
  const qemuVersion = run('qemu-system-aarch64', ['--version']).split('\n')[0];
  const dir = await cachedDirAsync(`verdicts-boot-${name}`, { v: 1, ref: ref.key, qemuVersion, firmware: sha256File(firmware.code), boot }, async (d) => {
    const once = async (tag: string, phase: 'write' | 'check', vars: string): Promise<number> => {
      const disk = join(d, `${tag}.img`);
      createEvidenceDisk(disk, { phase, nonce: 'N1234' });
      const r = await runQemu({
        image: ref.image, vars, firmware, evidenceDisk: disk, acpi: boot.acpi,
        ...(boot.gic ? { gic: boot.gic } : {}), extraArgs: boot.qemuArgs ?? [], timeoutMs: 300_000, serialLog: join(d, `${tag}-serial.log`),
      });
      if (r.exitCode !== 0) throw new Error(`boot ${name} ${tag}: QEMU exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}: ${r.output}\n${readFileSync(join(d, `${tag}-serial.log`), 'utf8').slice(-2000)}`);
      return r.durationMs;
    };
    const vars = copyVars(firmware, join(d, 'vars.fd'));
    const ms: number[] = [];
    if (boot.persistence === 'check') ms.push(await once('write', 'write', vars));
    ms.push(await once('evidence', boot.persistence ? 'check' : 'write', vars));
    writeFileSync(join(d, 'boot-ms'), `${ms.join(' ')}\n`);
    rmSync(vars);
  });
  return join(dir, 'evidence.img');
}
