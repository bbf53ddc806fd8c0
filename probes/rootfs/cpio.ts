import { ParseError } from '../../bytes/errors.js';
import { hexBytes } from '../../bytes/hex.js';

/**
 * cpio archives as initramfs uses them (Linux Documentation/driver-api/
 * early-userspace/buffer-format.rst): "newc" (magic 070701) and "crc"
 * (070702) headers of 110 ASCII bytes with 8-digit hex fields, name and data
 * each padded to 4 bytes; archives end with an entry named "TRAILER!!!" and
 * may be followed by zero padding and further archives. The portable "odc"
 * format (070707, 76 bytes, octal fields, no padding) is read too, as
 * `cpio -H odc` writes it, though the kernel itself unpacks only newc/crc.
 *
 * The reader is incremental: it takes the (decompressed) archive in chunks
 * and keeps only names, modes and sizes, so an initrd of hundreds of
 * megabytes is listed in constant memory.
 */

export type CpioFormat = 'newc' | 'crc' | 'odc';

export interface CpioEntry {
  /** Path as stored, without a leading "./" or "/". */
  name: string;
  mode: number;
  size: number;
}

export const TRAILER = 'TRAILER!!!';
/** Linux's PATH_MAX: a longer name is damage. */
const MAX_NAME = 4096;
/** Entries kept from one initrd (a MODULES=most Debian initrd has ~5,000). */
export const MAX_CPIO_ENTRIES = 500_000;
/** Largest single member accepted (the kernel's own limit is 4 GiB by the 8-hex-digit field). */
const MAX_MEMBER = 0xffffffff;

const NEWC_HEADER = 110;
const ODC_HEADER = 76;

interface Header {
  format: CpioFormat;
  headerSize: number;
  namesize: number;
  filesize: number;
  mode: number;
}

function ascii(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(b[off + i]!);
  return s;
}

function field(b: Uint8Array, off: number, len: number, radix: 8 | 16, what: string, base: number): number {
  const s = ascii(b, off, len);
  const re = radix === 16 ? /^[0-9A-Fa-f]+$/ : /^[0-7]+$/;
  if (!re.test(s)) throw new ParseError('cpio header', base, `${what} field "${s.replace(/[^\x20-\x7e]/g, '?')}" is not ${radix === 16 ? 'hexadecimal' : 'octal'}`);
  return parseInt(s, radix);
}

/** The 6-byte magic at `off`, or null when it is not a cpio header we read. */
export function cpioMagic(b: Uint8Array, off = 0): CpioFormat | null {
  if (off + 6 > b.length) return null;
  const m = ascii(b, off, 6);
  return m === '070701' ? 'newc' : m === '070702' ? 'crc' : m === '070707' ? 'odc' : null;
}

/** Header length for a format. */
function headerLength(format: CpioFormat): number {
  return format === 'odc' ? ODC_HEADER : NEWC_HEADER;
}

