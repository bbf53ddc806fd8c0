import { UnsupportedError } from '../../bytes/errors.js';

/** Longest file name kept in the cache (well under NAME_MAX 255 with ".part" added). */
export const MAX_CACHE_NAME = 100;

/**
 * The file name a URL names: its last path segment, percent-decoded. Used
 * only to look the image up in a checksum list and to derive a cache name;
 * it never becomes a path by itself (see safeCacheName).
 */
export function urlFileName(url: URL): string {
  const segment = url.pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw new UnsupportedError(`${url.href}: the file name "${segment.slice(0, 120)}" is not valid percent-encoding`, 'fix the URL (each % must be followed by two hexadecimal digits)');
  }
  if (name === '' || name === '.' || name === '..') {
    throw new UnsupportedError(`${url.href}: the URL does not end in a file name`, 'give the URL of the image file itself, not of its directory');
  }
  return name;
}

/**
 * A name safe to join to a directory: only [A-Za-z0-9._+-], no leading dot
 * (so never "." or ".." or hidden), at most MAX_CACHE_NAME characters with
 * the extension kept. Separators, NUL, "%2e%2e" after decoding and anything
 * else become "_".
 */
export function safeCacheName(name: string): string {
  let safe = name.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^[.]+/, '');
  if (safe.length > MAX_CACHE_NAME) {
    const dot = safe.lastIndexOf('.');
    const ext = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
    safe = safe.slice(0, MAX_CACHE_NAME - ext.length) + ext;
  }
  return safe === '' || /^_*$/.test(safe) ? `image${safe}` : safe;
}
