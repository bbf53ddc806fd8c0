import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FileByteSource, type ByteSource } from '../../bytes/byte-source.js';
import type { DiskImage } from './disk.js';
import { detectDiskFormat, fileEnds, refusalError } from './disk-format.js';
import { Qcow2Disk, qcow2Container, readQcow2Header } from './qcow2.js';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';

export interface OpenDiskOptions {
  /**
   * What to do with a qcow2 backing file. 'refuse' (default): throw
   * UnsupportedError naming it, since the image alone is not the disk.
   * 'follow': open it read-only, relative to the image's directory.
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
  return openAt(path, opts, [], null);
}

/** `chain`: real paths of the images above this one (loop detection); `format`: forced by a qcow2 backing-format extension. */
function openAt(path: string, opts: OpenDiskOptions, chain: string[], format: string | null): DiskImage {
  const file = new FileByteSource(path);
  try {
    const { head, tail } = fileEnds(file);
    const detected = detectDiskFormat(head, tail);
    if (format === 'raw') return rawImage(path, file);
    if (format !== null && format !== 'qcow2') {
      throw new UnsupportedError(`${path}: backing file format "${format}" is not supported (raw and qcow2 are)`, TO_RAW);
    }
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
  return { path, format: 'raw', disk: file, fileSize: file.size, container: {}, close: () => file.close() };
}

function qcow2Image(path: string, file: FileByteSource, opts: OpenDiskOptions, chain: string[]): DiskImage {
  const header = readQcow2Header(file);
  let backing: DiskImage | null = null;
  if (header.backingFile !== null) backing = openBacking(path, header.backingFile, header.backingFormat, header.backingFileOffset, opts, chain);
  const disk: ByteSource = new Qcow2Disk(file, header, backing?.disk ?? null);
  const container = { ...qcow2Container(header), backingChainDepth: backing ? 1 + Number(backing.container.backingChainDepth ?? 0) : 0 };
  return {
    path,
    format: 'qcow2',
    disk,
    fileSize: file.size,
    container,
    close: () => {
      backing?.close();
      file.close();
    },
  };
}

/** Why a backing file cannot be opened, in words, for the errors a path lookup gives. */
const BACKING_ERRNO: Record<string, string> = {
  ENOENT: 'does not exist',
  EACCES: 'cannot be read (permission denied)',
  ENOTDIR: 'is not reachable (part of its path is not a directory)',
  ELOOP: 'is not reachable (its path loops through symbolic links)',
};

/**
 * One message for a backing file that cannot be opened: the overlay, the file
 * it names (where it was looked for, once), why, and what to do.
 */
function backingUnreachable(path: string, name: string, target: string, e: NodeJS.ErrnoException): UnsupportedError {
  const why = (e.code && BACKING_ERRNO[e.code]) ?? `cannot be opened (${e.code ?? e.message})`;
  const where = isAbsolute(name) ? name : `"${name}", looked for in ${dirname(target)}`;
  return new UnsupportedError(
    `${path}: its qcow2 backing file ${where}, ${why}`,
    'put the backing file there, or flatten the chain where it is complete with `qemu-img convert -O qcow2 IMAGE FLAT.qcow2`',
  );
}

/** QEMU resolves a relative backing file name against the overlay's directory. Protocol names (nbd:, json:, http://) are refused. */
function openBacking(path: string, name: string, format: string | null, nameOffset: number, opts: OpenDiskOptions, chain: string[]): DiskImage {
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
  const target = resolve(dirname(path), plain);
  let real: string;
  try {
    real = realpathSync(target);
  } catch (e) {
    throw backingUnreachable(path, plain, target, e as NodeJS.ErrnoException);
  }
  const self = realpathSync(path);
  const seen = [...chain, self];
  if (seen.includes(real)) throw new ParseError('qcow2 backing file name', nameOffset, `${path}: backing chain loops back to ${real}`);
  if (seen.length > MAX_BACKING_DEPTH) throw new UnsupportedError(`${path}: backing chain deeper than ${MAX_BACKING_DEPTH} images`, 'flatten the chain with `qemu-img convert -O qcow2`');
  return openAt(target, opts, seen, format);
}
