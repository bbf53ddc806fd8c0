import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FileByteSource, type ByteSource } from '../../bytes/byte-source.js';
import type { DiskImage, VirtualDisk } from './disk.js';
import { detectDiskFormat, fileEnds, refusalError } from './disk-format.js';
import { Qcow2Disk, qcow2Container, readQcow2Header } from './qcow2.js';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';

export interface OpenDiskOptions {
  /**
   * What to do with a qcow2 backing file. 'refuse' (default): throw
   * UnsupportedError naming it, since the image alone is not the disk.
   * 'follow': open it read-only, relative to the image's directory; when it
   * cannot be opened the image's `virtualDisk` is incomplete, with the reason.
   */
  backing?: 'follow' | 'refuse';
}

/** Longest backing chain we follow (overlay → base counts 1). */
export const MAX_BACKING_DEPTH = 8;

const TO_RAW = 'convert with `qemu-img convert -O raw IMAGE OUT.raw`';

/**
 * Opens a disk image read-only (never written): qcow2 by magic, known
 * other containers refused with a hint, anything else raw.
 */
export function openDisk(path: string, opts: OpenDiskOptions = {}): DiskImage {
  return openAt(path, new FileByteSource(path), opts, [], null);
}

/**
 * The image in `file` (closed here when this throws). `chain`: real paths of
 * the images above this one (loop detection); `format`: forced by a qcow2
 * backing-format extension (raw or qcow2, checked by openBacking).
 */
function openAt(path: string, file: FileByteSource, opts: OpenDiskOptions, chain: string[], format: 'raw' | 'qcow2' | null): DiskImage {
  try {
    const { head, tail } = fileEnds(file);
    const detected = detectDiskFormat(head, tail);
    if (format === 'raw') return rawImage(path, file);
    if (detected.format === 'qcow2') return qcow2Image(path, file, opts, chain);
    if (format === 'qcow2') throw new ParseError('qcow2 header', 0, `${path}: declared as a qcow2 backing file but has no qcow2 magic`);
    if (detected.refused) throw refusalError(path, detected.refused);
    return rawImage(path, file);
  } catch (e) {
    file.close();
    throw e;
  }
}

function rawImage(path: string, file: FileByteSource): DiskImage {
  return { path, format: 'raw', disk: file, virtualDisk: { complete: true }, fileSize: file.size, container: {}, close: () => file.close() };
}

function qcow2Image(path: string, file: FileByteSource, opts: OpenDiskOptions, chain: string[]): DiskImage {
  const header = readQcow2Header(file);
  const below = header.backingFile === null ? null : openBacking(path, header.backingFile, header.backingFormat, header.backingFileOffset, opts, chain);
  const backing = below && 'image' in below ? below.image : null;
  const virtualDisk: VirtualDisk = below === null ? { complete: true }
    : 'missing' in below ? { complete: false, reason: below.missing }
    : below.image.virtualDisk.complete ? { complete: true }
    : { complete: false, reason: `${below.image.path}: ${below.image.virtualDisk.reason}` };
  const disk: ByteSource = virtualDisk.complete ? new Qcow2Disk(file, header, backing?.disk ?? null) : new UnassembledDisk(path, header.size, virtualDisk.reason);
  const container = { ...qcow2Container(header), backingChainDepth: backing ? 1 + Number(backing.container.backingChainDepth ?? 0) : 0 };
  return {
    path,
    format: 'qcow2',
    disk,
    virtualDisk,
    fileSize: file.size,
    container,
    close: () => {
      backing?.close();
      file.close();
    },
  };
}

const FLATTEN = 'put the backing file there, or flatten the chain where it is complete with `qemu-img convert -O qcow2 IMAGE FLAT.qcow2`';

/**
 * The virtual disk of a chain with a backing file that cannot be opened: its
 * size is known from the header, its bytes are not. Every read throws
 * UnsupportedError, the kind that makes a clause undecided (engine/evaluate.ts):
 * the disk the VM would see does not exist, so nothing on it can be judged.
 */
