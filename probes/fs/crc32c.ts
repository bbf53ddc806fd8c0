/**
 * CRC-32C (Castagnoli), as xfs (and ext4's metadata_csum) checksum metadata:
 * reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF
 * (RFC 3720 §B.4). xfs stores the result little-endian (xfs_cksum.h).
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `data`; pass the previous result as `crc` to continue (crc32c(b, crc32c(a)) === crc32c(a ++ b)). */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
