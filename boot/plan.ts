import type { ConfiguredVm, GuestDiskKind } from '../probes/host/facts.js';
import type { GuestEnd, Phase } from './reference/evidence-disk.js';

/**
 * The boot matrix of one `vmspec boot` run. Two boots by default, as the
 * original vmspec-boot did: boot 1 writes the persistence nonce, boot 2
 * (a full power cycle later, same variable store) checks it; with
 * `--gic both` boot 1 has a GICv2 and boot 2 a GICv3, so one run covers
 * both PLAT-5 clauses. Where the host can watch for it (the reference's
 * init under QEMU on this host: `exerciseReset`), boot 2 ends with a
 * guest-initiated reset (PSCI SYSTEM_RESET) instead of a power-off, so
 * ARCH-4's reboot is judged without a third boot.
 */
export interface PlannedBoot {
  name: string;
  acpi: boolean;
  gic: 2 | 3;
  phase: Phase;
  /** new: boot 1's copy of the template; same: the previous boot's file; fresh: a new copy (a hypervisor that forgets variables). */
  vars: 'new' | 'same' | 'fresh';
  /** How the guest ends this boot (evidence-disk header `end=`); default poweroff. */
  end?: GuestEnd;
}

export interface BootPlanOptions {
  gic: '2' | '3' | 'both';
  acpi: boolean;
  /** false: every boot gets a fresh copy of the template (to show what a non-persistent store fails). */
  persistentVars: boolean;
  /** Boot 2's guest resets the VM instead of powering it off (boot/reset-watch.ts). */
  exerciseReset?: boolean;
}

export function planBoots(o: BootPlanOptions): PlannedBoot[] {
  const gics: [2 | 3, 2 | 3] = o.gic === 'both' ? [2, 3] : o.gic === '2' ? [2, 2] : [3, 3];
  return [
    { name: 'boot 1', acpi: o.acpi, gic: gics[0], phase: 'write', vars: 'new' },
    { name: 'boot 2', acpi: o.acpi, gic: gics[1], phase: 'check', vars: o.persistentVars ? 'same' : 'fresh', ...(o.exerciseReset ? { end: 'reset' as const } : {}) },
  ];
}

export function describeBoot(b: Pick<PlannedBoot, 'name' | 'acpi' | 'gic'>): string {
  return `${b.name} (${b.acpi ? 'ACPI' : 'DT, acpi=off'}, GICv${b.gic})`;
}

/**
 * The VM every planned boot configures (boot/qemu-run.ts qemuArgv): its
 * vCPUs, memory, and the virtio block devices on PCI (the image, the
 * evidence disk, a cloud-init seed). PLAT-2 compares it with what the
 * guest enumerated (probes/host/discovery.ts).
 */
export function configuredVm(o: { cpus: number; memoryMiB: number; cloudInitSeed: boolean; disks?: GuestDiskKind }): ConfiguredVm {
  const kind = o.disks ?? 'virtio-blk-pci';
  const devices: ConfiguredVm['devices'] = [
    { kind, role: 'image' },
    { kind, role: 'evidence disk' },
  ];
  if (o.cloudInitSeed) devices.push({ kind, role: 'cloud-init seed' });
  return { cpus: o.cpus, memoryMiB: o.memoryMiB, devices };
}
