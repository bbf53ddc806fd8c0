/**
 * Host-side facts of a `vmspec boot` run: what the host saw that no guest
 * can fake (the serial port's output, QEMU's exit, the instance's variable
 * store after power-off). `vmspec boot` gathers them (boot/host-facts.ts);
 * the `host.boot` probe hands them to the clauses as they are.
 */

/** One power-on to power-off of the VM. */
export interface HostBootRecord {
  /** "boot 1", "boot 2", … */
  name: string;
  acpi: boolean;
  gic: 2 | 3;
  /** The persistence phase the guest was told (evidence-disk header). */
  phase: 'write' | 'check';
  /** Whether this boot used the same variable-store file as the boot before it. */
  varsStore: 'new' | 'same as the previous boot' | 'fresh copy';
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  serial: SerialFacts;
  /** The nonce variable in the instance's variable-store file after this boot powered off. */
  varsFileAfter: VarsFileFacts;
}

export interface SerialFacts {
  /** Bytes QEMU wrote to the serial log (the virt machine's PL011). */
  bytes: number;
  /** The guest's console lines (kernel or init) reached the host through the UART. */
  guestConsoleOnUart: boolean;
  /** The firmware's own messages (edk2's banner, BdsDxe) appeared: the UART works before the OS. */
  firmwareMessages: boolean;
  /** The Linux kernel's own messages appeared (not only init's). */
  kernelMessages: boolean;
  /** The collector's end line, `VMSPEC-DONE rc=N`: N, or null when absent. */
  collectorExit: number | null;
}

export interface VarsFileFacts {
  /** present / absent: the store was parsed; unreadable: it could not be (see `problem`). */
  nonceVariable: 'present' | 'absent' | 'unreadable';
  /** The variable's data equals the nonce (UTF-8), null when absent. */
  contentMatchesNonce: boolean | null;
  /** Its attributes include NON_VOLATILE, null when absent. */
  nonVolatile: boolean | null;
  /** edk2 store format: authenticated or plain variable headers. */
  storeFormat: string | null;
  problem: string | null;
}

export interface HostBootFacts {
  hypervisor: string;
  accelerator: 'kvm' | 'tcg';
  boots: HostBootRecord[];
  persistence: {
    nonce: string;
    /** A later boot (a full power cycle of the same VM) ran the check phase after an earlier one wrote. */
    checked: boolean;
    /** After the write boot powered off, the instance's store file held the variable. */
    writtenToStore: 'present' | 'absent' | 'unreadable';
    /** After the check boot powered off, the store the hypervisor gave that boot still held it. */
    stillInStoreAfterCheck: 'present' | 'absent' | 'unreadable' | null;
  };
  serial: {
    /** Every boot put guest console output on the UART. */
    everyBootOnUart: boolean;
  };
  /** PLAT-2: each boot's configured VM beside what its guest enumerated (probes/host/discovery.ts). */
  discovery: {
    boots: DiscoveryRecord[];
    /** Every boot's evidence gave CPUs, memory and PCI devices to compare. */
    judged: boolean;
  };
}

/** The VM `vmspec boot` configured for a boot (boot/plan.ts configuredVm): what the guest should find. */
export interface ConfiguredVm {
  cpus: number;
  memoryMiB: number;
  /** Devices vmspec put on the VM (boot/qemu-run.ts qemuArgv), by QEMU device name and what each is for; --qemu-arg devices are not counted. */
  devices: { kind: 'virtio-blk-pci'; role: string }[];
}

/** What the guest enumerated, from its evidence; null where the evidence does not say. */
export interface GuestDiscovery {
  /** /sys/devices/system/cpu/present */
  cpusPresent: number | null;
  cpusOnline: number | null;
  memoryMiB: number | null;
  memorySource: 'System RAM in /proc/iomem' | 'MemTotal in /proc/meminfo' | null;
  /** PCI functions 1af4:1001 / 1af4:1042 (virtio block) in /sys/bus/pci/devices. */
  virtioBlockPci: number | null;
}

export interface DiscoveryRecord {
  name: string;
  acpi: boolean;
  configured: { cpus: number; memoryMiB: number; virtioBlockPci: number };
  guest: GuestDiscovery | null;
  /** Every configured vCPU is present in the guest. */
  cpusFound: boolean | null;
  /** Memory the guest found as a percentage of the configured size (rounded down). */
  memoryPercent: number | null;
  /** At least the configured virtio block devices are on the guest's PCI bus. */
  devicesFound: boolean | null;
  problems: string[];
}
