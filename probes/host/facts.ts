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
  /** Why this boot gave no evidence (boot/boot-outcome.ts), or null when the collector's evidence came back. */
  failure: BootFailure | null;
  /** QEMU exited 0 by itself (not killed, not timed out): the guest's power-off (PSCI SYSTEM_OFF) ended the VM. */
  cleanExit: boolean;
  /** How the guest was told to end this boot: power off (PSCI SYSTEM_OFF) or reset (PSCI SYSTEM_RESET). */
  end: 'poweroff' | 'reset';
  /** For a reset boot: what the serial port showed (boot/reset-watch.ts); null for a power-off boot. */
  reset: {
    /** The guest's reset request line reached the UART. */
    requested: boolean;
    /** After it the VM printed as a restarted machine does (firmware output, or a fresh kernel's first line). */
    restarted: boolean;
    /** The host stopped QEMU once it had seen the restart (instead of the VM booting its OS again). */
    stoppedByHost: boolean;
  } | null;
}

/**
 * A boot that could not be judged from inside: the hypervisor refused the
 * configuration or died, the operating system never started (the firmware
 * never handed over to a loader), or it started but left no evidence.
 */
export interface BootFailure {
  kind: BootFailureKind;
  /** One sentence: what happened. */
  reason: string;
  /** The hypervisor's own words (QEMU's stderr/stdout, last lines), null when it said nothing. */
  hypervisorMessage: string | null;
  /** The serial log's last lines (control characters shown as '?'). */
  serialTail: string;
}

/**
 * hypervisor-refused: QEMU exited non-zero before anything reached the UART (a GIC version, ACPI/DT mode or machine
 * option it cannot give); hypervisor-failed: it exited non-zero later; no-os: powered off or timed out with no kernel or
 * collector line on the UART and no bundle (the firmware never started an OS); no-evidence: the OS started but left no bundle.
 */
export type BootFailureKind = 'hypervisor-refused' | 'hypervisor-failed' | 'no-os' | 'no-evidence';

export interface SerialFacts {
  /** Bytes QEMU wrote to the serial log (the virt machine's PL011). */
  bytes: number;
  /** The guest's console lines (kernel or init) reached the host through the UART. */
  guestConsoleOnUart: boolean;
  /** The firmware printed on the UART before the OS: edk2's banner, or for any firmware, output before the first kernel or collector line. */
  firmwareMessages: boolean;
  /** The Linux kernel's own messages appeared (not only init's). */
  kernelMessages: boolean;
  /** The evidence collector's own lines (vmspec-init, collect.sh) appeared: the UART works under the guest OS. */
  collectorMessages: boolean;
  /** The collector's end line, `VMSPEC-DONE rc=N`: N, or null when absent. */
  collectorExit: number | null;
}

/** no store: the firmware ran without a variable-store file (a single image loaded as -bios): its variables are volatile. */
export type NonceInStore = 'present' | 'absent' | 'unreadable' | 'no store';

export interface VarsFileFacts {
  /** present / absent: the store was parsed; unreadable: it could not be (see `problem`); no store: there is no file to read. */
  nonceVariable: NonceInStore;
  /** The variable's data equals the nonce (UTF-8), null when absent. */
  contentMatchesNonce: boolean | null;
  /** Its attributes include NON_VOLATILE, null when absent. */
  nonVolatile: boolean | null;
  /** edk2 store format: authenticated or plain variable headers. */
  storeFormat: string | null;
  problem: string | null;
  /** The store is laid out as edk2 lays it out (an FV with "_FVH"), or blank, or there is none: the host can judge it. false: another firmware's layout (edk2-specific reader). */
  layoutKnown: boolean;
  /** The boot manager's variables (EFI_GLOBAL_VARIABLE Boot####, BootOrder, BootNext) in the store, in store order; [] for a blank store; null when it cannot be read or there is none. */
  bootVariables: string[] | null;
}

/**
 * FW-6 seen from the host: the first boot the hypervisor ran from a fresh copy
 * of the firmware's variable-store template (or with no store: volatile
 * variables start empty), so no boot option was set up for the image.
 */
