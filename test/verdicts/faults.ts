/**
 * The fault matrix as data: compliant baselines, and real faults each made
 * from one baseline by changing one thing. test/verdicts/fault-matrix.test.ts
 * judges every entry with the real engine and asserts the clauses that fail
 * are exactly `baseline fails ∪ fault fails`, for every spec listed;
 * docs/verdicts.md is generated from this file (scripts/verdicts-doc.ts).
 *
 * To add a fault: append one entry to FAULTS (id, title, produced, baseline,
 * fails per spec — [] when a spec has no clause it must fail — and build),
 * then run `npx tsx scripts/verdicts-doc.ts` and commit the regenerated doc.
 */
import { run } from '../fixtures/cache.js';
import { efiBinaries } from '../fixtures/efi-binaries.js';
import { ALL_INITRD, bundle, editedImage, realBootEvidence, efiDriverArm32, fat16EspImage, overlappingPartitionsImage, qcow2ExternalData, qcow2MissingBacking, shimImage, ukiImage, vmdkImage, vmImage, type VerdictInput } from './inputs.js';

export const SPECS = ['vmspec-v2', 'vmspec-v1'] as const;
export type SpecId = (typeof SPECS)[number];

/** What it costs to judge: `fast` (fixtures only, runs in CI), `boot` (a real boot under a minute), `slow` (VMSPEC_SLOW_TESTS=1). */
export type Cost = 'fast' | 'boot' | 'slow';

export interface Baseline {
  id: string;
  title: string;
  produced: string;
  /** Clauses this compliant input must pass, per spec: the "passing real input" of each. */
  passes: Record<SpecId, string[]>;
  /** Clauses the compliant input fails all the same, per spec, with the reason (none is a fault of the input). */
  fails: Record<SpecId, string[]>;
  failsWhy?: string;
  /** Default fast. */
  cost?: Cost;
  build: () => VerdictInput | Promise<VerdictInput>;
}

export interface Fault {
  /** Stable id (kebab-case), used in test names and the doc. */
  id: string;
  /** The fault, as a user would name it. */
  title: string;
  /** How the input is produced (tools, the one thing changed); a bundle edited rather than collected says so. */
  produced: string;
  baseline: BaselineId;
  /** Exactly the clauses the fault must fail beyond its baseline's, per spec ([]: it must fail none of that spec). */
  fails: Record<SpecId, string[]>;
  /**
   * Instead of verdicts, the run is refused (exit 2) with this message: the input cannot be read
   * as a VM disk at all. `fails` is then [] for every spec.
   */
  refused?: RegExp;
  /**
   * Clauses that fail on this input today although the spec does not ask them to (a known false
   * failure, being fixed elsewhere), per spec, with the reason. Tolerated, never required, and
   * never counted as a failing test of the clause; remove once fixed.
   */
  knownFalseFailures?: { clauses: Partial<Record<SpecId, string[]>>; why: string };
  cost: Cost;
  build: () => VerdictInput | Promise<VerdictInput>;
}

