import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
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
