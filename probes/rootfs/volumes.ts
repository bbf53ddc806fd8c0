import { isReadError } from '../../bytes/errors.js';
import { FsError } from '../fs/filesystem.js';
import { asByteSource, type ByteSource } from '../../bytes/byte-source.js';
import type { FatVolume } from '../image/fat.js';
import { openFat } from '../image/fat.js';
import type { GrubVolume } from './grub-eval.js';
import type { VolumeFilesystem } from './rootfs.js';
import { hexDigits } from '../../bytes/hex.js';

/** ext, xfs or btrfs UUID as GRUB prints and compares it: 8-4-4-4-12 lower-case hex. */
export function dashedUuid(hex32: string): string {
  const h = hex32.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** FAT volume serial as GRUB and blkid show it: "ABCD-1234". */
export function fatSerial(volId: number | null): string | null {
  if (volId === null) return null;
  const h = hexDigits(volId >>> 0, 8, 'upper');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}

function guard<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FsError || isReadError(e)) return fallback;
    throw e;
  }
}

/** An ext2/3/4, xfs or btrfs filesystem as GRUB sees it (all of which GRUB reads). */
export function fsVolume(name: string, partition: number | null, fs: VolumeFilesystem): GrubVolume {
  return {
    name,
    partition,
    uuid: dashedUuid(fs.info.uuid),
    label: fs.info.label || null,
    kind: (p) => guard(() => {
      const t = fs.stat(p).type;
      return t === 'file' ? 'file' : t === 'directory' ? 'dir' : null;
    }, null),
    size: (p) => guard(() => fs.stat(p).size, null),
    read: (p, max) => guard(() => fs.readFile(p, { maxBytes: max, truncate: true }), null),
    readAt: (p, offset, length) => guard(() => {
      const got = fs.read(p, offset, length);
      return got.length === length ? got : null;
    }, null),
    list: (p) => guard(() => fs.readdir(p).map((e) => e.name), null),
  };
}

/**
 * A FAT volume's label as blkid reports it (LABEL=): the root directory's
 * ATTR_VOLUME_ID entry, else BS_VolLab; "NO NAME" (fatgen103's default)
 * is no label.
 */
export function fatLabel(vol: FatVolume): string | null {
  const inRoot = guard(() => vol.readDir('root').volumeLabel, null);
  const label = (inRoot ?? vol.bpb.BS_VolLab ?? '').trimEnd();
  return label && label !== 'NO NAME' ? label : null;
}

export function fatVolume(name: string, partition: number | null, vol: FatVolume): GrubVolume {
  const label = vol.bpb.BS_VolLab?.trimEnd();
  return {
    name,
    partition,
    uuid: fatSerial(vol.bpb.BS_VolID),
    label: label && label !== 'NO NAME' ? label : null,
    kind: (p) => guard(() => {
      const n = vol.lookup(p);
      return n ? (n.kind === 'file' ? 'file' : 'dir') : null;
    }, null),
    size: (p) => guard(() => {
      const n = vol.lookup(p);
      return n?.entry && n.kind === 'file' ? n.entry.size : null;
    }, null),
    read: (p, max) => guard(() => {
      const n = vol.lookup(p);
      return n?.kind === 'file' && n.entry ? vol.readFile(n.entry, max) : null;
    }, null),
    readAt: (p, offset, length) => guard(() => {
      const n = vol.lookup(p);
      return n?.kind === 'file' && n.entry ? vol.readFileRange(n.entry, offset, length) : null;
    }, null),
    list: (p) => guard(() => {
      const n = vol.lookup(p);
      if (!n || n.kind !== 'directory') return null;
      const ref = n.entry ? vol.dirRefOf(n.entry) : 'root';
      return vol.readDir(ref).entries.filter((e) => !e.isDotEntry).map((e) => e.name);
    }, null),
  };
}

/** A tar archive (grub-mkstandalone's memdisk) held in memory: ustar headers, regular files and directories. */
export function tarVolume(name: string, bytes: Uint8Array): GrubVolume | null {
  const files = new Map<string, Uint8Array>();
  const dirs = new Set<string>(['/']);
  const text = (o: number, n: number): string => {
    let s = '';
    for (let i = 0; i < n && bytes[o + i] !== 0 && o + i < bytes.length; i++) s += String.fromCharCode(bytes[o + i]!);
    return s;
  };
  let off = 0;
  let count = 0;
  while (off + 512 <= bytes.length && count++ < 10_000) {
    if (bytes[off] === 0) break;
    if (text(off + 257, 5) !== 'ustar') return files.size ? null : null;
    const nameField = text(off, 100);
    const prefix = text(off + 345, 155);
    const size = parseInt(text(off + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(bytes[off + 156] ?? 0x30);
    if (!Number.isSafeInteger(size) || size < 0 || off + 512 + size > bytes.length) return null;
    const full = ('/' + (prefix ? `${prefix}/` : '') + nameField).replace(/\/+/g, '/').replace(/\/$/, '') || '/';
    if (type === '5') dirs.add(full);
    else if (type === '0' || type === '\0') files.set(full, bytes.subarray(off + 512, off + 512 + size));
    const parts = full.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/') || '/');
    off += 512 + Math.ceil(size / 512) * 512;
  }
  const norm = (p: string): string => ('/' + p).replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  return {
    name,
    partition: null,
    uuid: null,
    label: null,
    kind: (p) => (files.has(norm(p)) ? 'file' : dirs.has(norm(p)) ? 'dir' : null),
    size: (p) => files.get(norm(p))?.length ?? null,
    read: (p, max) => files.get(norm(p))?.subarray(0, max) ?? null,
    readAt: (p, offset, length) => {
      const f = files.get(norm(p));
      return f && offset >= 0 && length >= 0 && offset + length <= f.length ? f.subarray(offset, offset + length) : null;
    },
    list: (p) => {
      const d = norm(p);
      if (!dirs.has(d)) return null;
      const pre = d === '/' ? '/' : `${d}/`;
      return [...new Set([...files.keys(), ...dirs].filter((f) => f.startsWith(pre) && f !== d).map((f) => f.slice(pre.length).split('/')[0]!))];
    },
  };
}

/** GRUB's memdisk: a FAT image (Debian's monolithic builds), read where looked at, or a tar (grub-mkstandalone), read whole. */
export function memdiskVolume(memdisk: Uint8Array | ByteSource): GrubVolume | null {
  const src = asByteSource(memdisk, 'GRUB memdisk');
  try {
    if (src.size >= 512 + 262 && String.fromCharCode(...src.read(257, 5)) === 'ustar') return tarVolume('memdisk', src.read(0, src.size));
    return fatVolume('memdisk', null, openFat(src));
  } catch (e) {
    if (isReadError(e)) return null;
    throw e;
  }
}