class UnassembledDisk implements ByteSource {
  constructor(readonly name: string, readonly size: number, readonly reason: string) {}
  read(): Uint8Array {
    throw new UnsupportedError(`${this.name}: the disk the VM sees cannot be assembled: ${this.reason}`, FLATTEN);
  }
}

/** Why a named local backing file cannot be opened, in words, for the errors a lookup or open gives. Other errors stay errors. */
const BACKING_ERRNO: Record<string, string> = {
  ENOENT: 'does not exist',
  EACCES: 'cannot be read: permission denied',
  EPERM: 'cannot be read: operation not permitted',
  ENOTDIR: 'is not reachable: part of its path is not a directory',
  ELOOP: 'is not reachable: its path loops through symbolic links',
  EISDIR: 'is a directory',
};

/** A followed backing file: opened, or missing with the reason (a fact about the image, not an input error). */
type Backing = { image: DiskImage } | { missing: string };

/** The reason a backing file is missing: the name as written, why, then where it was looked for (so a shortened message keeps the why). */
function missingBacking(name: string, target: string, why: string): Backing {
  return { missing: `backing file "${name}" ${why}${name === target ? '' : ` (looked for at ${target})`}` };
}

/**
 * QEMU resolves a relative backing file name against the overlay's directory.
 * A named local file that cannot be opened (absent, unreadable, a directory)
 * makes the disk incomplete: that is what the image ships, and QEMU would
 * refuse to start the VM. What vmspec cannot or must not follow (protocol
 * URLs, loops, too-deep chains, unsupported formats) stays an input error.
 */
function openBacking(path: string, name: string, format: string | null, nameOffset: number, opts: OpenDiskOptions, chain: string[]): Backing {
  if ((opts.backing ?? 'refuse') === 'refuse') {
    throw new UnsupportedError(
      `${path}: qcow2 image has a backing file "${name}"${format ? ` (format ${format})` : ''}; the image alone is not the whole disk`,
      'give --backing follow to read the chain (read-only), or flatten the chain with `qemu-img convert -O qcow2 IMAGE FLAT.qcow2`',
    );
  }
  const plain = name.startsWith('file:') ? name.slice(5) : name;
  if (/^[a-z][a-z0-9+.-]*:/i.test(plain) && !isAbsolute(plain)) {
    throw new UnsupportedError(`${path}: backing file "${name}" is a protocol URL, not a local file`, 'flatten the chain with `qemu-img convert -O qcow2`');
  }
  if (format !== null && format !== 'raw' && format !== 'qcow2') {
    throw new UnsupportedError(`${path}: backing file format "${format}" is not supported (raw and qcow2 are)`, TO_RAW);
  }
  const target = resolve(dirname(path), plain);
  const unopenable = (e: unknown): Backing => {
    const code = (e as NodeJS.ErrnoException).code;
    const why = BACKING_ERRNO[code ?? ''];
    if (why) return missingBacking(plain, target, why);
    // Not a fact about the image (an I/O error, too many open files): the run stops, saying where.
    if (code) throw new UnsupportedError(`${path}: its backing file "${plain}" (looked for at ${target}) cannot be opened (${code})`, FLATTEN);
    throw e;
  };
  let real: string;
  try {
    real = realpathSync(target);
  } catch (e) {
    return unopenable(e);
  }
  const self = realpathSync(path);
  const seen = [...chain, self];
  if (seen.includes(real)) throw new ParseError('qcow2 backing file name', nameOffset, `${path}: backing chain loops back to ${real}`);
  if (seen.length > MAX_BACKING_DEPTH) throw new UnsupportedError(`${path}: backing chain deeper than ${MAX_BACKING_DEPTH} images`, 'flatten the chain with `qemu-img convert -O qcow2`');
  // Checked before opening: open() on a FIFO would block, and on a directory it succeeds.
  const st = statSync(real);
  if (st.isDirectory()) return missingBacking(plain, target, BACKING_ERRNO.EISDIR!);
  if (!st.isFile() && !st.isBlockDevice()) return missingBacking(plain, target, 'is not a regular file or block device');
  let file: FileByteSource;
  try {
    file = new FileByteSource(target);
  } catch (e) {
    return unopenable(e);
  }
  return { image: openAt(target, file, opts, seen, format) };
}
