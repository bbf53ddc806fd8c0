/**
 * CRC-32 as GPT uses it (UEFI 2.6 §5.3.2, "CRC32 ... as specified in
 * Appendix: the IEEE 802.3 polynomial"): reflected, polynomial 0xEDB88320,
 * initial value and final XOR 0xFFFFFFFF. Same function as zlib's crc32.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 of `data`. Pass the previous result as `crc` to continue over
 * several pieces (crc32(b, crc32(a)) === crc32(a ++ b)).
 */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** "0x1a2b3c4d": how CRCs appear in facts (lowercase, 8 digits). */
export function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}
