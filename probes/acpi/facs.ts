import { ParseError } from '../../bytes/errors.js';
import { hex } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';
import { latin1 } from '../../bytes/text.js';

/**
 * Firmware ACPI Control Structure (ACPI 6.5 §5.2.10). It has a
 * Signature and a Length but not the common table header: no Revision, no
 * OEM fields and no Checksum, so nothing in it is checksummed.
 */
export interface Facs {
  signature: 'FACS';
  /** Length of the whole structure; the spec fixes it at 64. */
  length: number;
  hardwareSignature: number;
  firmwareWakingVector: number;
  globalLock: number;
  flags: number;
  /** X_Firmware_Waking_Vector. */
  xFirmwareWakingVector: string;
  version: number;
  ospmFlags: number;
}

/** The FACS Length the spec defines (ACPI 6.5 §5.2.10: "64"). */
export const FACS_LENGTH = 64;

export function parseFacs(bytes: Uint8Array): Facs {
  if (bytes.length < 8) throw new ParseError('FACS', 0, `${bytes.length} bytes: too short for Signature and Length`);
  const signature = latin1(bytes.subarray(0, 4));
  if (signature !== 'FACS') throw new ParseError('FACS', 0, `signature is ${JSON.stringify(signature)}, expected "FACS"`);
  const r = new LeReader(bytes, 'FACS', { span: 'table' });
  const length = r.u32(4, 'Length');
  if (length < FACS_LENGTH) throw new ParseError('FACS', 4, `Length ${length} is smaller than the ${FACS_LENGTH} bytes the FACS is defined to be`);
  if (length > bytes.length) throw new ParseError('FACS', 4, `Length ${length} is larger than the ${bytes.length} bytes available`);
  return {
    signature,
    length,
    hardwareSignature: r.u32(8, 'Hardware Signature'),
    firmwareWakingVector: r.u32(12, 'Firmware Waking Vector'),
    globalLock: r.u32(16, 'Global Lock'),
    flags: r.u32(20, 'Flags'),
    xFirmwareWakingVector: hex(r.u64(24, 'X_Firmware_Waking_Vector')),
    version: r.u8(32, 'Version'),
    ospmFlags: r.u32(36, 'OSPM Flags'),
  };
}
