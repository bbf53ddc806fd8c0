import { hexDigits } from './hex.js';

/**
 * GUIDs as UEFI stores them (UEFI 2.6 Appendix A, EFI_GUID): the first three
 * fields (Data1 u32, Data2 u16, Data3 u16) little-endian, the last 8 bytes
 * (Data4) in byte order. Shown as the canonical uppercase string
 * "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", as the UEFI spec and sgdisk print them.
 */

const HEX = Array.from({ length: 256 }, (_, i) => hexDigits(i, 2, 'upper'));

/** The 16 bytes at `offset` as a canonical uppercase GUID string. */
export function formatGuid(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 16 > bytes.length) throw new RangeError(`GUID at ${offset} outside a ${bytes.length}-byte buffer`);
  const h = (i: number): string => HEX[bytes[offset + i]!]!;
  return (
    h(3) + h(2) + h(1) + h(0) + '-' +
    h(5) + h(4) + '-' +
    h(7) + h(6) + '-' +
    h(8) + h(9) + '-' +
    h(10) + h(11) + h(12) + h(13) + h(14) + h(15)
  );
}

const GUID_RE = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

/** The on-disk (mixed-endian) 16 bytes of a GUID string. Throws on a malformed string. */
export function guidBytes(guid: string): Uint8Array {
  if (!isGuid(guid)) throw new Error(`not a GUID: ${JSON.stringify(guid)}`);
  const hex = guid.replace(/-/g, '');
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  // Data1, Data2, Data3 are little-endian on disk.
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
