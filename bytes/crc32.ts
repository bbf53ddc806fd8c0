/**
 * The two CRC-32s binary formats use, both reflected with initial value and
 * final XOR 0xFFFFFFFF, table-driven:
 * - crc32: the IEEE 802.3 polynomial (reflected 0xEDB88320), as GPT uses it
 *   (UEFI 2.6 §5.3.2 and Appendix) and edk2's fault-tolerant-write header;
 *   the same function as zlib's crc32.
 * - crc32c: the Castagnoli polynomial (reflected 0x82F63B78), as btrfs, xfs
 *   (v5 metadata) and ext4 (metadata_csum) use it; RFC 3720 §B.4.
 *
 * The table and the running value are signed 32-bit integers, made unsigned
 * only at the end: a verify runs this mostly in V8's interpreter, where an
 * unsigned value of 2^31 or more is a heap-allocated number, so a Uint32Array
 * table allocated on most bytes (GPT's 16 KiB entry array cost 3.5× as much).
 */
import { loadedZlib } from './lazy-builtins.js';

function table(polynomial: number): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

let ieee: Int32Array | undefined;
let castagnoli: Int32Array | undefined;

function update(t: Int32Array, data: Uint8Array, crc: number): number {
  let c = ~crc;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-32 (IEEE) of `data`. Pass the previous result as `crc` to continue over
 * several pieces (crc32(b, crc32(a)) === crc32(a ++ b)).
 */
export function crc32(data: Uint8Array, crc = 0): number {
  // node:zlib's, native, when the run has loaded it already (a qcow2 image's clusters): not loaded for this alone.
  const z = loadedZlib();
  if (z && typeof z.crc32 === 'function') return z.crc32(data, crc);
  return crc32Table(data, crc);
}

/** crc32 by the table, whatever is loaded. */
export function crc32Table(data: Uint8Array, crc = 0): number {
  return update((ieee ??= table(0xedb88320)), data, crc);
}

/** CRC-32C (Castagnoli) of `data`; continues over pieces like crc32. */
export function crc32c(data: Uint8Array, crc = 0): number {
  return update((castagnoli ??= table(0x82f63b78)), data, crc);
}