const IMAGE_V2 = ['V2-IMG-CONTAINER', 'V2-IMG-GPT', 'V2-IMG-GPT-BACKUP', 'V2-IMG-GPT-PMBR', 'V2-IMG-GPT-LAYOUT', 'V2-IMG-ESP-BOOT-FILE', 'V2-IMG-BOOTAA64-UEFI-APP', 'V2-IMG-BOOTARM-UEFI-APP', 'V2-IMG-ESP-TYPE', 'V2-IMG-ESP-FAT32', 'V2-IMG-BOOTAA64-PATH', 'V2-IMG-BOOTARM-PATH', 'V2-FW-VARS-NOT-IN-IMAGE', 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE'];
const GUEST_V2 = ['V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC', 'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-NET', 'V2-GUEST-XEN-CONSOLE', 'V2-GUEST-XEN-BALLOON'];
const IMAGE_V1 = ['V1-IMG-CONTAINER', 'V1-IMG-GPT', 'V1-IMG-GPT-BACKUP', 'V1-IMG-GPT-PMBR', 'V1-IMG-GPT-LAYOUT', 'V1-IMG-ESP-BOOT-FILE', 'V1-IMG-BOOTAA64-UEFI-APP', 'V1-IMG-BOOTARM-UEFI-APP', 'V1-IMG-ESP-TYPE', 'V1-IMG-ESP-FAT32', 'V1-IMG-BOOTAA64-PATH', 'V1-IMG-BOOTARM-PATH', 'V1-FW-VARS-NOT-IN-IMAGE', 'V1-FW-NO-PRESET-BOOTVARS', 'V1-FW-NOT-IN-IMAGE'];
const GUEST_V1 = ['V1-GUEST-CONSOLE-PL011', 'V1-GUEST-CONSOLE-VIRTIO', 'V1-GUEST-CONSOLE-XEN', 'V1-GUEST-GICV2', 'V1-GUEST-GICV3', 'V1-GUEST-UEFI-RTC', 'V1-GUEST-VIRTIO-PCI', 'V1-GUEST-VIRTIO-MMIO', 'V1-GUEST-XEN-BLOCK', 'V1-GUEST-XEN-NET', 'V1-GUEST-XEN-CONSOLE', 'V1-GUEST-XEN-BALLOON'];

export const BASELINES = {
  image: {
    id: 'image',
    title: 'A compliant VM image',
    produced: 'GPT disk (sgdisk): FAT32 ESP with Debian\'s monolithic GRUB at \\EFI\\BOOT\\BOOTAA64.EFI and systemd-boot armhf at BOOTARM.EFI, an ext4 root with Debian\'s real arm64 kernel config, modules and initrd (test/fixtures/rootfs-builder.ts)',
    passes: { 'vmspec-v2': [...IMAGE_V2, ...GUEST_V2], 'vmspec-v1': [...IMAGE_V1, ...GUEST_V1] },
    fails: { 'vmspec-v2': [], 'vmspec-v1': [] },
    build: () => ({ image: vmImage('good') }),
  },
  imageShim: {
    id: 'imageShim',
    title: 'A compliant VM image booted through Debian\'s signed shim',
    produced: 'as image, with the ESP Debian\'s cloud images have (grub-install --force-extra-removable with shim): Debian\'s signed shim (shim-signed) at \\EFI\\BOOT\\BOOTAA64.EFI with signed GRUB, fbaa64.efi and mmaa64.efi beside it; \\EFI\\debian\\ holding shimaa64.efi, grubaa64.efi, mmaa64.efi and BOOTAA64.CSV naming shimaa64.efi (test/fixtures/shim-builder.ts)',
    passes: { 'vmspec-v2': [...IMAGE_V2, ...GUEST_V2], 'vmspec-v1': [...IMAGE_V1, ...GUEST_V1] },
    fails: { 'vmspec-v2': [], 'vmspec-v1': [] },
    build: () => ({ image: shimImage('shim-debian', { bootDir: ['grub', 'fallback', 'mokManager'], vendorDir: { name: 'debian', csv: true, grub: true } }) }),
  },
  imageUki: {
    id: 'imageUki',
    title: 'A compliant VM image booting a unified kernel image',
    produced: 'as image, with a UKI alone at \\EFI\\BOOT\\BOOTAA64.EFI (no GRUB): Debian\'s systemd-stub (linuxaa64.efi.stub) with Debian\'s arm64 kernel, an initrd with the virtio and Xen drivers, root= and .uname added by objcopy (test/fixtures/uki-builder.ts)',
    passes: { 'vmspec-v2': [...IMAGE_V2, ...GUEST_V2], 'vmspec-v1': [...IMAGE_V1, ...GUEST_V1] },
    fails: { 'vmspec-v2': [], 'vmspec-v1': [] },
    build: () => ({ image: ukiImage('uki-all', ALL_INITRD) }),
  },
  acpiGicv2: {
    id: 'acpiGicv2',
    title: 'Evidence of a compliant ACPI boot, GICv2',
    produced: 'the real collector (probes/guest/collect.sh) over QEMU virt\'s own ACPI tables and the guest files of a Debian 12 boot under AAVMF (test/fixtures/evidence-bundles.ts, recipe acpiGicv2)',
    passes: {
      'vmspec-v2': ['V2-ARCH-FW-EL1', 'V2-ARCH-ACPI-SBBR', 'V2-ARCH-PSCI', 'V2-FW-UEFI', 'V2-FW-UEFI-2-6', 'V2-FW-RTC', 'V2-HW-UEFI-CONFIG-TABLE', 'V2-HW-ACPI-TABLE-GUID', 'V2-HW-ACPI-COMPLETE', 'V2-PLAT-UART', 'V2-PLAT-GICV2', 'V2-PLAT-VIRTUAL-TIMER', 'V2-PLAT-HOTPLUG-BUS'],
      'vmspec-v1': ['V1-FW-UEFI', 'V1-FW-UEFI-2-4', 'V1-FW-RTC', 'V1-HW-UEFI-CONFIG-TABLE', 'V1-PLAT-CONSOLE', 'V1-PLAT-CONSOLE-KIND', 'V1-PLAT-GIC', 'V1-PLAT-VIRTUAL-TIMER', 'V1-PLAT-HOTPLUG-BUS'],
    },
    fails: { 'vmspec-v2': ['V2-HW-DT-TABLE-GUID'], 'vmspec-v1': ['V1-HW-DT-TABLE-GUID'] },
    failsWhy: 'edk2 installs the device-tree configuration table only with ACPI off, so one boot cannot show both',
    build: () => ({ evidence: bundle('acpiGicv2') }),
  },
  dtGicv3: {
    id: 'dtGicv3',
    title: 'Evidence of a compliant device-tree boot (acpi=off), GICv3',
    produced: 'the real collector over QEMU virt\'s own device tree (-M virt,gic-version=3,dumpdtb, edited as edk2 and the EFI stub edit it) (recipe dtGicv3)',
    passes: {
      'vmspec-v2': ['V2-HW-DT-TABLE-GUID', 'V2-HW-DT-COMPLETE', 'V2-PLAT-GICV3'],
      'vmspec-v1': ['V1-HW-DT-TABLE-GUID', 'V1-HW-DT-COMPLETE'],
    },
    fails: { 'vmspec-v2': ['V2-HW-ACPI-TABLE-GUID'], 'vmspec-v1': [] },
    failsWhy: 'with ACPI off there is no ACPI configuration table (v2 asks for both; v1 for the device tree only)',
    build: () => ({ evidence: bundle('dtGicv3') }),
  },
  dtGicv2: {
    id: 'dtGicv2',
    title: 'Evidence of a compliant device-tree boot (acpi=off), GICv2',
    produced: 'as dtGicv3 with QEMU\'s default GICv2 (recipe dtGicv2)',
    passes: { 'vmspec-v2': ['V2-HW-DT-COMPLETE', 'V2-PLAT-GICV2'], 'vmspec-v1': ['V1-HW-DT-COMPLETE', 'V1-PLAT-GIC'] },
    fails: { 'vmspec-v2': ['V2-HW-ACPI-TABLE-GUID'], 'vmspec-v1': [] },
    failsWhy: 'with ACPI off there is no ACPI configuration table',
    build: () => ({ evidence: bundle('dtGicv2') }),
  },
  bootAcpiGicv2: {
    id: 'bootAcpiGicv2',
    title: 'Evidence of a real boot: QEMU virt defaults (ACPI, GICv2), AAVMF',
    produced: 'the reference image (boot/reference: Debian\'s arm64 kernel, busybox, collect.sh as /init) booted under QEMU TCG with Debian\'s AAVMF; the evidence disk the collector wrote',
    passes: {
      'vmspec-v2': ['V2-ARCH-FW-EL1', 'V2-ARCH-ACPI-SBBR', 'V2-ARCH-PSCI', 'V2-FW-UEFI', 'V2-FW-UEFI-2-6', 'V2-FW-RTC', 'V2-HW-UEFI-CONFIG-TABLE', 'V2-HW-ACPI-TABLE-GUID', 'V2-HW-ACPI-COMPLETE', 'V2-PLAT-UART', 'V2-PLAT-GICV2', 'V2-PLAT-VIRTUAL-TIMER', 'V2-PLAT-HOTPLUG-BUS'],
      'vmspec-v1': ['V1-FW-UEFI', 'V1-FW-UEFI-2-4', 'V1-FW-RTC', 'V1-HW-UEFI-CONFIG-TABLE', 'V1-PLAT-CONSOLE', 'V1-PLAT-CONSOLE-KIND', 'V1-PLAT-GIC', 'V1-PLAT-VIRTUAL-TIMER', 'V1-PLAT-HOTPLUG-BUS'],
    },
    fails: { 'vmspec-v2': ['V2-HW-DT-TABLE-GUID'], 'vmspec-v1': ['V1-HW-DT-TABLE-GUID'] },
    failsWhy: 'an ACPI boot (see acpiGicv2)',
    cost: 'boot',
    build: async () => ({ evidence: await realBootEvidence('acpi-gicv2', { acpi: true }) }),
  },
  bootDtGicv3: {
    id: 'bootDtGicv3',
    title: 'Evidence of a real device-tree boot (acpi=off), GICv3',
    produced: 'the reference image booted under QEMU TCG (-M virt,acpi=off,gic-version=3) with Debian\'s AAVMF; the evidence disk the collector wrote',
    passes: {
      'vmspec-v2': ['V2-HW-DT-TABLE-GUID', 'V2-HW-DT-COMPLETE', 'V2-PLAT-GICV3', 'V2-PLAT-UART', 'V2-PLAT-VIRTUAL-TIMER', 'V2-FW-RTC', 'V2-ARCH-PSCI'],
      'vmspec-v1': ['V1-HW-DT-TABLE-GUID', 'V1-HW-DT-COMPLETE', 'V1-PLAT-GIC', 'V1-PLAT-CONSOLE', 'V1-PLAT-VIRTUAL-TIMER', 'V1-FW-RTC'],
    },
    fails: { 'vmspec-v2': ['V2-HW-ACPI-TABLE-GUID'], 'vmspec-v1': [] },
    failsWhy: 'with ACPI off there is no ACPI configuration table (v2 asks for both; v1 for the device tree only)',
    cost: 'boot',
    build: async () => ({ evidence: await realBootEvidence('dt-gicv3', { acpi: false, gic: 3 }) }),
  },
  bootPersistent: {
    id: 'bootPersistent',
    title: 'Evidence of a real second boot on the same variable store',
    produced: 'the reference image booted twice under QEMU TCG with Debian\'s AAVMF on one VARS copy: the collector writes a nonce variable, then finds it after the power cycle',
    passes: { 'vmspec-v2': ['V2-FW-VARS-PERSIST'], 'vmspec-v1': ['V1-FW-VARS-PERSIST'] },
    fails: { 'vmspec-v2': ['V2-HW-DT-TABLE-GUID'], 'vmspec-v1': ['V1-HW-DT-TABLE-GUID'] },
    failsWhy: 'an ACPI boot (see acpiGicv2)',
    cost: 'boot',
    build: async () => ({ evidence: await realBootEvidence('persist-same-store', { acpi: true, persistence: 'check' }) }),
  },
  checkPresent: {
    id: 'checkPresent',
    title: 'Evidence of the second boot of the persistence test, same variable store',
    produced: 'the real collector in its check phase, the nonce variable back in efivarfs (recipe checkPresent)',
    passes: { 'vmspec-v2': ['V2-FW-VARS-PERSIST'], 'vmspec-v1': ['V1-FW-VARS-PERSIST'] },
    fails: { 'vmspec-v2': ['V2-HW-DT-TABLE-GUID'], 'vmspec-v1': ['V1-HW-DT-TABLE-GUID'] },
    failsWhy: 'an ACPI boot (see acpiGicv2)',
    build: () => ({ evidence: bundle('checkPresent') }),
  },
} satisfies Record<string, Baseline>;

export type BaselineId = keyof typeof BASELINES;

const W = { phase: 'write', nonce: 'N1234' } as const;
const sgdisk = (args: string[]) => (disk: string) => void run('sgdisk', [...args, disk]);
const kernelWithout = (id: string, edits: NonNullable<Parameters<typeof vmImage>[1]>['configEdits']) => () => ({ image: vmImage(id, { configEdits: edits }) });

export const FAULTS: Fault[] = [
  // ---- the image ----------------------------------------------------------------------------
  {
    id: 'vmdk-container', title: 'The image is a VMDK', baseline: 'image', cost: 'fast',
    produced: '`qemu-img convert -O vmdk` of the compliant image',
    fails: { 'vmspec-v2': [], 'vmspec-v1': [] },
    refused: /vmdk images are not supported \(raw and qcow2 are\)/,
    build: () => ({ image: vmdkImage() }),
  },
  {
    id: 'qcow2-external-data', title: 'A qcow2 whose data lives in an external data file', baseline: 'image', cost: 'fast',
    produced: '`qemu-img convert -O qcow2 -o data_file=disk.data,data_file_raw=on` of the compliant image',
    fails: { 'vmspec-v2': [], 'vmspec-v1': [] },
    refused: /keeps its data in an external data file \("disk\.data"\); not supported/,
    build: () => ({ image: qcow2ExternalData() }),
  },
  {
    id: 'efi-driver-at-bootarm', title: 'BOOTARM.EFI is an EFI driver, not an application', baseline: 'image', cost: 'fast',
    produced: 'systemd-boot armhf with its PE Subsystem set to 11 (EFI boot-service driver) at \\EFI\\BOOT\\BOOTARM.EFI',
    fails: { 'vmspec-v2': ['V2-IMG-BOOTARM-UEFI-APP'], 'vmspec-v1': ['V1-IMG-BOOTARM-UEFI-APP'] },
    build: () => ({ image: vmImage('bootarm-driver', { bootarm: efiDriverArm32() }) }),
  },
  {
    id: 'aarch64-loader-at-bootarm', title: 'An AArch64 loader at BOOTARM.EFI', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s grubaa64.efi copied to \\EFI\\BOOT\\BOOTARM.EFI',
    fails: { 'vmspec-v2': ['V2-IMG-BOOTARM-PATH'], 'vmspec-v1': ['V1-IMG-BOOTARM-PATH'] },
    build: () => ({ image: vmImage('bootarm-aa64', { bootarm: efiBinaries().grubaa64 }) }),
  },
  {
    id: 'x64-loader', title: 'An x86-64 loader at BOOTAA64.EFI', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s grubx64.efi as \\EFI\\BOOT\\BOOTAA64.EFI',
    fails: { 'vmspec-v2': ['V2-IMG-BOOTAA64-PATH'], 'vmspec-v1': ['V1-IMG-BOOTAA64-PATH'] },
    build: () => ({ image: vmImage('x64-loader', { loader: efiBinaries().grubx64 }) }),
  },
  {
    id: 'text-loader', title: 'BOOTAA64.EFI is not a PE file', baseline: 'image', cost: 'fast',
    produced: 'a text file as \\EFI\\BOOT\\BOOTAA64.EFI',
    fails: { 'vmspec-v2': ['V2-IMG-BOOTAA64-UEFI-APP'], 'vmspec-v1': ['V1-IMG-BOOTAA64-UEFI-APP'] },
    build: () => ({ image: vmImage('text-loader', { loader: efiBinaries().text }) }),
  },
  {
    id: 'nvvars-on-esp', title: 'UEFI variables stored in the image', baseline: 'image', cost: 'fast',
    produced: 'an NvVars file (edk2\'s emulated variable store) on the ESP',
    fails: { 'vmspec-v2': ['V2-FW-VARS-NOT-IN-IMAGE'], 'vmspec-v1': ['V1-FW-VARS-NOT-IN-IMAGE'] },
    build: () => ({ image: vmImage('nvvars', { espFiles: { '/NvVars': efiBinaries().text } }) }),
  },
  {
    id: 'grown-without-gpt-move', title: 'Image grown without moving the backup GPT', baseline: 'image', cost: 'fast',
    produced: '`qemu-img resize -f raw +8M` of the compliant image: the backup header stays at the old end, and the protective MBR no longer covers the disk (UEFI §5.2.3 SizeInLBA)',
    fails: { 'vmspec-v2': ['V2-IMG-GPT-BACKUP', 'V2-IMG-GPT-PMBR'], 'vmspec-v1': ['V1-IMG-GPT-BACKUP', 'V1-IMG-GPT-PMBR'] },
    build: () => ({ image: editedImage('grown', ['qemu-img resize -f raw +8M'], (disk) => void run('qemu-img', ['resize', '-f', 'raw', disk, '+8M'])) }),
  },
  {
    id: 'hybrid-mbr', title: 'A hybrid MBR instead of the protective MBR', baseline: 'image', cost: 'fast',
    produced: '`sgdisk --hybrid=1` on the compliant image',
    fails: { 'vmspec-v2': ['V2-IMG-GPT-PMBR'], 'vmspec-v1': ['V1-IMG-GPT-PMBR'] },
    build: () => ({ image: editedImage('hybrid', ['sgdisk --hybrid=1'], sgdisk(['--hybrid=1'])) }),
  },
  {
    id: 'esp-typed-basic-data', title: 'The ESP is typed Microsoft basic data', baseline: 'image', cost: 'fast',
    produced: '`sgdisk --typecode=1:0700` on the compliant image',
    fails: { 'vmspec-v2': ['V2-IMG-ESP-TYPE', 'V2-IMG-ESP-BOOT-FILE'], 'vmspec-v1': ['V1-IMG-ESP-TYPE', 'V1-IMG-ESP-BOOT-FILE'] },
    build: () => ({ image: editedImage('esp-0700', ['sgdisk --typecode=1:0700'], sgdisk(['--typecode=1:0700'])) }),
  },
  {
    id: 'mbr-only', title: 'An MBR disk, no GPT', baseline: 'image', cost: 'fast',
    produced: '`sgdisk --gpttombr=1:2` on the compliant image (converted to an MBR partition table; the ESP becomes type 0xEF, which has no GPT type GUID)',
    fails: { 'vmspec-v2': ['V2-IMG-GPT', 'V2-IMG-ESP-TYPE'], 'vmspec-v1': ['V1-IMG-GPT', 'V1-IMG-ESP-TYPE'] },
    build: () => ({ image: editedImage('mbr-only', ['sgdisk --gpttombr=1:2'], sgdisk(['--gpttombr=1:2'])) }),
  },
  {
    id: 'overlapping-partitions', title: 'Partitions overlap', baseline: 'image', cost: 'fast',
    produced: 'the root partition\'s StartingLBA moved into the ESP in both GPT entry arrays, headers resealed (a byte edit: sgdisk refuses to write it)',
    fails: { 'vmspec-v2': ['V2-IMG-GPT-LAYOUT'], 'vmspec-v1': ['V1-IMG-GPT-LAYOUT'] },
    build: () => ({ image: overlappingPartitionsImage() }),
  },
  {
    id: 'esp-fat16', title: 'The ESP is FAT16', baseline: 'image', cost: 'fast',
    produced: 'the ESP made with `mkfs.vfat -F 16` (same files) and written over partition 1',
    fails: { 'vmspec-v2': ['V2-IMG-ESP-FAT32'], 'vmspec-v1': ['V1-IMG-ESP-FAT32'] },
    build: () => ({ image: fat16EspImage() }),
  },
  {
    id: 'no-grub-config-on-esp', title: 'The removable-path loader finds no configuration', baseline: 'image', cost: 'fast',
    produced: 'the compliant image without GRUB\'s stub \\EFI\\debian\\grub.cfg on the ESP (grub-install without --removable on another machine)',
    fails: { 'vmspec-v2': ['V2-FW-NO-PRESET-BOOTVARS'], 'vmspec-v1': ['V1-FW-NO-PRESET-BOOTVARS'] },
    build: () => ({ image: vmImage('no-stub', { stub: 'none' }) }),
  },
  {
    id: 'firmware-in-image', title: 'The image ships a UEFI firmware', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s QEMU_EFI.fd (qemu-efi-aarch64) copied to \\EFI\\qemu\\QEMU_EFI.fd on the ESP',
    fails: { 'vmspec-v2': ['V2-FW-NOT-IN-IMAGE'], 'vmspec-v1': ['V1-FW-NOT-IN-IMAGE'] },
    build: () => ({ image: vmImage('firmware-on-esp', { espFiles: { '/EFI/qemu/QEMU_EFI.fd': '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd' } }) }),
  },
  {
    id: 'kernel-without-gicv3', title: 'Guest kernel without the GICv3 driver', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s arm64 kernel config with CONFIG_ARM_GIC_V3 removed',
    fails: { 'vmspec-v2': ['V2-GUEST-GICV3'], 'vmspec-v1': ['V1-GUEST-GICV3'] },
    build: kernelWithout('no-gicv3', { CONFIG_ARM_GIC_V3: null }),
  },
  {
    id: 'kernel-without-gicv2', title: 'Guest kernel without the GICv2 driver', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s arm64 kernel config with CONFIG_ARM_GIC=n',
    fails: { 'vmspec-v2': ['V2-GUEST-GICV2'], 'vmspec-v1': ['V1-GUEST-GICV2'] },
    build: kernelWithout('no-gicv2', { CONFIG_ARM_GIC: 'n' }),
  },
  {
    id: 'kernel-without-rtc-efi', title: 'Guest kernel without rtc-efi', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s arm64 kernel config with CONFIG_RTC_DRV_EFI=n',
    fails: { 'vmspec-v2': ['V2-GUEST-UEFI-RTC'], 'vmspec-v1': ['V1-GUEST-UEFI-RTC'] },
    build: kernelWithout('no-rtc-efi', { CONFIG_RTC_DRV_EFI: 'n' }),
  },
  {
    id: 'kernel-without-pl011', title: 'Guest kernel without the PL011 driver', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s arm64 kernel config with CONFIG_SERIAL_AMBA_PL011=n',
    fails: { 'vmspec-v2': ['V2-GUEST-CONSOLE-PL011', 'V2-GUEST-CONSOLE-SBSA-UART'], 'vmspec-v1': ['V1-GUEST-CONSOLE-PL011'] },
    build: kernelWithout('no-pl011', { CONFIG_SERIAL_AMBA_PL011: 'n', CONFIG_SERIAL_AMBA_PL011_CONSOLE: null }),
  },
  {
    id: 'kernel-without-virtio', title: 'Guest kernel without virtio (PCI, MMIO, console)', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s arm64 kernel config with CONFIG_VIRTIO_PCI, CONFIG_VIRTIO_MMIO and CONFIG_VIRTIO_CONSOLE =n',
    fails: { 'vmspec-v2': ['V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO'], 'vmspec-v1': ['V1-GUEST-VIRTIO-PCI', 'V1-GUEST-VIRTIO-MMIO', 'V1-GUEST-CONSOLE-VIRTIO'] },
    build: kernelWithout('no-virtio', { CONFIG_VIRTIO_PCI: 'n', CONFIG_VIRTIO_MMIO: 'n', CONFIG_VIRTIO_CONSOLE: 'n' }),
  },
  {
    id: 'kernel-without-xen', title: 'Guest kernel without Xen front-ends', baseline: 'image', cost: 'fast',
    produced: 'Debian\'s arm64 kernel config with the Xen block, net, console and balloon drivers =n',
    fails: {
      'vmspec-v2': ['V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-NET', 'V2-GUEST-XEN-CONSOLE', 'V2-GUEST-XEN-BALLOON'],
      'vmspec-v1': ['V1-GUEST-XEN-BLOCK', 'V1-GUEST-XEN-NET', 'V1-GUEST-XEN-CONSOLE', 'V1-GUEST-XEN-BALLOON', 'V1-GUEST-CONSOLE-XEN'],
    },
    build: kernelWithout('no-xen', { CONFIG_XEN_BLKDEV_FRONTEND: 'n', CONFIG_XEN_NETDEV_FRONTEND: 'n', CONFIG_HVC_XEN: 'n', CONFIG_XEN_BALLOON: 'n' }),
  },
  {
    id: 'qcow2-backing-missing', title: 'A qcow2 overlay whose backing file is missing', baseline: 'image', cost: 'fast',
    produced: '`qemu-img convert -O qcow2` of the compliant image as base.qcow2, `qemu-img create -b base.qcow2 -F qcow2` an overlay of it, then base.qcow2 removed; judged with `--backing follow` (every other clause is then undecided: the disk the VM sees cannot be assembled)',
    fails: { 'vmspec-v2': ['V2-IMG-CONTAINER'], 'vmspec-v1': ['V1-IMG-CONTAINER'] },
    build: () => qcow2MissingBacking(),
  },
  // ---- the running VM (evidence from the real collector) -------------------------------------
  {
    id: 'el2-offered', title: 'EL2 offered to the VM (`-machine virtualization=on`)', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence whose kernel log reports "CPU: All CPU(s) started at EL2", as Linux logs it when the firmware hands over at EL2 and with what follows from it: the GICv2 driven in split EOI mode (chip "GICv2"), the physical timer taken (recipe el2)',
    fails: { 'vmspec-v2': ['V2-ARCH-FW-EL1'], 'vmspec-v1': [] },
    build: () => ({ evidence: bundle('el2', { mode: 'acpi', gic: 2, el2: true, phase: W }) }),
  },
  {
    id: 'el2-offered-boot', title: 'EL2 offered to the VM, real boot', baseline: 'bootAcpiGicv2', cost: 'boot',
    produced: 'the reference image booted as bootAcpiGicv2 with `-machine virtualization=on` appended (QEMU then starts the firmware, and so Linux, at EL2)',
    fails: { 'vmspec-v2': ['V2-ARCH-FW-EL1'], 'vmspec-v1': [] },
    build: async () => ({ evidence: await realBootEvidence('acpi-gicv2-el2', { acpi: true, qemuArgs: ['-machine', 'virtualization=on'] }) }),
  },
  {
    id: 'uefi-2-5', title: 'Firmware reports UEFI 2.5', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence from a firmware logging "EFI v2.50 by EDK II" (edk2 of 2016) (recipe firmware)',
    fails: { 'vmspec-v2': ['V2-FW-UEFI-2-6'], 'vmspec-v1': [] },
    build: () => ({ evidence: bundle('uefi-2-5', { mode: 'acpi', gic: 2, firmware: { vendor: 'EDK II', revision: '2.50' }, phase: W }) }),
  },
  {
    id: 'uefi-2-3', title: 'Firmware reports UEFI 2.3.1', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence from a firmware logging "EFI v2.31" (recipe firmware)',
    fails: { 'vmspec-v2': ['V2-FW-UEFI-2-6'], 'vmspec-v1': ['V1-FW-UEFI-2-4'] },
    build: () => ({ evidence: bundle('uefi-2-3', { mode: 'acpi', gic: 2, firmware: { vendor: 'EDK II', revision: '2.31' }, phase: W }) }),
  },
  {
    id: 'no-uefi', title: 'Kernel booted without UEFI (QEMU -kernel)', baseline: 'dtGicv2', cost: 'fast',
    produced: 'collector evidence of a direct kernel boot: QEMU\'s device tree as is, no /sys/firmware/efi, PL031 as rtc0 (recipe noUefi)',
    fails: { 'vmspec-v2': ['V2-FW-UEFI', 'V2-HW-UEFI-CONFIG-TABLE', 'V2-FW-RTC'], 'vmspec-v1': ['V1-FW-UEFI', 'V1-HW-UEFI-CONFIG-TABLE', 'V1-FW-RTC'] },
    build: () => ({ evidence: bundle('no-uefi', { mode: 'dt', gic: 2, noUefi: true, phase: W }) }),
  },
  {
    id: 'pl031-rtc', title: 'Firmware offers no UEFI time service (PL031 left to the OS)', baseline: 'dtGicv2', cost: 'fast',
    produced: 'collector evidence with rtc0 = rtc-pl031 and the PL031 enabled in the DT (recipe pl031)',
    fails: { 'vmspec-v2': ['V2-FW-RTC'], 'vmspec-v1': ['V1-FW-RTC'] },
    build: () => ({ evidence: bundle('pl031') }),
  },
  {
    id: 'vars-not-persistent', title: 'Variable store not persistent across a power cycle', baseline: 'checkPresent', cost: 'fast',
    produced: 'collector evidence of the check phase with the nonce variable gone (recipe checkAbsent)',
    fails: { 'vmspec-v2': ['V2-FW-VARS-PERSIST'], 'vmspec-v1': ['V1-FW-VARS-PERSIST'] },
    build: () => ({ evidence: bundle('checkAbsent') }),
  },
  {
    id: 'no-persistent-store-boot', title: 'No persistent variable store, real boot', baseline: 'bootPersistent', cost: 'boot',
    produced: 'the check boot of bootPersistent given a fresh copy of AAVMF_VARS.fd instead of the store the write boot used, as a hypervisor that keeps no per-VM store does',
    fails: { 'vmspec-v2': ['V2-FW-VARS-PERSIST'], 'vmspec-v1': ['V1-FW-VARS-PERSIST'] },
    build: async () => ({ evidence: await realBootEvidence('persist-fresh-store', { acpi: true, persistence: 'check-fresh' }) }),
  },
  {
    id: 'no-spcr', title: 'ACPI tables without SPCR', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence with QEMU\'s SPCR left out of /sys/firmware/acpi/tables (recipe noSpcr)',
    fails: { 'vmspec-v2': ['V2-ARCH-ACPI-SBBR', 'V2-PLAT-UART'], 'vmspec-v1': [] },
    build: () => ({ evidence: bundle('noSpcr') }),
  },
  {
    id: 'no-gtdt', title: 'ACPI tables without GTDT', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence with QEMU\'s GTDT left out of /sys/firmware/acpi/tables and the kernel log (recipe dropTables GTDT)',
    fails: { 'vmspec-v2': ['V2-ARCH-ACPI-SBBR', 'V2-HW-ACPI-COMPLETE', 'V2-PLAT-VIRTUAL-TIMER'], 'vmspec-v1': ['V1-PLAT-VIRTUAL-TIMER'] },
    build: () => ({ evidence: bundle('no-gtdt', { mode: 'acpi', gic: 2, dropTables: ['GTDT'], phase: W }) }),
  },
  {
    id: 'ecam-not-backed', title: 'MCFG describes an ECAM window the hypervisor does not back', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence with QEMU\'s MCFG but no PCI device enumerated (recipe noPciDevices)',
    fails: { 'vmspec-v2': ['V2-HW-ACPI-COMPLETE', 'V2-PLAT-HOTPLUG-BUS'], 'vmspec-v1': ['V1-PLAT-HOTPLUG-BUS'] },
    build: () => ({ evidence: bundle('ecam-unbacked', { mode: 'acpi', gic: 2, noPciDevices: true, phase: W }) }),
  },
  {
    id: 'no-mcfg', title: 'No PCI Express host described (no MCFG)', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence without MCFG: the kernel cannot create PCI config space and finds no device (recipe dropTables MCFG, noPciDevices). V2-ARCH-ACPI-SBBR does not ask for MCFG, so only the bus clause fails',
    fails: { 'vmspec-v2': ['V2-PLAT-HOTPLUG-BUS'], 'vmspec-v1': ['V1-PLAT-HOTPLUG-BUS'] },
    build: () => ({ evidence: bundle('no-mcfg', { mode: 'acpi', gic: 2, dropTables: ['MCFG'], noPciDevices: true, phase: W }) }),
  },
  {
    id: 'no-interrupts-gicv2', title: 'GICv2 VM that delivers no interrupt', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence whose /proc/interrupts counts 0 on every GIC line (recipe noInterrupts)',
    fails: { 'vmspec-v2': ['V2-PLAT-GICV2', 'V2-PLAT-VIRTUAL-TIMER'], 'vmspec-v1': ['V1-PLAT-GIC', 'V1-PLAT-VIRTUAL-TIMER'] },
    build: () => ({ evidence: bundle('no-irq-v2', { mode: 'acpi', gic: 2, noInterrupts: true, phase: W }) }),
  },
  {
    id: 'no-interrupts-gicv3', title: 'GICv3 VM that delivers no interrupt', baseline: 'dtGicv3', cost: 'fast',
    produced: 'collector evidence (DT, GICv3) whose /proc/interrupts counts 0 on every GIC line (recipe noInterrupts)',
    fails: { 'vmspec-v2': ['V2-PLAT-GICV3', 'V2-PLAT-VIRTUAL-TIMER'], 'vmspec-v1': ['V1-PLAT-GIC', 'V1-PLAT-VIRTUAL-TIMER'] },
    build: () => ({ evidence: bundle('no-irq-v3', { mode: 'dt', gic: 3, noInterrupts: true, phase: W }) }),
  },
  {
    id: 'dt-no-virtual-timer', title: 'Device tree gives no virtual timer interrupt', baseline: 'dtGicv2', cost: 'fast',
    produced: 'QEMU\'s DT with the timer node\'s interrupts cut to the two physical timers; the kernel runs the physical timer (recipe noVirtualTimerIrq)',
    fails: { 'vmspec-v2': ['V2-PLAT-VIRTUAL-TIMER', 'V2-HW-DT-COMPLETE'], 'vmspec-v1': ['V1-PLAT-VIRTUAL-TIMER', 'V1-HW-DT-COMPLETE'] },
    build: () => ({ evidence: bundle('dt-no-vtimer', { mode: 'dt', gic: 2, noVirtualTimerIrq: true, phase: W }) }),
  },
  {
    id: 'no-uart', title: 'VM without an emulated UART', baseline: 'dtGicv2', cost: 'fast',
    produced: 'QEMU\'s DT without the pl011 node and stdout-path, no ttyAMA port, the console on tty0 (recipe noUart)',
    fails: { 'vmspec-v2': ['V2-PLAT-UART', 'V2-HW-DT-COMPLETE'], 'vmspec-v1': ['V1-PLAT-CONSOLE', 'V1-PLAT-CONSOLE-KIND', 'V1-HW-DT-COMPLETE'] },
    build: () => ({ evidence: bundle('no-uart', { mode: 'dt', gic: 2, noUart: true, phase: W }) }),
  },
  {
    id: 'vcpu-not-started', title: 'A vCPU never came online', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence of a 2-vCPU VM where PSCI CPU_ON failed for CPU1 (recipe cpuDown)',
    fails: { 'vmspec-v2': ['V2-ARCH-PSCI'], 'vmspec-v1': [] },
    build: () => ({ evidence: bundle('cpuDown') }),
  },
  {
    id: 'spcr-16550', title: 'The firmware names a 16550 as the console UART', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence whose SPCR Interface Type is 0x12 (a 16550 with DBG2 parameters), not a PL011/SBSA UART (recipe spcr16550)',
    fails: { 'vmspec-v2': ['V2-PLAT-UART'], 'vmspec-v1': ['V1-PLAT-CONSOLE-KIND'] },
    build: () => ({ evidence: bundle('spcr16550') }),
  },
  {
    id: 'root-port-without-hotplug', title: 'PCIe root port without hot-plug', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence whose root port config space has Slot Capabilities Hot-Plug Capable/Surprise cleared, as QEMU\'s pcie-root-port,hotplug=off gives (recipe hotplugOff)',
    fails: { 'vmspec-v2': ['V2-PLAT-HOTPLUG-BUS'], 'vmspec-v1': ['V1-PLAT-HOTPLUG-BUS'] },
    build: () => ({ evidence: bundle('hotplugOff') }),
  },
  {
    id: 'no-root-port', title: 'No PCIe port that can take a hot-added device', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence of a VM with devices on the root bus only, no pcie-root-port (recipe noRootPort)',
    fails: { 'vmspec-v2': ['V2-PLAT-HOTPLUG-BUS'], 'vmspec-v1': ['V1-PLAT-HOTPLUG-BUS'] },
    build: () => ({ evidence: bundle('noRootPort') }),
  },
  {
    id: 'spin-table-secondaries', title: 'Secondary vCPUs released from a spin table, not PSCI', baseline: 'dtGicv2', cost: 'fast',
    produced: 'QEMU\'s DT with the secondary cpu nodes\' enable-method set to spin-table (arm64 booting.rst) (recipe spinTable)',
    fails: { 'vmspec-v2': ['V2-ARCH-PSCI'], 'vmspec-v1': [] },
    build: () => ({ evidence: bundle('spinTable') }),
  },
  {
    id: 'gtdt-no-virtual-timer', title: 'GTDT gives no virtual timer interrupt', baseline: 'acpiGicv2', cost: 'fast',
    produced: 'collector evidence whose GTDT Virtual EL1 Timer GSIV is 0 (recipe noVirtualTimer)',
    fails: { 'vmspec-v2': ['V2-HW-ACPI-COMPLETE', 'V2-PLAT-VIRTUAL-TIMER'], 'vmspec-v1': ['V1-PLAT-VIRTUAL-TIMER'] },
    build: () => ({ evidence: bundle('noVirtualTimer') }),
  },
  // ---- the image's boot chain: shim, a UKI ------------------------------------------------
  {
    id: 'shim-alone', title: 'shim alone at the removable path', baseline: 'imageShim', cost: 'fast',
    produced: 'Debian\'s signed shim at \\EFI\\BOOT\\BOOTAA64.EFI with nothing to start: no grubaa64.efi beside it, no fallback (fbaa64.efi), no vendor directory (a shim copied without its second stage)',
    fails: { 'vmspec-v2': ['V2-FW-NO-PRESET-BOOTVARS'], 'vmspec-v1': ['V1-FW-NO-PRESET-BOOTVARS'] },
    build: () => ({ image: shimImage('shim-alone', { bootDir: [] }) }),
  },
  {
    id: 'shim-fallback-no-csv', title: 'shim\'s fallback finds no BOOTAA64.CSV', baseline: 'imageShim', cost: 'fast',
    produced: 'imageShim without \\EFI\\debian\\BOOTAA64.CSV: shim, started at the removable path with fbaa64.efi beside it, starts the fallback, which finds no BOOTAA64.CSV in any \\EFI directory to register or boot (the grubaa64.efi copies are never started)',
    fails: { 'vmspec-v2': ['V2-FW-NO-PRESET-BOOTVARS'], 'vmspec-v1': ['V1-FW-NO-PRESET-BOOTVARS'] },
    build: () => ({ image: shimImage('shim-no-csv', { bootDir: ['grub', 'fallback', 'mokManager'], vendorDir: { name: 'debian', csv: false, grub: true } }) }),
  },
  {
    id: 'uki-initrd-without-virtio-blk', title: 'A UKI whose initrd lacks virtio_blk', baseline: 'imageUki', cost: 'fast',
    produced: 'imageUki with virtio_blk left out of the initrd objcopy puts in the UKI\'s .initrd (the kernel has it as a module; the root\'s own /boot/initrd.img, which the UKI does not load, still has it)',
    fails: { 'vmspec-v2': ['V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO'], 'vmspec-v1': ['V1-GUEST-VIRTIO-PCI', 'V1-GUEST-VIRTIO-MMIO'] },
    build: () => ({ image: ukiImage('uki-no-blk', ALL_INITRD.filter((m) => m !== 'virtio_blk')) }),
  },
];

/**
 * Real faults proven outside the matrix harness: whole `vmspec boot` runs
 * (the host's own clauses and failed boots need the boot flow, not an
 * evidence disk), and faults whose test sits next to the parser it exercises.
 * Each names the test that asserts exactly these clauses fail.
 */
export interface FaultProvenElsewhere {
  id: string;
  title: string;
  produced: string;
  /** The clauses it fails, exactly, as the test asserts them. */
  fails: string;
  test: string;
  cost: Cost;
}

export const PROVEN_ELSEWHERE: FaultProvenElsewhere[] = [
  { id: 'gicv2-refused', title: 'A hypervisor that cannot start a GICv2 VM', produced: 'vmspec boot with a --qemu wrapper that exits 1 with a QEMU-style message when asked for gic-version=2 (as KVM on a GICv3-only host)', fails: 'v2: `V2-PLAT-GICV2` with QEMU\'s words; the GICv3 boot is still judged; report written, exit 1', test: 'test/boot/boot-faults.test.ts', cost: 'boot' },
  { id: 'firmware-starts-no-os', title: 'A firmware that never reaches the OS loader', produced: 'the first 512 KiB of QEMU_EFI.fd padded to 64 MiB, `--timeout 20`', fails: 'v2: `V2-FW-UEFI` with the serial tail; in-guest clauses undecided', test: 'test/boot/boot-faults.test.ts', cost: 'boot' },
  { id: 'option-refused-every-boot', title: 'A machine option the hypervisor refuses in every boot', produced: 'vmspec boot `--qemu-arg -bogus-option`', fails: 'v2: `V2-HW-ACPI-COMPLETE`, `V2-PLAT-GICV2`, `V2-PLAT-GICV3`; `V2-FW-UEFI` undecided', test: 'test/boot/boot-command.test.ts', cost: 'boot' },
  { id: 'single-image-firmware', title: 'A firmware given as one file (no variable store)', produced: 'vmspec boot `--firmware /usr/share/qemu-efi-aarch64/QEMU_EFI.fd` alone (run as -bios)', fails: 'v2: `V2-FW-VARS-PERSIST`, `V2-FW-VARS-PERSIST-HOST` (volatile variables; never an error)', test: 'test/boot/firmware/single-image.test.ts', cost: 'boot' },
  { id: 'uart-without-collector', title: 'The UART shows the firmware but not the guest', produced: 'a real console=tty0 boot\'s serial log cut where the guest OS starts writing', fails: 'v2: `V2-PLAT-UART-HOST`', test: 'test/boot/capability-boots.test.ts', cost: 'boot' },
  { id: 'vm-stopped-by-host', title: 'A VM the host had to stop (no PSCI power-off)', produced: 'a real QEMU stopped by its timeout, with a started OS\'s serial log', fails: 'v2: `V2-ARCH-PSCI-HOST`', test: 'test/boot/capability-boots.test.ts', cost: 'boot' },
  { id: 'nonce-changed-in-store', title: 'The variable survives, its value does not', produced: 'the real store after the power cycle with one byte of the nonce data changed', fails: 'v2: `V2-FW-VARS-PERSIST-HOST` (present, content false)', test: 'test/boot/capability-boots.test.ts', cost: 'boot' },
  { id: 'v1-store-not-kept', title: 'Variable store not kept across the power cycle (v1)', produced: 'vmspec boot `--spec vmspec-v1 --no-persistent-vars`', fails: 'v1: `V1-FW-VARS-PERSIST-HOST` of the host clauses', test: 'test/probes/host/v1-host-clauses.test.ts', cost: 'boot' },
  { id: 'bad-table-checksum', title: 'An ACPI table with a wrong checksum (FACS/S3PT valid beside it)', produced: 'iasl-built tables, GTDT Checksum byte +1; a valid FACS and S3PT added alone fail nothing', fails: 'v2: `V2-ARCH-ACPI-SBBR`', test: 'test/probes/acpi/no-checksum-tables.test.ts', cost: 'fast' },
  { id: 'gtdt-inconsistent', title: 'A GTDT whose platform-timer offset points into its fixed part', produced: 'the collector bundle\'s GTDT with count 1, offset 36, checksum fixed', fails: 'v2: `V2-HW-ACPI-COMPLETE` naming the inconsistency', test: 'test/probes/evidence/damaged-description.test.ts', cost: 'fast' },
  { id: 'damaged-device-tree', title: 'A device tree that does not parse', produced: 'dtc output nested past 64 levels; a second root node after the first (QEMU\'s blob, header fixed; dtc refuses it too); size_dt_strings cut to 8; the blob cut in half', fails: 'v2: `V2-HW-DT-COMPLETE`; v1: `V1-HW-DT-COMPLETE` (the parser\'s reason); what rests on it undecided', test: 'test/probes/evidence/damaged-description.test.ts', cost: 'fast' },
  { id: 'malformed-compatible', title: 'A malformed compatible on an unrelated node', produced: 'dtc decompile, `compatible = [41 42]` on /node, recompile', fails: 'v2: `V2-HW-DT-COMPLETE`; v1: `V1-HW-DT-COMPLETE`; the timer verdict unchanged', test: 'test/probes/evidence/damaged-description.test.ts', cost: 'fast' },
  { id: 'other-disk-label', title: 'A Sun, SGI, BSD, Atari or DASD disk label', produced: 'sfdisk --label sun/sgi, fdisk (BSD), documented bytes (Atari AHDI, IBM DASD)', fails: 'v2: `V2-IMG-GPT` naming the label', test: 'test/probes/image/disk-label.test.ts', cost: 'fast' },
  { id: 'other-containers', title: 'A Parallels, qcow v1, bochs, cloop or dmg image', produced: 'qemu-img convert; hand-written headers from QEMU\'s block drivers', fails: 'refused by name, exit 2', test: 'test/probes/image/containers.test.ts', cost: 'fast' },
  { id: 'vcpu-not-described', title: 'The firmware describes 1 of 2 configured vCPUs', produced: 'a 1-CPU collector bundle against the 2 vCPUs vmspec boot configured', fails: 'v2: `V2-PLAT-DISCOVERABLE`; v1: `V1-PLAT-DISCOVERABLE`', test: 'test/probes/host/discovery.test.ts', cost: 'fast' },
  { id: 'memory-not-described', title: 'Memory not described to the guest', produced: '2048 MiB configured, 968 MiB found', fails: 'v2: `V2-PLAT-DISCOVERABLE`', test: 'test/probes/host/discovery.test.ts', cost: 'fast' },
  { id: 'initramfs-without-virtio-net', title: 'A booted kernel whose initramfs lacks virtio_net', produced: 'an image with no readable root and a bundle from an initramfs without virtio_net', fails: 'v2: `V2-GUEST-VIRTIO-PCI`, `V2-GUEST-VIRTIO-MMIO`', test: 'test/probes/rootfs/booted-kernel.test.ts', cost: 'fast' },
  { id: 'aarch64-only-at-bootarm', title: 'An AArch64 binary alone at BOOTARM.EFI', produced: 'grubaa64.efi copied to \\EFI\\BOOT\\BOOTARM.EFI, no BOOTAA64.EFI', fails: 'v2: `V2-IMG-BOOTARM-PATH`', test: 'test/requirements/spec-wording.test.ts', cost: 'fast' },
  { id: 'uefi-clock-off', title: 'The UEFI clock a day off', produced: 'collector bundle with the RTC 86400 s from the host\'s time', fails: 'v2: `V2-FW-RTC-ACCURACY` (informative: exit 0)', test: 'test/requirements/spec-wording.test.ts', cost: 'fast' },
  { id: 'unreadable-root', title: 'A root filesystem vmspec cannot read', produced: 'an empty root partition; a btrfs volume without /etc and /usr (mkfs.btrfs)', fails: 'no clause fails: the 11 GUEST clauses are undecided, exit 4', test: 'test/cli/verify-undecided.test.ts', cost: 'fast' },
  { id: 'kvm-host-gicv3-only', title: 'A KVM host with a GICv3 and no GICv2 compatibility', produced: 'vmspec boot --accel kvm --gic 2: the guest under KVM in a nested L1 host with a GICv3 (QEMU TCG, virtualization=on), whose KVM disables GICv2 emulation; L2 QEMU refuses the in-kernel GICv2', fails: 'v2: `V2-PLAT-GICV2`, `V2-HW-ACPI-COMPLETE` with QEMU\'s and L1 KVM\'s words', test: 'test/boot/nested/kvm-boot.test.ts', cost: 'slow' },
  { id: 'kvm-host-gicv2-only', title: 'A KVM host with a GICv2 only', produced: 'vmspec boot --accel kvm --kvm-host-gic 2 --gic 3 (nested L1 host with a GICv2)', fails: 'v2: `V2-PLAT-GICV3`, `V2-HW-ACPI-COMPLETE`', test: 'test/boot/nested/kvm-boot.test.ts', cost: 'slow' },
  { id: 'xen-as-packaged', title: 'Xen as Debian packages it: no guest firmware for a domU', produced: 'vmspec boot --hypervisor xen on the reference (a GICv2 and a GICv3 boot): Debian\'s Xen 4.17 nested in QEMU TCG, the domU\'s kernel booted directly', fails: 'v2: `V2-FW-UEFI`, `V2-FW-RTC`, `V2-HW-UEFI-CONFIG-TABLE`, `V2-HW-ACPI-TABLE-GUID`, `V2-HW-DT-COMPLETE`, `V2-PLAT-UART`, `V2-PLAT-UART-HOST`, `V2-FW-VARS-PERSIST`, `V2-FW-VARS-PERSIST-HOST` (docs/xen.md explains each); undecided: `V2-ARCH-PSCI-RESET-HOST` (no reset watched on this route), `V2-FW-NO-PRESET-BOOTVARS-HOST` (no UEFI, so no fresh store); exit 1', test: 'test/boot/xen/xen-boot.test.ts', cost: 'slow' },
  { id: 'xen-disk-missing', title: 'A Xen domain missing one of its PV disks', produced: 'a collector bundle as a domU finds xenbus with one vbd of the two xl configured', fails: 'v2: `V2-PLAT-DISCOVERABLE`', test: 'test/probes/host/discovery.test.ts', cost: 'fast' },
  { id: 'reset-powers-off', title: 'A hypervisor whose PSCI reset powers the VM off', produced: 'vmspec boot `--qemu-arg=-no-reboot` on the reference: boot 2\'s guest reboots (PSCI SYSTEM_RESET) and QEMU exits instead of restarting the VM', fails: 'v2: `V2-ARCH-PSCI-RESET-HOST` (`reset.vmRestarted` false); everything else as the default run', test: 'test/boot/reset-boot.test.ts', cost: 'boot' },
  { id: 'v1-uart-without-collector', title: 'The UART stops carrying the guest once its init writes (v1)', produced: 'vmspec boot `--spec vmspec-v1 --qemu WRAPPER`: real QEMU whose PL011 log passes the firmware\'s and kernel\'s lines and nothing from the first `vmspec-init:` line on (the cut of `uart-without-collector`, made during a whole run)', fails: 'v1: `V1-PLAT-CONSOLE-HOST`; beside it only the ACPI boot\'s `V1-HW-DT-TABLE-GUID` (baseline acpiGicv2), nothing undecided', test: 'test/probes/host/v1-host-clauses.test.ts', cost: 'boot' },
  { id: 'loader-off-removable-path', title: 'An image whose loader is off the removable path (found only through a Boot#### variable)', produced: 'the built-in reference with \\EFI\\BOOT\\BOOTAA64.EFI moved to \\EFI\\debian\\grubaa64.efi (mtools); vmspec boot `--cloud-init off --force --timeout 40`: AAVMF creates its boot options, starts none of the image and ends in the UEFI Shell', fails: 'v2: `V2-IMG-ESP-BOOT-FILE` (static), `V2-FW-NO-PRESET-BOOTVARS-HOST` (no OS from the fresh store); `V2-FW-UEFI` undecided (the image explains it)', test: 'test/boot/removable-boot-host.test.ts', cost: 'boot' },
];
