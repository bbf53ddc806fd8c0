import { ParseError } from '../../bytes/errors.js';

/**
 * LZO1X decompression, bounds-checked: every read of the input and every
 * copy into the fixed-size output is checked, so crafted data ends in a
 * ParseError, never an overrun. Instruction encoding as the Linux kernel
 * documents it (Documentation/staging/lzo.rst, "Instruction encoding").
 * Returns the bytes produced (at most out.length).
 */
export function lzo1xDecompress(input: Uint8Array, out: Uint8Array, structure = 'LZO1X stream'): number {
  let ip = 0;
  let op = 0;
  const fail = (why: string): never => {
    throw new ParseError(structure, ip, why);
  };
  const byte = (): number => (ip < input.length ? input[ip++]! : fail('input ends inside an instruction'));
  /** A run length continued by zero bytes (255 each) and a final non-zero byte. */
  const longLength = (base: number): number => {
    let n = 0;
    for (;;) {
      const b = byte();
      if (b !== 0) return n + base + b;
      n += 255;
      if (n > out.length + 255) fail('run length longer than the output');
    }
  };
  const literals = (n: number): void => {
    if (ip + n > input.length) fail(`${n} literals run past the input`);
    if (op + n > out.length) fail(`${n} literals overflow the ${out.length}-byte output`);
    out.set(input.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const match = (distance: number, length: number): void => {
    if (distance > op || distance <= 0) fail(`match distance ${distance} reaches before the output start`);
    if (op + length > out.length) fail(`match of ${length} overflows the ${out.length}-byte output`);
    // Byte by byte: a match may overlap what it produces (distance < length).
    for (let i = 0; i < length; i++, op++) out[op] = out[op - distance]!;
  };

  // state: literals copied by the previous instruction (0..3, or 4 for "4 or more").
  let state = 0;
  const first = input[0];
  if (first !== undefined && first > 17) {
    ip = 1;
    const n = first - 17;
    literals(n);
    state = n < 4 ? n : 4;
  }
  for (;;) {
    const t = byte();
    let s: number;
    if (t < 16) {
      if (state === 0) {
        // 0000LLLL: a long literal run.
        literals(3 + (t !== 0 ? t : longLength(15)));
        state = 4;
        continue;
      }
      const h = byte();
      s = t & 3;
      if (state < 4) match((h << 2) + ((t >> 2) & 3) + 1, 2); // 0000DDSS, 1 kB
      else match((h << 2) + ((t >> 2) & 3) + 2049, 3); // 0000DDSS, 2..3 kB
    } else if (t < 32) {
      // 0001HLLL, then LE16 DDDDDDDD DDDDDDSS
      const len = 2 + ((t & 7) !== 0 ? t & 7 : longLength(7));
      const lo = byte();
      const hi = byte();
      const d = (lo >> 2) | (hi << 6);
      s = lo & 3;
      const distance = 16384 + ((t & 8) << 11) + d;
      if (distance === 16384) return op; // the end-of-stream marker
      match(distance, len);
    } else if (t < 64) {
      // 001LLLLL, then LE16
      const len = 2 + ((t & 31) !== 0 ? t & 31 : longLength(31));
      const lo = byte();
      const hi = byte();
      s = lo & 3;
      match(((lo >> 2) | (hi << 6)) + 1, len);
    } else {
      // 01LDDDSS / 1LLDDDSS, then HHHHHHHH
      const h = byte();
      s = t & 3;
      match((h << 3) + ((t >> 2) & 7) + 1, (t >> 5) + 1);
    }
    literals(s);
    state = s;
  }
}
