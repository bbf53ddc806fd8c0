/**
 * A minimal ustar writer for inputs no real tar tool will write on
 * request (hostile names, lying sizes, device members) and for in-memory
 * bundles. Real archives come from GNU tar and collect.sh elsewhere.
 */

export interface TarMember {
  name: string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3'/'4' devices, '5' directory, '6' fifo. */
  type?: string;
  data?: Uint8Array | string;
  linkname?: string;
  /** Size field to write instead of the data's length (a size that lies). */
  sizeField?: number;
}

const BLOCK = 512;

function header(m: TarMember, size: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (off: number, len: number, s: string): void => void h.set(Buffer.from(s, 'utf8').subarray(0, len), off);
  const oct = (off: number, len: number, n: number): void => put(off, len, `${n.toString(8).padStart(len - 1, '0')}\0`);
  put(0, 100, m.name);
  oct(100, 8, m.type === '5' ? 0o755 : 0o644);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, size);
  oct(136, 12, 1700000000);
  put(148, 8, '        ');
  put(156, 1, m.type ?? '0');
  put(157, 100, m.linkname ?? '');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  sealTarHeader(h, 0);
  return h;
}

/** Recompute a ustar header's checksum in place (the sum of its bytes, the checksum field read as spaces). */
export function sealTarHeader(b: Uint8Array, at: number): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (b[at + i] ?? 0);
  b.set(Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `, 'latin1'), at + 148);
}

export function tarOf(members: readonly TarMember[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    const data = typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : (m.data ?? new Uint8Array(0));
    parts.push(header(m, m.sizeField ?? data.length));
    if (data.length > 0) {
      const padded = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
      padded.set(data);
      parts.push(padded);
    }
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Offsets of the header blocks of a well-formed archive (to aim mutations at them). */
export function tarHeaderOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let off = 0; off + BLOCK <= b.length;) {
    const h = b.subarray(off, off + BLOCK);
    if (h.every((x) => x === 0)) break;
    out.push(off);
    const size = parseInt(Buffer.from(h.subarray(124, 136)).toString('latin1').replace(/[\0 ]+$/, '') || '0', 8);
    const type = String.fromCharCode(h[156] || 0x30);
    const hasData = ['0', '7', 'x', 'g', 'L', 'K'].includes(type);
    off += BLOCK + (hasData ? Math.ceil(size / BLOCK) * BLOCK : 0);
  }
  return out;
}
