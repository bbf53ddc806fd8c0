import { ParseError } from '../../bytes/errors.js';
import type { PeReading, PeSection } from '../image/pe.js';

/**
 * A Unified Kernel Image (UAPI Group "Unified Kernel Image" specification):
 * systemd-stub with the kernel in `.linux` and, optionally, the initrd in
 * `.initrd`, the kernel command line in `.cmdline`, os-release in `.osrel`
 * and the kernel release in `.uname`. A section's content is its raw data,
 * at most VirtualSize bytes (the rest of SizeOfRawData is file alignment
 * padding), and must lie inside the file.
 */

export interface UkiReading {
  /** `.cmdline` (trailing NULs and blanks removed), null without one. */
  cmdline: string | null;
  /** `.osrel` as key → value (quotes removed). */
  osRelease: Record<string, string> | null;
  /** `.uname`: the kernel release. */
  uname: string | null;
  linux: { offset: number; size: number };
  initrd: { offset: number; size: number } | null;
}

/** Text sections bigger than this are not read (a command line is at most a few KiB). */
const MAX_TEXT_SECTION = 64 * 1024;

function extent(s: PeSection, fileSize: number, what: string): { offset: number; size: number } {
  const size = s.virtualSize > 0 ? Math.min(s.virtualSize, s.sizeOfRawData) : s.sizeOfRawData;
  if (s.pointerToRawData + size > fileSize) {
    throw new ParseError(`${what}: section ${s.name}`, s.pointerToRawData, `${size} bytes at ${s.pointerToRawData} run past the end of the ${fileSize}-byte file`);
  }
  return { offset: s.pointerToRawData, size };
}

/**
 * What readUki reads a UKI through: its size and ranges of it, so the small
 * sections are read without the kernel (a UKI is mostly `.linux`, tens of MiB).
 */
export interface UkiFile {
  size: number;
  /** `length` bytes at `offset`, both within the file. */
  read(offset: number, length: number): Uint8Array;
}

/** A UKI held whole in memory, as a UkiFile. */
export function ukiBytes(bytes: Uint8Array): UkiFile {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** Reads a UKI's text sections and locates `.linux` and `.initrd`. Throws ParseError for a section outside the file or a missing `.linux`. */
export function readUki(file: UkiFile, pe: PeReading, what: string): UkiReading {
  const find = (name: string): PeSection | undefined => pe.sections.find((s) => s.name === name);
  const text = (name: string): string | null => {
    const s = find(name);
    if (!s) return null;
    const e = extent(s, file.size, what);
    const raw = new TextDecoder('utf-8', { fatal: false }).decode(file.read(e.offset, Math.min(e.size, MAX_TEXT_SECTION)));
    return raw.replace(/\0[\s\S]*$/, '');
  };
  const linux = find('.linux');
  if (!linux) throw new ParseError(what, -1, 'a unified kernel image has a .linux section; this one has none');
  const initrd = find('.initrd');
  const osrel = text('.osrel');
  return {
    cmdline: text('.cmdline')?.trim() ?? null,
    osRelease: osrel === null ? null : parseOsRelease(osrel),
    uname: text('.uname')?.trim() || null,
    linux: extent(linux, file.size, what),
    initrd: initrd ? extent(initrd, file.size, what) : null,
  };
}

/** os-release(5): KEY=value lines, values optionally quoted. */
function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n').slice(0, 200)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}
