import { defineProbe } from '../types.js';
import type { HostBootFacts } from './facts.js';
import { arr, bool, enumOf, type Exactly, type FactsOf, int, narr, nbool, nint, nobj, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `host.boot`: the host's own record of a `vmspec boot` run (probes/host/
 * facts.ts). Only `vmspec boot` provides it; elsewhere the clauses that
 * read it are skipped with the reason.
 */

const IN_STORE = ['present', 'absent', 'unreadable', 'no store'] as const;
const varsFile = obj({
  nonceVariable: enumOf(IN_STORE, 'no store: the firmware ran without a variable-store file (volatile variables)'),
  contentMatchesNonce: nbool(),
  nonVolatile: nbool(),
  storeFormat: nstr('edk2 variable store: authenticated or plain variable headers'),
  problem: nstr('why the store could not be read'),
  layoutKnown: bool('edk2\'s store layout (or blank, or no store): false for another firmware\'s layout, which the host cannot read'),
  bootVariables: narr(str(), 'Boot####, BootOrder, BootNext (EFI_GLOBAL_VARIABLE) in the store; [] when blank; null when unreadable or no store'),
});
const inStore = (d: string) => enumOf(IN_STORE, d);

const facts = obj({
  hypervisor: str('e.g. "QEMU 7.2.19 (TCG)"'),
  accelerator: enumOf(['kvm', 'tcg']),
  boots: arr(obj({
    name: str(),
    acpi: bool(),
    gic: enumOf([2, 3]),
    phase: enumOf(['write', 'check']),
    varsStore: enumOf(['new', 'same as the previous boot', 'fresh copy']),
    exitCode: nint('QEMU exit status; null when it was killed'),
    timedOut: bool(),
    durationMs: int(),
    serial: obj({
      bytes: int('bytes on the serial port (the virt PL011)'),
      guestConsoleOnUart: bool('kernel or init console lines arrived on the UART'),
      firmwareMessages: bool('the firmware printed on the UART: edk2\'s banner, or (any firmware) output before the first kernel line'),
      kernelMessages: bool('the kernel\'s own log lines arrived on the UART'),
      collectorMessages: bool('the evidence collector\'s lines (vmspec-init, collect.sh) arrived on the UART'),
      collectorExit: nint('the collector\'s VMSPEC-DONE rc, null when it never finished'),
    }),
    varsFileAfter: varsFile,
    failure: nobj({
      kind: enumOf(['hypervisor-refused', 'hypervisor-failed', 'no-os', 'no-evidence'], 'refused: QEMU exited non-zero before any UART output; no-os: no kernel/collector output and no bundle'),
      reason: str(),
      hypervisorMessage: nstr('the hypervisor\'s own words (QEMU\'s stderr, last lines)'),
      serialTail: str('the serial log\'s last lines'),
    }, 'why this boot gave no evidence; null when it did'),
    cleanExit: bool('QEMU exited 0 by itself (not killed, not timed out) after the guest powered off'),
    end: enumOf(['poweroff', 'reset'], 'how the guest was told to end this boot: PSCI SYSTEM_OFF or SYSTEM_RESET'),
    reset: nobj({
      requested: bool('the guest\'s reset request line reached the UART'),
      restarted: bool('after it, the VM printed as a restarted machine does (firmware output, or a fresh kernel)'),
      stoppedByHost: bool('the host stopped QEMU once it had seen the restart'),
    }, 'a reset boot as the serial port showed it; null for a power-off boot'),
  })),
  persistence: obj({
    nonce: str(),
    checked: bool('a later boot (a power cycle of the same VM) checked what an earlier one wrote'),
    writtenToStore: inStore('the nonce variable in the instance\'s store file after the write boot powered off'),
    stillInStoreAfterCheck: enumOf([...IN_STORE, null], 'and after the check boot'),
    storeLayoutKnown: bool('the host can read the store (edk2 layout, or no store); false: another firmware\'s layout (edk2-specific reader)'),
    contentAfterWrite: nbool('the store\'s copy after the write boot holds exactly the nonce written'),
    contentAfterCheck: nbool('the store\'s copy after the check boot still holds exactly the nonce'),
  }),
  serial: obj({
    everyBootOnUart: bool('every boot that started an OS put guest console output on the UART; false when none did'),
    everyBootFirmwareOrKernelAndCollector: bool('every boot that started an OS put the firmware\'s or the kernel\'s messages and the collector\'s lines on the UART; false when none did'),
    osBoots: int('boots that started an operating system (kernel or collector output on the UART, or a bundle)'),
  }),
  failedBoots: arr(str(), 'names of the boots that gave no evidence (see boots[].failure)'),
  removableBoot: obj({
    boot: nstr('the first boot the hypervisor ran from a fresh copy of the variable-store template (or no store); null when none'),
    presetBootVariables: narr(str(), 'Boot####, BootOrder, BootNext in the store that boot was given; [] for a blank template or no store; null when unreadable'),
    reachedOs: nbool('an OS started; false: none did although the firmware\'s boot manager ran (it created boot options in the store); null: nothing shows the firmware got that far'),
    bootVariablesAfter: narr(str(), 'the boot options in the store after that boot; null when unreadable'),
  }, 'FW-6: the image booted with no boot option set up for it'),
  everyBootCleanExit: bool('every boot that started an OS and was told to power off ended with QEMU exiting 0 by itself; false when none did'),
  reset: obj({
    notExercised: nstr('why no boot exercised a guest reset (another route or guest agent); null when one did'),
    boot: nstr('the boot whose guest was told to reset the VM'),
    requested: nbool('its reset request (PSCI SYSTEM_RESET) reached the UART; null when none was exercised'),
    vmRestarted: nbool('the VM started again after the request: the hypervisor honoured SYSTEM_RESET; null when none was exercised'),
  }, 'ARCH-4: the guest-initiated reboot'),
  discovery: obj({
    boots: arr(obj({
      name: str(),
      acpi: bool(),
      configured: obj({ cpus: int('-smp'), memoryMiB: int('-m'), virtioBlockPci: int('virtio-blk-pci devices vmspec attached'), xenVbd: int('Xen PV block devices vmspec attached (--hypervisor xen)') }),
      guest: nobj({
        cpusPresent: nint('/sys/devices/system/cpu/present'),
        cpusOnline: nint(),
        memoryMiB: nint(),
        memorySource: enumOf(['System RAM in /proc/iomem', 'MemTotal in /proc/meminfo', null]),
        virtioBlockPci: nint('virtio block functions (1af4:1001, 1af4:1042) in /sys/bus/pci/devices'),
        xenVbd: nint('Xen PV block devices (vbd-*) in /sys/bus/xen/devices'),
      }, 'what the guest enumerated; null when the boot left no evidence'),
      cpusFound: nbool('every configured vCPU is present in the guest'),
      memoryPercent: nint('memory the guest found, % of the configured size'),
      devicesFound: nbool('the configured disks are on the guest\'s buses (virtio block on PCI, Xen vbd on xenbus)'),
      problems: arr(str()),
    })),
    judged: bool('every boot\'s evidence gave CPUs, memory and the devices of the buses its disks were put on'),
  }, 'PLAT-2: the configured VM against what each guest enumerated'),
});

/** What `vmspec boot` records (probes/host/facts.ts) is what the schema says: a compile error otherwise. */
const recordMatchesSchema: Exactly<HostBootFacts, FactsOf<typeof facts>> = true;
void recordMatchesSchema;

export const hostBootProbe = defineProbe({
  name: 'host.boot',
  summary: 'what the host saw during `vmspec boot`: serial output, QEMU exits, the variable store after power-off',
  input: 'boot',
  params: NO_PARAMS,
  facts,
  run(inputs): HostBootFacts {
    // Plain JSON by construction (boot/host-facts.ts builds it from parsed values).
    return JSON.parse(JSON.stringify(inputs.boot)) as HostBootFacts;
  },
});
