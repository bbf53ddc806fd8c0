import t from 'tap';
import fc from 'fast-check';
import { ParseError } from '../../../bytes/errors.js';
import { lzo1xDecompress } from '../../../probes/fs/lzo1x.js';

/**
 * The LZO1X decoder on hand-assembled streams (one per instruction kind of
 * Documentation/staging/lzo.rst) and on arbitrary bytes: it produces
 * exactly the bytes described, and anything else ends in a ParseError
 * without writing past its output. Kernel-written lzo extents are checked
 * against the kernel in btrfs.test.ts.
 */

const END = [0x11, 0x00, 0x00]; // M4 with distance 16384: end of stream
const decode = (bytes: number[], size = 64): string => {
  const out = new Uint8Array(size);
  const n = lzo1xDecompress(Uint8Array.from(bytes), out);
  return Buffer.from(out.subarray(0, n)).toString('latin1');
};

t.test('instructions as lzo.rst encodes them', async (t) => {
  // First byte 17+4: four literals, then the end marker.
  t.equal(decode([21, ...Buffer.from('abcd'), ...END]), 'abcd');
  // Four literals, then 64..127 (M2): copy 3+L bytes from distance (H<<3)+D+1: "abcd" + "bcd".
  t.equal(decode([21, ...Buffer.from('abcd'), 0x40 | (2 << 2), 0x00, ...END]), 'abcdbcd');
  // 001LLLLL (M3): length 2+L, LE16 distance<<2: L=5 → 7 bytes from distance 4, overlapping.
  t.equal(decode([21, ...Buffer.from('abcd'), 0x20 | 5, (3 << 2), 0x00, ...END]), 'abcdabcdabc');
  // A long literal run after a match (state 0): 0000LLLL with L=0 → 18 + following byte.
  t.equal(decode([18, 0x61, 0x40, 0x00, 0x00, 0x02, ...Buffer.from('x'.repeat(20)), ...END]), 'aaaa' + 'x'.repeat(20));
  // After 1..3 literals, 0000DDSS copies 2 bytes from (H<<2)+D+1, then S literals.
  t.equal(decode([19, ...Buffer.from('ab'), 0x01, 0x00, ...Buffer.from('z'), ...END]), 'abbbz');
});

t.test('damage is a ParseError, never an overrun', async (t) => {
  t.throws(() => decode([21, ...Buffer.from('abcd'), 0x40 | (7 << 2), 0x10, ...END]), ParseError, 'a distance before the output start');
  t.throws(() => decode([21, ...Buffer.from('abcd'), ...END], 3), ParseError, 'literals overflowing the output');
  t.throws(() => decode([21, 0x61]), ParseError, 'input ending inside literals');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 4096 }), (bytes, size) => {
    const out = new Uint8Array(size);
    try {
      return lzo1xDecompress(bytes, out) <= size;
    } catch (e) {
      return e instanceof ParseError;
    }
  }), { seed: 7, numRuns: 3000 });
});
