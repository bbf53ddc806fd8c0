import { UnsupportedError } from '../../bytes/errors.js';

/**
 * Quoting for xl.cfg(5) string values. xl's lexer (libxlu) reads a string
 * between double quotes on one line and turns backslash escapes back into
 * characters (\\ and \" among them), so those two are escaped and anything
 * a one-line string cannot hold, or a reader would misread, is refused.
 */

/** Control characters (newline included) and DEL: no xl string can carry them faithfully. */
const UNSAFE = /[\u0000-\u001f\u007f]/;

/** A double-quoted xl string literal for `value`; `what` names it in the error. */
export function xlString(value: string, what: string): string {
  if (typeof value !== 'string') throw new UnsupportedError(`${what} must be a string`);
  const bad = UNSAFE.exec(value);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).padStart(2, '0');
    throw new UnsupportedError(`${what} ${JSON.stringify(value)} contains control character 0x${code} at position ${bad.index}, which an xl config string cannot hold: rename it`);
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * An absolute host path for xl. Relative paths are refused: xl would take
 * a disk target without a leading "/" as a name under /dev.
 */
export function checkHostPath(path: string, what: string): string {
  if (typeof path !== 'string' || path === '') throw new UnsupportedError(`${what} needs a path`);
  if (!path.startsWith('/')) throw new UnsupportedError(`${what} ${JSON.stringify(path)} must be an absolute path (xl reads a relative disk target as /dev/${path})`);
  xlString(path, what); // the character checks
  return path;
}
