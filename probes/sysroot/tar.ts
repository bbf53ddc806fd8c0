import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { FileByteSource, type ByteSource } from '../../bytes/byte-source.js';
import { BundleSysroot, type BundleNode } from './bundle.js';

/**
 * A tar archive (ustar, pax, GNU long names) read IN PLACE through a
 * ByteSource: a .tar file, a raw evidence disk the guest wrote the tar to
 * (anything after the end-of-archive marker is ignored), or bytes in memory.
 * Nothing is ever extracted.
 *
 * Hostile input is refused as a whole, with a ParseError naming the member
 * and offset: absolute names, ".." components, device/fifo members, hard
 * links to anything but an earlier regular member, duplicate names, a name
 * used both as file and directory, sizes running past the end, bad header
 * checksums, truncation. Caps bound member size, member count and the total.
 */

export interface TarLimits {
  /** Largest member (default 64 MiB, the ByteSource read cap). */
  maxMemberSize: number;
  /** Most members, directories included (default 100 000). */
  maxMembers: number;
  /** Sum of member sizes (default 1 GiB). */
  maxTotalSize: number;
  /** Largest pax extended header or GNU long name record (default 1 MiB). */
  maxMetaSize: number;
  /** Longest member or link name (default 4096). */
  maxNameLength: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxMemberSize: 64 * 1024 * 1024,
  maxMembers: 100_000,
  maxTotalSize: 1024 * 1024 * 1024,
  maxMetaSize: 1024 * 1024,
  maxNameLength: 4096,
};

export type TarEntry =
  | { type: 'file'; name: string; size: number; dataOffset: number; headerOffset: number; mode: number; mtime: number }
  | { type: 'dir'; name: string; headerOffset: number; mode: number; mtime: number }
  | { type: 'symlink'; name: string; target: string; headerOffset: number; mode: number; mtime: number };

export interface TarIndex {
  /** Members by normalized name ("sys/firmware/fdt"); hard links appear as files sharing data. */
  entries: Map<string, TarEntry>;
  /** Directory name ("" = root) → child names (explicit and implied). */
  children: Map<string, Set<string>>;
  /** Offset just past the end-of-archive marker. */
  endOffset: number;
  /** Members counted, directories included. */
  members: number;
  totalSize: number;
}

