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
  /** QEMU exited 0 by itself (not killed, not timed out): the guest's power-off (PSCI SYSTEM_OFF) ended the VM. */
  cleanExit: boolean;
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
  /** The evidence collector's own lines (vmspec-init, collect.sh) appeared: the UART works under the guest OS. */
  collectorMessages: boolean;
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
    /** The store's copy after the write boot holds exactly the nonce written; null when it is not there. */
    contentAfterWrite: boolean | null;
    /** The store's copy after the check boot still holds exactly the nonce; null when there is no check boot or no variable. */
    contentAfterCheck: boolean | null;
  };
  serial: {
    /** Every boot put guest console output on the UART. */
    everyBootOnUart: boolean;
    /** Every boot put both the firmware's or the kernel's messages and the collector's lines on the UART. */
    everyBootFirmwareOrKernelAndCollector: boolean;
  };
  /** Every boot ended with a clean QEMU exit after the guest powered off. */
  everyBootCleanExit: boolean;
}
