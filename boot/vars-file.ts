import { ParseError } from '../bytes/errors.js';
import type { VarsFileFacts } from '../probes/host/facts.js';
import { findLiveVariable, liveVariables, readVarStoreFile, type VarStore } from '../probes/efi/varstore.js';
// collect.sh's test variable: VmspecNonce<N> under this vendor GUID.
import { VMSPEC_GUID } from '../probes/evidence/efivars.probe.js';

const NON_VOLATILE = 0x1;
// UEFI 2.6 §3.3 Globally Defined Variables: EFI_GLOBAL_VARIABLE.
const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
// UEFI 2.6 §3.1.1 Boot Manager Programming: the boot options and the variables that order them.
const BOOT_VARIABLE = /^(Boot[0-9A-F]{4}|BootOrder|BootNext)$/;

/** The boot-manager variables (Boot####, BootOrder, BootNext) GetVariable would return from a store, in store order. */
function bootVariables(store: VarStore): string[] {
  return liveVariables(store).filter((v) => v.guid === EFI_GLOBAL_VARIABLE && BOOT_VARIABLE.test(v.name)).map((v) => v.name);
}

/**
 * The persistence nonce as the host finds it in an instance's variable-store
 * file after power-off: parsed as edk2 lays the store out (probes/efi), the
 * live copy (what GetVariable would return), never trusting the guest.
 */
export function varsFileFacts(varsPath: string, nonce: string): VarsFileFacts {
  const unreadable = (problem: string, layoutKnown = true): VarsFileFacts => ({ nonceVariable: 'unreadable', contentMatchesNonce: null, nonVolatile: null, storeFormat: null, problem, layoutKnown, bootVariables: null });
  let reading;
  try {
    reading = readVarStoreFile(varsPath);
  } catch (e) {
    // No "_FVH" volume at all: another firmware's store layout, which the host cannot read (edk2-specific), not a damaged one.
    if (e instanceof ParseError && e.structure === 'EFI_FIRMWARE_VOLUME_HEADER' && e.offset === 40) return unreadable(`${e.message}; the host reads only edk2's store layout, so V2-FW-VARS-PERSIST (the guest's own view) decides`, false);
    if (e instanceof ParseError) return unreadable(e.message);
    return unreadable(`cannot read ${varsPath}: ${(e as Error).message}`);
  }
  if (reading.kind === 'blank') {
    // edk2 formats the store on first boot: a blank store afterwards means the firmware never wrote it.
    return { nonceVariable: 'absent', contentMatchesNonce: null, nonVolatile: null, storeFormat: 'blank (never formatted by the firmware)', problem: null, layoutKnown: true, bootVariables: [] };
  }
  const storeFormat = reading.store.authenticated ? 'authenticated variable headers' : 'plain variable headers';
  const boot = bootVariables(reading);
  const v = findLiveVariable(reading, `VmspecNonce${nonce}`, VMSPEC_GUID);
  if (!v) return { nonceVariable: 'absent', contentMatchesNonce: null, nonVolatile: null, storeFormat, problem: null, layoutKnown: true, bootVariables: boot };
  return {
    nonceVariable: 'present',
    contentMatchesNonce: Buffer.from(v.data).toString('utf8') === nonce,
    nonVolatile: (v.attributes & NON_VOLATILE) !== 0,
    storeFormat,
    problem: null,
    layoutKnown: true,
    bootVariables: boot,
  };
}