const BLOCK = 512;
const utf8 = new TextDecoder('utf-8');

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function cstr(b: Uint8Array, start: number, len: number): Uint8Array {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

/** Numeric header field: octal (NUL/space padded) or GNU base-256. */
function num(b: Uint8Array, start: number, len: number, what: string, off: number): number {
  const field = b.subarray(start, start + len);
  const first = field[0] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new ParseError('tar header', off, `${what} is negative (base-256)`);
    let v = first & 0x7f;
    for (let i = 1; i < field.length; i++) {
      v = v * 256 + (field[i] ?? 0);
      if (!Number.isSafeInteger(v)) throw new ParseError('tar header', off, `${what} is too large`);
    }
    return v;
  }
  let i = 0;
  while (i < field.length && field[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < field.length; i++) {
    const c = field[i] as number;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw new ParseError('tar header', off, `${what} field is not octal`);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < field.length; i++) {
    const c = field[i] as number;
    if (c !== 0 && c !== 0x20) throw new ParseError('tar header', off, `${what} field has junk after its number`);
  }
  if (digits === 0) return 0;
  return v;
}

function checksumOk(h: Uint8Array, off: number): boolean {
  const stored = num(h, 148, 8, 'checksum', off);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** Normalize a member name; refuse absolute paths and "..". Returns components. */
function memberPath(raw: string, off: number, what: string, limits: TarLimits): string[] {
  if (raw.length > limits.maxNameLength) throw new ParseError('tar member', off, `${what} is longer than ${limits.maxNameLength} characters`);
  if (raw.includes('\0')) throw new ParseError('tar member', off, `${what} ${JSON.stringify(raw)} contains a NUL byte`);
  if (raw.startsWith('/')) throw new ParseError('tar member', off, `${what} ${JSON.stringify(raw)} is absolute: refused`);
  const parts: string[] = [];
  for (const p of raw.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw new ParseError('tar member', off, `${what} ${JSON.stringify(raw)} contains "..": refused`);
    parts.push(p);
  }
  return parts;
}

interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
}

function parsePax(data: Uint8Array, off: number, global: boolean): PaxOverrides {
  const out: PaxOverrides = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const sp = data.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 10) throw new ParseError('pax header', off, `malformed record at byte ${pos}`);
    const lenText = utf8.decode(data.subarray(pos, sp));
    if (!/^[0-9]+$/.test(lenText)) throw new ParseError('pax header', off, `record length ${JSON.stringify(lenText)} is not decimal`);
    const len = Number(lenText);
    if (len <= sp - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new ParseError('pax header', off, `record at byte ${pos} has a bad length ${len}`);
    }
    const rec = data.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new ParseError('pax header', off, `record at byte ${pos} has no "="`);
    const key = utf8.decode(rec.subarray(0, eq));
    const value = utf8.decode(rec.subarray(eq + 1));
    if (key.startsWith('GNU.sparse.')) throw new UnsupportedError(`pax header at offset ${off}: sparse members are not supported`);
    if (!global) {
      if (key === 'path') out.path = value;
      else if (key === 'linkpath') out.linkpath = value;
      else if (key === 'size') {
        if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new ParseError('pax header', off, `size ${JSON.stringify(value)} is not a valid decimal size`);
        out.size = Number(value);
      }
    }
    pos += len;
  }
  return out;
}