function decodeHeader(b: Uint8Array, off: number, format: CpioFormat, base: number): Header {
  if (format === 'odc') {
    // magic(6) dev(6) ino(6) mode(6) uid(6) gid(6) nlink(6) rdev(6) mtime(11) namesize(6) filesize(11)
    return {
      format,
      headerSize: ODC_HEADER,
      mode: field(b, off + 18, 6, 8, 'c_mode', base),
      namesize: field(b, off + 59, 6, 8, 'c_namesize', base),
      filesize: field(b, off + 65, 11, 8, 'c_filesize', base),
    };
  }
  // magic(6) ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check (8 hex each)
  const f = (i: number, what: string) => field(b, off + 6 + i * 8, 8, 16, what, base);
  return { format, headerSize: NEWC_HEADER, mode: f(1, 'c_mode'), filesize: f(6, 'c_filesize'), namesize: f(11, 'c_namesize') };
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function cleanName(raw: string): string {
  let n = raw;
  while (n.startsWith('./')) n = n.slice(2);
  while (n.startsWith('/')) n = n.slice(1);
  return n === '.' ? '' : n;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Incremental cpio lister. `push` the bytes as they come; `finish` at the
 * end of the stream. Malformed input throws ParseError with the offset in
 * the stream; `stopAtTrailer` ends the reader at the first trailer (for an
 * uncompressed archive followed by other data).
 */
export class CpioReader {
  readonly entries: CpioEntry[] = [];
  /** Archives completed (trailers seen). */
  archives = 0;
  /** Bytes consumed so far (offset in the stream). */
  offset = 0;
  /** True once stopAtTrailer met its trailer. */
  done = false;
  #pending: Uint8Array = new Uint8Array(0);
  #state: 'magic' | 'header' | 'name' | 'data' | 'between' = 'magic';
  #format: CpioFormat = 'newc';
  #header: Header | null = null;
  #skip = 0;
  #entryStart = 0;

  constructor(readonly opts: { stopAtTrailer?: boolean; maxEntries?: number } = {}) {}

  /** Feeds bytes; returns how many of this chunk were consumed (less than its length only once done). */
  push(chunk: Uint8Array): number {
    let pos = 0;
    while (pos < chunk.length && !this.done) {
      if (this.#state === 'data') {
        const n = Math.min(this.#skip, chunk.length - pos);
        this.#skip -= n;
        pos += n;
        this.offset += n;
        if (this.#skip === 0) this.#state = 'magic';
        continue;
      }
      if (this.#state === 'between') {
        // Zero padding between archives (the kernel skips any number of NULs).
        while (pos < chunk.length && chunk[pos] === 0) {
          pos++;
          this.offset++;
        }
        if (pos < chunk.length) this.#state = 'magic';
        continue;
      }
      const need = this.#need();
      const take = Math.min(need - this.#pending.length, chunk.length - pos);
      const merged = new Uint8Array(this.#pending.length + take);
      merged.set(this.#pending, 0);
      merged.set(chunk.subarray(pos, pos + take), this.#pending.length);
      this.#pending = merged;
      pos += take;
      this.offset += take;
      if (this.#pending.length === need) this.#advance();
    }
    return pos;
  }

  #need(): number {
    if (this.#state === 'magic') return 6;
    if (this.#state === 'header') return headerLength(this.#format);
    // The name, and for newc/crc the padding that aligns header + name to 4 bytes.
    const h = this.#header!;
    return h.namesize + (h.format === 'odc' ? 0 : pad4(h.headerSize + h.namesize));
  }

  #advance(): void {
    const b = this.#pending;
    if (this.#state === 'magic') {
      this.#entryStart = this.offset - 6;
      const f = cpioMagic(b, 0);
      if (!f) {
        const shown = hexBytes(b.subarray(0, 6), ' ');
        throw new ParseError('cpio header', this.#entryStart, `no cpio magic (070701/070702/070707) but bytes ${shown}`);
      }
      this.#format = f;
      this.#state = 'header';
      // Keep the magic: the header is decoded from its start.
      return;
    }
    if (this.#state === 'header') {
      const h = decodeHeader(b, 0, this.#format, this.#entryStart);
      if (h.namesize < 1 || h.namesize > MAX_NAME) throw new ParseError('cpio header', this.#entryStart, `c_namesize ${h.namesize} is outside 1..${MAX_NAME}`);
      if (h.filesize > MAX_MEMBER) throw new ParseError('cpio header', this.#entryStart, `c_filesize ${h.filesize} is too large`);
      this.#header = h;
      this.#pending = new Uint8Array(0);
      this.#state = 'name';
      return;
    }
    // name (plus its padding)
    const h = this.#header!;
    const rawName = b.subarray(0, h.namesize - 1);
    if (b[h.namesize - 1] !== 0) throw new ParseError('cpio header', this.#entryStart, 'name is not NUL-terminated');
    const name = utf8.decode(rawName);
    this.#pending = new Uint8Array(0);
    if (name === TRAILER) {
      this.archives++;
      if (this.opts.stopAtTrailer) {
        this.done = true;
        return;
      }
      this.#state = 'between';
      return;
    }
    if (this.entries.length >= (this.opts.maxEntries ?? MAX_CPIO_ENTRIES)) {
      throw new ParseError('cpio archive', this.#entryStart, `more than ${this.opts.maxEntries ?? MAX_CPIO_ENTRIES} entries`);
    }
    this.entries.push({ name: cleanName(name.includes('\ufffd') ? latin1.decode(rawName) : name), mode: h.mode, size: h.filesize });
    this.#skip = h.filesize + (h.format === 'odc' ? 0 : pad4(h.filesize));
    this.#state = this.#skip > 0 ? 'data' : 'magic';
  }

  /** At the end of the stream: a truncated member or an archive without its trailer is damage. */
  finish(): void {
    if (this.done) return;
    if (this.#state === 'between') return;
    if (this.#state === 'magic' && this.#pending.length === 0) {
      if (this.archives === 0 && this.entries.length > 0) {
        throw new ParseError('cpio archive', this.offset, `ends after ${this.entries.length} entries without a ${TRAILER} entry`);
      }
      if (this.archives === 0) throw new ParseError('cpio archive', this.offset, 'is empty');
      return;
    }
    throw new ParseError('cpio archive', this.#entryStart, `truncated: the stream ends inside an entry (${this.#state})`);
  }
}

/** Lists one uncompressed archive starting at `offset` of `bytes`; returns its entries and where it ended (after its trailer). */
export function readCpioAt(bytes: Uint8Array, offset: number): { entries: CpioEntry[]; end: number; format: CpioFormat } {
  const format = cpioMagic(bytes, offset);
  if (!format) throw new ParseError('cpio header', offset, 'no cpio magic');
  const r = new CpioReader({ stopAtTrailer: true });
  r.push(bytes.subarray(offset));
  if (!r.done) r.finish();
  if (!r.done) throw new ParseError('cpio archive', offset, `no ${TRAILER} entry before the end of the data`);
  return { entries: r.entries, end: offset + r.offset, format };
}
