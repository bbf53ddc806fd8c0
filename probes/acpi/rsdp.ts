import { ParseError } from '../../bytes/errors.js';
import { byteSum } from './header.js';
import { LeReader } from '../../bytes/le-reader.js';
import { latin1 } from '../../bytes/text.js';
import { hex } from '../../bytes/hex.js';

/** Root System Description Pointer (ACPI 6.5 §5.2.5.3, Table 5.3). */
export interface Rsdp {
  signature: string;
  checksum: number;
  /** The first 20 bytes (the ACPI 1.0 structure) sum to zero. */
  checksumValid: boolean;
  oemId: string;
  /** 0 for ACPI 1.0 (20 bytes, RSDT only); 2 for ACPI 2.0+ (36 bytes, XSDT). */
  revision: number;
  rsdtAddress: string;
  /** Length of the whole structure (revision 2+), null for revision 0. */
  length: number | null;
  xsdtAddress: string | null;
  extendedChecksum: number | null;
  /** All `length` bytes sum to zero (revision 2+). */
  extendedChecksumValid: boolean | null;
}

const RSDP_SIGNATURE = 'RSD PTR ';
const RSDP_V1_LENGTH = 20;
const RSDP_V2_LENGTH = 36;

export function parseRsdp(bytes: Uint8Array): Rsdp {
  const s = 'RSDP';
  if (bytes.length < RSDP_V1_LENGTH) throw new ParseError(s, 0, `${bytes.length} bytes: too short for the ${RSDP_V1_LENGTH}-byte RSDP`);
  const signature = latin1(bytes.subarray(0, 8));
  if (signature !== RSDP_SIGNATURE) throw new ParseError(s, 0, `signature is ${JSON.stringify(signature)}, expected "RSD PTR "`);
  const r = new LeReader(bytes, s, { span: 'table' });
  const revision = r.u8(15, 'Revision');
  const rsdp: Rsdp = {
    signature,
    checksum: r.u8(8, 'Checksum'),
    checksumValid: byteSum(bytes, 0, RSDP_V1_LENGTH) === 0,
    oemId: r.ascii(9, 6, 'OEMID'),
    revision,
    rsdtAddress: hex(r.u32(16, 'RsdtAddress')),
    length: null,
    xsdtAddress: null,
    extendedChecksum: null,
    extendedChecksumValid: null,
  };
  if (revision >= 2) {
    r.need(RSDP_V1_LENGTH, RSDP_V2_LENGTH - RSDP_V1_LENGTH, 'ACPI 2.0 RSDP fields');
    const length = r.u32(20, 'Length');
    if (length < RSDP_V2_LENGTH || length > bytes.length) {
      throw new ParseError(s, 20, `Length ${length} is not between ${RSDP_V2_LENGTH} and the ${bytes.length} bytes available`);
    }
    rsdp.length = length;
    rsdp.xsdtAddress = hex(r.u64(24, 'XsdtAddress'));
    rsdp.extendedChecksum = r.u8(32, 'Extended Checksum');
    rsdp.extendedChecksumValid = byteSum(bytes, 0, length) === 0;
  }
  return rsdp;
}
