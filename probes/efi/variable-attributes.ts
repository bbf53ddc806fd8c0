import { hex } from '../../bytes/hex.js';

/**
 * EFI_VARIABLE_* attribute bits (UEFI 2.10 §8.2.1 GetVariable(); MdePkg/Include/Uefi/UefiMultiPhase.h),
 * with the short names edk2's and the kernel's tools print.
 */
export const VARIABLE_ATTRIBUTES: readonly { bit: number; short: string; name: string }[] = [
  { bit: 0x01, short: 'NV', name: 'EFI_VARIABLE_NON_VOLATILE' },
  { bit: 0x02, short: 'BS', name: 'EFI_VARIABLE_BOOTSERVICE_ACCESS' },
  { bit: 0x04, short: 'RT', name: 'EFI_VARIABLE_RUNTIME_ACCESS' },
  { bit: 0x08, short: 'HR', name: 'EFI_VARIABLE_HARDWARE_ERROR_RECORD' },
  { bit: 0x10, short: 'AW', name: 'EFI_VARIABLE_AUTHENTICATED_WRITE_ACCESS' },
  { bit: 0x20, short: 'AT', name: 'EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS' },
  { bit: 0x40, short: 'AP', name: 'EFI_VARIABLE_APPEND_WRITE' },
  { bit: 0x80, short: 'EA', name: 'EFI_VARIABLE_ENHANCED_AUTHENTICATED_ACCESS' },
];

/** Short names of the bits set, in bit order; unknown bits as "0x…". */
export function attributeFlags(attributes: number): string[] {
  const out: string[] = [];
  let rest = attributes >>> 0;
  for (const a of VARIABLE_ATTRIBUTES) {
    if ((rest & a.bit) !== 0) {
      out.push(a.short);
      rest &= ~a.bit;
    }
  }
  if (rest !== 0) out.push(hex(rest >>> 0));
  return out;
}
