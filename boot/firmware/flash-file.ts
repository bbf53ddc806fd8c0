import { accessSync, closeSync, constants, openSync, readSync, statSync, truncateSync } from 'node:fs';
import { copyFileSparse } from '../../bytes/sparse-copy.js';
import { UnsupportedError } from '../../bytes/errors.js';
import { isAbsolute } from 'node:path';
import { hasQcow2Magic, type DiskFormat } from '../../probes/image/disk-format.js';

/** The format a pflash file really has: qcow2 by its magic, raw otherwise. Reads 4 bytes. */
export function sniffFlashFormat(path: string): DiskFormat {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(4);
    const n = readSync(fd, b, 0, 4, 0);
    return hasQcow2Magic(b.subarray(0, n)) ? 'qcow2' : 'raw';
  } finally {
    closeSync(fd);
  }
}

/** Why `path` cannot serve as a pflash file, or undefined when it can (absolute, a regular file, readable, non-empty). */
export function flashFileProblem(path: string, what: string): string | undefined {
  if (!isAbsolute(path)) return `${what} ${path} is not an absolute path`;
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return `${what} ${path} is not a regular file`;
    size = st.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${what} ${path} does not exist` : `${what} ${path} cannot be examined (${code ?? (e as Error).message})`;
  }
  try {
    accessSync(path, constants.R_OK);
  } catch {
    return `${what} ${path} is not readable by this user`;
  }
  if (size === 0) return `${what} ${path} is empty`;
  return undefined;
}

/** The size of each of QEMU virt's two pflash devices (hw/arm/virt.c: two 64 MiB banks); a raw image must fill its device exactly. */
export const VIRT_PFLASH_BYTES = 64 * 1024 * 1024;

/** Extend a raw flash file in place with zeros to the device size (an erased-looking blank edk2 formats on first boot). */
export function padToFlash(path: string): void {
  const size = statSync(path).size;
  if (size > VIRT_PFLASH_BYTES) {
    throw new UnsupportedError(`${path} is ${size} bytes, more than the ${VIRT_PFLASH_BYTES}-byte pflash of QEMU's virt machine`, 'use a firmware image built for QEMU virt (at most 64 MiB)');
  }
  if (size < VIRT_PFLASH_BYTES) truncateSync(path, VIRT_PFLASH_BYTES);
}

/** `path` itself when it fills the pflash device; otherwise a padded copy at `copyTo()` (the original is never written). */
export function flashSized(path: string, copyTo: () => string): string {
  const size = statSync(path).size;
  if (size === VIRT_PFLASH_BYTES) return path;
  const dest = copyTo();
  copyFileSparse(path, dest);
  padToFlash(dest);
  return dest;
}
