import { decompress } from 'fzstd';
import { ParseError } from './errors.js';

/**
 * The first zstd frame of `data` (RFC 8878), decoded into at most
 * `maxBytes`: compressed extents and clusters hold one frame followed by
 * padding. Throws ParseError (naming `what`) for anything malformed.
 */
export function zstdFrame(data: Uint8Array, maxBytes: number, what: string): Uint8Array {
  const end = zstdFrameEnd(data, what);
  let out: Uint8Array;
  try {
    out = decompress(data.subarray(0, end), new Uint8Array(maxBytes));
  } catch (e) {
    throw new ParseError(what, -1, `zstd data is corrupt: ${(e as Error).message}`);
  }
  // Given an output buffer, the decoder returns all of it: the frame header's content size says how much is data.
  const size = frameContentSize(data);
  return size !== null && size < out.length ? out.subarray(0, size) : out;
}

/** Frame_Content_Size (RFC 8878 3.1.1.1.4), or null when the header does not carry it. */
function frameContentSize(d: Uint8Array): number | null {
  const fhd = d[4]!;
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (fcsBytes === 0) return null;
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  let v = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) v = v * 256 + (d[at + i] ?? 0);
  return fcsBytes === 2 ? v + 256 : v;
}

/**
 * Where the first zstd frame ends (RFC 8878, "Frames"): btrfs and qcow2 write one
 * frame and pad it to a sector with bytes the decoder must not read.
 */
function zstdFrameEnd(d: Uint8Array, what: string): number {
  const fail = (why: string): never => {
    throw new ParseError(what, -1, `zstd frame: ${why}`);
  };
  if (d.length < 6 || d[0] !== 0x28 || d[1] !== 0xb5 || d[2] !== 0x2f || d[3] !== 0xfd) fail('bad magic');
  const fhd = d[4]!;
  const singleSegment = (fhd >> 5) & 1;
  const dictIdBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsFlag = fhd >> 6;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  let o = 5 + (singleSegment ? 0 : 1) + dictIdBytes + fcsBytes;
  for (;;) {
    if (o + 3 > d.length) fail('block header runs past the extent');
    const h = d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16);
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) fail('reserved block type');
    o += 3 + (type === 1 ? 1 : size);
    if (o > d.length) fail('block runs past the extent');
    if (last) break;
  }
  if ((fhd >> 2) & 1) o += 4; // Content_Checksum
  return Math.min(o, d.length);
}