/** Read the member index of a tar. Throws ParseError / UnsupportedError on anything hostile. */
export function readTarIndex(src: ByteSource, limits: TarLimits = DEFAULT_TAR_LIMITS): TarIndex {
  const entries = new Map<string, TarEntry>();
  const children = new Map<string, Set<string>>([['', new Set()]]);
  let members = 0;
  let totalSize = 0;
  let off = 0;
  let pax: PaxOverrides = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let metaPending = false;

  const addChild = (parts: string[], headerOffset: number): void => {
    // Every ancestor must be (or become) a directory, never a file or link.
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const name = parts[i] as string;
      let set = children.get(dir);
      if (set === undefined) {
        const existing = entries.get(dir);
        if (existing !== undefined && existing.type !== 'dir') {
          throw new ParseError('tar member', headerOffset, `${JSON.stringify(parts.join('/'))} is below ${JSON.stringify(dir)}, which is a ${existing.type}: refused`);
        }
        set = new Set();
        children.set(dir, set);
      }
      set.add(name);
    }
  };

  for (;;) {
    if (off + BLOCK > src.size) {
      throw new ParseError('tar archive', off, `truncated: no end-of-archive marker before the end of ${src.name} (size ${src.size})`);
    }
    const h = src.read(off, BLOCK);
    if (isZero(h)) {
      if (metaPending) throw new ParseError('tar archive', off, 'end of archive right after an extended header');
      if (off + 2 * BLOCK > src.size || isZero(src.read(off + BLOCK, BLOCK))) {
        return { entries, children, endOffset: Math.min(off + 2 * BLOCK, src.size), members, totalSize };
      }
      throw new ParseError('tar archive', off, 'a zero block inside the archive (corrupt or concatenated archive)');
    }
    if (!checksumOk(h, off)) throw new ParseError('tar header', off, 'header checksum mismatch (corrupt, truncated or not a tar)');
    const magic = utf8.decode(h.subarray(257, 263));
    const gnu = magic === 'ustar ' && h[263] === 0x20;
    if (magic !== 'ustar\0' && !gnu) throw new UnsupportedError(`tar header at offset ${off}: not a ustar/pax/GNU archive (pre-POSIX tar is not supported)`);

    const typeByte = h[156] ?? 0;
    const type = typeByte === 0 ? '0' : String.fromCharCode(typeByte);
    const headerSize = num(h, 124, 12, 'size', off);
    const isMeta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    const size = isMeta ? headerSize : (pax.size ?? headerSize);
    const dataOffset = off + BLOCK;
    const hasData = isMeta || type === '0' || type === '7';
    const next = dataOffset + (hasData ? Math.ceil(size / BLOCK) * BLOCK : 0);

    if (isMeta) {
      if (size > limits.maxMetaSize) throw new ParseError('tar header', off, `extended header of ${size} bytes exceeds the ${limits.maxMetaSize}-byte cap`);
      if (dataOffset + size > src.size) throw new ParseError('tar header', off, `extended header claims ${size} bytes but the archive ends at ${src.size}`);
      const data = src.read(dataOffset, size);
      if (type === 'x') pax = { ...pax, ...parsePax(data, off, false) };
      else if (type === 'g') parsePax(data, off, true);
      else {
        const text = utf8.decode(cstr(data, 0, data.length));
        if (type === 'L') longName = text;
        else longLink = text;
      }
      metaPending = true;
      off = next;
      continue;
    }

    if (++members > limits.maxMembers) throw new ParseError('tar archive', off, `more than ${limits.maxMembers} members`);
    let rawName: string;
    if (pax.path !== undefined) rawName = pax.path;
    else if (longName !== undefined) rawName = longName;
    else {
      const name = utf8.decode(cstr(h, 0, 100));
      const prefix = gnu ? '' : utf8.decode(cstr(h, 345, 155));
      rawName = prefix ? `${prefix}/${name}` : name;
    }
    const rawLink = pax.linkpath ?? longLink ?? utf8.decode(cstr(h, 157, 100));
    pax = {};
    longName = undefined;
    longLink = undefined;
    metaPending = false;

    const parts = memberPath(rawName, off, 'member name', limits);
    const name = parts.join('/');
    const mode = num(h, 100, 8, 'mode', off);
    const mtime = num(h, 136, 12, 'mtime', off);
    const shown = JSON.stringify(rawName);

    if (type === '3' || type === '4') throw new ParseError('tar member', off, `${shown} is a device node: refused`);
    if (type === '6') throw new ParseError('tar member', off, `${shown} is a fifo: refused`);
    if (!['0', '7', '5', '2', '1'].includes(type)) {
      throw new UnsupportedError(`tar member ${shown} at offset ${off}: type ${JSON.stringify(type)} is not supported`);
    }
    if (type !== '0' && type !== '7' && size !== 0) {
      throw new ParseError('tar member', off, `${shown} (type ${type}) claims ${size} data bytes; links and directories carry none`);
    }
    if (name === '') {
      if (type !== '5') throw new ParseError('tar member', off, `${shown} names the archive root but is not a directory`);
      off = next;
      continue;
    }
    if (entries.has(name)) throw new ParseError('tar member', off, `duplicate member ${JSON.stringify(name)}: refused`);
    if (type !== '5' && children.has(name)) {
      throw new ParseError('tar member', off, `${shown} is not a directory but other members lie below it: refused`);
    }

    let entry: TarEntry;
    if (type === '0' || type === '7') {
      if (size > limits.maxMemberSize) throw new ParseError('tar member', off, `${shown} is ${size} bytes, over the ${limits.maxMemberSize}-byte cap`);
      if (dataOffset + size > src.size) {
        throw new ParseError('tar member', off, `${shown} claims ${size} bytes but the archive ends at ${src.size}`);
      }
      totalSize += size;
      if (totalSize > limits.maxTotalSize) throw new ParseError('tar archive', off, `members total more than ${limits.maxTotalSize} bytes`);
      entry = { type: 'file', name, size, dataOffset, headerOffset: off, mode, mtime };
    } else if (type === '5') {
      entry = { type: 'dir', name, headerOffset: off, mode, mtime };
    } else if (type === '2') {
      if (rawLink === '') throw new ParseError('tar member', off, `symlink ${shown} has an empty target`);
      if (rawLink.length > limits.maxNameLength) throw new ParseError('tar member', off, `symlink ${shown} target is too long`);
      if (rawLink.includes('\0')) throw new ParseError('tar member', off, `symlink ${shown} target contains a NUL byte`);
      entry = { type: 'symlink', name, target: rawLink, headerOffset: off, mode, mtime };
    } else {
      // Hard link: only to an earlier regular member of this archive.
      let targetParts: string[];
      try {
        targetParts = memberPath(rawLink, off, 'hard link target', limits);
      } catch (e) {
        if (e instanceof ParseError) throw new ParseError('tar member', off, `hard link ${shown} -> ${JSON.stringify(rawLink)} points outside the bundle: refused`);
        throw e;
      }
      const target = entries.get(targetParts.join('/'));
      if (target === undefined || target.type !== 'file') {
        throw new ParseError('tar member', off, `hard link ${shown} -> ${JSON.stringify(rawLink)} is not to an earlier regular member: refused`);
      }
      entry = { ...target, name, headerOffset: off, mode, mtime };
    }
    addChild(parts, off);
    entries.set(name, entry);
    if (entry.type === 'dir' && !children.has(name)) children.set(name, new Set());
    off = next;
  }
}