export interface RemovableBootFacts {
  /** That boot ("boot 1"); null when no boot started from a fresh store, or the hypervisor refused or stopped every such boot. */
  boot: string | null;
  /** Boot####, BootOrder, BootNext in the store it was given (the template); [] for a blank template or no store; null when the template cannot be read. */
  presetBootVariables: string[] | null;
  /**
   * true: an operating system started (kernel or collector on the UART, or a bundle). false: none did, although the
   * firmware's boot manager ran (boot options it created are in the store afterwards: it looked for a loader and found
   * none it could start). null: none did and nothing shows the firmware got that far (a firmware fault, V2-FW-UEFI), or no such boot.
   */
  reachedOs: boolean | null;
  /** The boot options in the store after that boot powered off or was stopped; null when it cannot be read. */
  bootVariablesAfter: string[] | null;
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
    writtenToStore: NonceInStore;
    /** After the check boot powered off, the store the hypervisor gave that boot still held it. */
    stillInStoreAfterCheck: NonceInStore | null;
    /** The host could read the store's layout (edk2's, or none at all); false: another firmware's layout, left to the guest-side clause. */
    storeLayoutKnown: boolean;
    /** The store's copy after the write boot holds exactly the nonce written; null when it is not there. */
    contentAfterWrite: boolean | null;
    /** The store's copy after the check boot still holds exactly the nonce; null when there is no check boot or no variable. */
    contentAfterCheck: boolean | null;
  };
  serial: {
    /** Every boot that started an OS put guest console output on the UART (false when none started one). */
    everyBootOnUart: boolean;
    /** Boots that started an operating system (kernel or collector output, or a bundle): the boots the UART can be judged on. */
    osBoots: number;
    /** Every boot that started an OS put both the firmware's or the kernel's messages and the collector's lines on the UART. */
    everyBootFirmwareOrKernelAndCollector: boolean;
  };
  /** Boots that gave no evidence, by name ("boot 1"): their `failure` says why. */
  failedBoots: string[];
  /** FW-6: the image booted from a store with no boot options set up for it. */
  removableBoot: RemovableBootFacts;
  /** Every boot that started an OS and was told to power off ended with a clean QEMU exit (false when none did). */
  everyBootCleanExit: boolean;
  /** ARCH-4's reboot: the boot whose guest was told to reset the VM (PSCI SYSTEM_RESET), as the host saw it. */
  reset: {
    /** Why no boot exercised a reset (another route, another guest agent); null when one did. */
    notExercised: string | null;
    /** The boot that did ("boot 2"), null when none. */
    boot: string | null;
    /** Its guest's reset request reached the UART; null when no boot exercised a reset. */
    requested: boolean | null;
    /** The VM started again after the request (the hypervisor honoured SYSTEM_RESET); null when no boot exercised a reset. */
    vmRestarted: boolean | null;
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
  devices: { kind: GuestDiskKind; role: string }[];
}

/** How a route puts a disk on the VM: a virtio block function on PCI (QEMU, KVM) or a Xen PV block device on xenbus. */
export type GuestDiskKind = 'virtio-blk-pci' | 'xen-vbd';

/** What the guest enumerated, from its evidence; null where the evidence does not say. */
export interface GuestDiscovery {
  /** /sys/devices/system/cpu/present */
  cpusPresent: number | null;
  cpusOnline: number | null;
  memoryMiB: number | null;
  memorySource: 'System RAM in /proc/iomem' | 'MemTotal in /proc/meminfo' | null;
  /** PCI functions 1af4:1001 / 1af4:1042 (virtio block) in /sys/bus/pci/devices. */
  virtioBlockPci: number | null;
  /** Xen PV block devices (vbd-*) in /sys/bus/xen/devices; null when the evidence has no xenbus listing. */
  xenVbd: number | null;
}

export interface DiscoveryRecord {
  name: string;
  acpi: boolean;
  configured: { cpus: number; memoryMiB: number; virtioBlockPci: number; xenVbd: number };
  guest: GuestDiscovery | null;
  /** Every configured vCPU is present in the guest. */
  cpusFound: boolean | null;
  /** Memory the guest found as a percentage of the configured size (rounded down). */
  memoryPercent: number | null;
  /** At least the configured disks are on the guest's buses (virtio block on PCI, Xen vbd on xenbus). */
  devicesFound: boolean | null;
  problems: string[];
}
