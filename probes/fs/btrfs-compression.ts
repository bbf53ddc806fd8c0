import { zlib } from '../../bytes/lazy-builtins.js';
import { zstdFrame } from '../../bytes/zstd.js';
import { ParseError } from '../../bytes/errors.js';
import { BTRFS_COMPRESS_LZO, BTRFS_COMPRESS_NONE, BTRFS_COMPRESS_ZLIB, BTRFS_COMPRESS_ZSTD } from './btrfs-items.js';
import { lzo1xDecompress } from './lzo1x.js';

/** The kernel compresses at most BTRFS_MAX_UNCOMPRESSED (128 KiB) per extent; anything claiming more is refused. */
export const BTRFS_MAX_UNCOMPRESSED = 128 * 1024;

/**
 * An extent's bytes decompressed to exactly `ramBytes` (btrfs docs,
 * "Compression"): zlib streams, zstd frames, or btrfs's own LZO framing.
 * A stream that ends early leaves zeros, as the kernel does.
 */
export function decompressExtent(compression: number, data: Uint8Array, ramBytes: number, sectorsize: number, what: string): Uint8Array {
  if (compression === BTRFS_COMPRESS_NONE) return data;
  if (ramBytes > BTRFS_MAX_UNCOMPRESSED || ramBytes < 0) throw new ParseError(what, -1, `compressed extent claims ${ramBytes} bytes uncompressed (at most ${BTRFS_MAX_UNCOMPRESSED})`);
  const out = new Uint8Array(ramBytes);
  try {
    if (compression === BTRFS_COMPRESS_ZLIB) {
      // The kernel stops at ram_bytes; the sector padding after the stream is never read.
      const got = zlib().inflateSync(data, { maxOutputLength: Math.max(ramBytes, 1), finishFlush: zlib().constants.Z_SYNC_FLUSH });
      out.set(got.subarray(0, ramBytes));
    } else if (compression === BTRFS_COMPRESS_ZSTD) {
      out.set(zstdFrame(data, ramBytes, what).subarray(0, ramBytes));
    } else if (compression === BTRFS_COMPRESS_LZO) {
      lzoFramed(data, out, sectorsize, what);
    } else {
      throw new ParseError(what, -1, `unknown compression ${compression}`);
    }
  } catch (e) {
    if (e instanceof ParseError) throw e;
    throw new ParseError(what, -1, `${compression === BTRFS_COMPRESS_ZLIB ? 'zlib' : 'zstd'} data is corrupt: ${(e as Error).message}`);
  }
  return out;
}

/**
 * btrfs's LZO framing (fs/btrfs/lzo.c): a LE32 total length, then segments
 * of LE32 length + LZO1X data, each decompressing to at most one sector; a
 * segment header never straddles a sector boundary (the rest is padding).
 */
function lzoFramed(d: Uint8Array, out: Uint8Array, sectorsize: number, what: string): void {
  const le32 = (o: number): number => {
    if (o + 4 > d.length) throw new ParseError(what, o, 'lzo framing runs past the extent');
    return (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16)) + d[o + 3]! * 0x1000000;
  };
  const total = le32(0);
  if (total > d.length || total < 4) throw new ParseError(what, 0, `lzo total length ${total} does not fit the ${d.length}-byte extent`);
  let o = 4;
  let produced = 0;
  while (o < total && produced < out.length) {
    const left = sectorsize - (o % sectorsize);
    if (left < 4) o += left; // padding to the next sector
    if (o >= total) break;
    const len = le32(o);
    o += 4;
    if (len === 0 || o + len > total) throw new ParseError(what, o - 4, `lzo segment of ${len} bytes does not fit`);
    const chunk = out.subarray(produced, Math.min(out.length, produced + sectorsize));
    produced += lzo1xDecompress(d.subarray(o, o + len), chunk, `${what} lzo segment at ${o}`);
    o += len;
  }
}