/** True when the first block of `src` looks like a tar header (ustar magic + valid checksum). */
export function looksLikeTar(src: ByteSource): boolean {
  if (src.size < BLOCK) return false;
  const h = src.read(0, BLOCK);
  const magic = utf8.decode(h.subarray(257, 263));
  if (magic !== 'ustar\0' && magic !== 'ustar ') return false;
  try {
    return checksumOk(h, 0);
  } catch {
    return false;
  }
}

/**
 * An evidence bundle as a tar, read in place. Pass a path (opened read-only,
 * closed by close()) or any ByteSource (a raw evidence disk, bytes from the
 * console).
 */
export class TarSysroot extends BundleSysroot {
  readonly kind = 'tar' as const;
  readonly index: TarIndex;
  readonly #src: ByteSource;
  readonly #owned: FileByteSource | undefined;

  constructor(source: string | ByteSource, limits: TarLimits = DEFAULT_TAR_LIMITS) {
    const owned = typeof source === 'string' ? new FileByteSource(source) : undefined;
    const src = owned ?? (source as ByteSource);
    super(src.name);
    this.#src = src;
    this.#owned = owned;
    try {
      this.index = readTarIndex(src, limits);
      this.loadManifest();
    } catch (e) {
      owned?.close();
      throw e;
    }
  }

  protected lstatNode(components: readonly string[]): BundleNode | undefined {
    const key = components.join('/');
    const e = this.index.entries.get(key);
    if (e === undefined) return this.index.children.has(key) ? { type: 'dir' } : undefined;
    if (e.type === 'file') return { type: 'file', size: e.size };
    if (e.type === 'dir') return { type: 'dir' };
    return { type: 'symlink', target: e.target };
  }

  protected readNode(components: readonly string[], size: number): Uint8Array {
    const e = this.index.entries.get(components.join('/'));
    if (e === undefined || e.type !== 'file' || e.size !== size) throw new ParseError(this.name, -1, `${components.join('/')}: not a regular member`);
    // Copy: a BufferByteSource returns a view, and callers may keep the bytes.
    return new Uint8Array(this.#src.read(e.dataOffset, e.size));
  }

  protected listNode(components: readonly string[]): string[] {
    return [...(this.index.children.get(components.join('/')) ?? [])];
  }

  protected allFiles(): string[] {
    return [...this.index.entries.values()].filter((e) => e.type === 'file').map((e) => e.name).sort();
  }

  close(): void {
    this.#owned?.close();
  }
}
