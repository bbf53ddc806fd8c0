import type { Sysroot } from '../sysroot/types.js';
import { Memo } from '../types.js';
import { cpuCounts, pciDevices } from '../evidence/procfs.js';
import { tracker, type Tracker } from '../evidence/read.js';
import type { ConfiguredVm, DiscoveryRecord, GuestDiscovery } from './facts.js';

/**
 * PLAT-2, "the guest OS must be able to enumerate all processing elements,
 * devices, and memory" (The VM Platform, p5): the VM `vmspec boot`
 * configured (boot/plan.ts configuredVm) beside what that boot's guest
 * found, read from its evidence bundle. Observed values and plain
 * comparisons only; the clause's YAML judges them.
 */

/** virtio's PCI vendor ID and the block device's IDs: transitional 0x1001, modern 0x1040 + 2 (virtio 1.x §4.1.2). */
const VIRTIO_VENDOR = '0x1af4';
const VIRTIO_BLOCK_DEVICES = ['0x1001', '0x1042'];

/** Top-level "System RAM" ranges of /proc/iomem (nested lines are parts of them), summed; null when absent or hidden. */
export function systemRamBytes(iomem: string | undefined): number | null {
  if (iomem === undefined) return null;
  let total = 0n;
  let seen = false;
  for (const line of iomem.split('\n')) {
    const m = /^([0-9a-fA-F]+)-([0-9a-fA-F]+) : System RAM\s*$/.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    const end = BigInt(`0x${m[2]}`);
    if (end <= start) continue; // unprivileged readers see zeroed addresses
    total += end - start + 1n;
    seen = true;
  }
  return seen ? Number(total) : null;
}

/** MemTotal of /proc/meminfo in bytes, or null. */
export function memTotalBytes(meminfo: string | undefined): number | null {
  const m = /^MemTotal:\s+(\d+)\s+kB\s*$/m.exec(meminfo ?? '');
  return m ? Number(m[1]) * 1024 : null;
}

/** What the guest found, from its evidence. */
export function guestDiscovery(evidence: Sysroot): GuestDiscovery {
  const t: Tracker = tracker({ evidence, memo: new Memo() }, 'host discovery');
  const cpus = cpuCounts(t);
  const ram = systemRamBytes(t.text('/proc/iomem'));
  const memTotal = ram === null ? memTotalBytes(t.text('/proc/meminfo')) : null;
  const bytes = ram ?? memTotal;
  const listed = t.list('/sys/bus/pci/devices') !== undefined;
  const blocks = pciDevices(t).filter((d) => d.vendor?.toLowerCase() === VIRTIO_VENDOR && VIRTIO_BLOCK_DEVICES.includes(d.device?.toLowerCase() ?? ''));
  // xenbus names a PV block device vbd-<virtual device number> (Linux drivers/xen/xenbus).
  const xen = t.list('/sys/bus/xen/devices');
  return {
    cpusPresent: cpus.present,
    cpusOnline: cpus.online,
    memoryMiB: bytes === null ? null : Math.round(bytes / (1024 * 1024)),
    memorySource: ram !== null ? 'System RAM in /proc/iomem' : memTotal !== null ? 'MemTotal in /proc/meminfo' : null,
    virtioBlockPci: listed ? blocks.length : null,
    xenVbd: xen === undefined ? null : xen.filter((name) => /^vbd-\d+$/.test(name)).length,
  };
}

/** One boot's configured VM against what its guest found. */
export function compareDiscovery(name: string, acpi: boolean, vm: ConfiguredVm, guest: GuestDiscovery | null): DiscoveryRecord {
  const configuredBlocks = vm.devices.filter((d) => d.kind === 'virtio-blk-pci').length;
  const configuredVbds = vm.devices.filter((d) => d.kind === 'xen-vbd').length;
  const problems: string[] = [];
  if (guest === null) problems.push('no evidence from this boot');
  else {
    if (guest.cpusPresent === null) problems.push('no /sys/devices/system/cpu/present in the evidence');
    if (guest.memoryMiB === null) problems.push('neither /proc/iomem System RAM nor /proc/meminfo MemTotal in the evidence');
    if (configuredBlocks > 0 && guest.virtioBlockPci === null) problems.push('no /sys/bus/pci/devices in the evidence');
    if (configuredVbds > 0 && guest.xenVbd === null) problems.push('no /sys/bus/xen/devices in the evidence');
  }
  const known = <T>(v: T | null | undefined, f: (x: T) => boolean): boolean | null => (v === null || v === undefined ? null : f(v));
  return {
    name,
    acpi,
    configured: { cpus: vm.cpus, memoryMiB: vm.memoryMiB, virtioBlockPci: configuredBlocks, xenVbd: configuredVbds },
    guest,
    cpusFound: known(guest?.cpusPresent, (n) => n === vm.cpus),
    memoryPercent: known(guest?.memoryMiB, () => true) === null ? null : Math.floor(((guest!.memoryMiB as number) * 100) / vm.memoryMiB),
    devicesFound: guest === null ? null : foundAll([[guest.virtioBlockPci, configuredBlocks], [guest.xenVbd, configuredVbds]]),
    problems,
  };
}

/** Every bus vmspec put disks on shows at least that many: null when a bus with configured disks was not listed. */
function foundAll(buses: [found: number | null, configured: number][]): boolean | null {
  let all = true;
  for (const [found, configured] of buses) {
    if (configured === 0) continue;
    if (found === null) return null;
    if (found < configured) all = false;
  }
  return all;
}
