import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LavaJobError } from './errors.js';
import type { DiskFormat } from '../probes/image/disk-format.js';

/** How LAVA's deploy action names compression (`compression:` of an image). */
export type Compression = 'gz' | 'xz' | 'bz2' | 'zstd';

const COMPRESSION_SUFFIX: [string, Compression][] = [['.gz', 'gz'], ['.xz', 'xz'], ['.bz2', 'bz2'], ['.zst', 'zstd']];
const PROTOCOLS = new Set(['http:', 'https:', 'file:']);

/**
 * A URL the LAVA worker downloads from. A path becomes a file:// URL of its
 * absolute form: LAVA reads it on the worker, so it must exist there (the
 * generator does not check this machine's disk, which is not the worker's).
 * `what` names the input in errors ("--image", "images[2].url").
 */
export function workerUrl(input: string, what: string): string {
  const text = input.trim();
  if (!text) throw new LavaJobError(`${what} is empty; give an http(s):// or file:// URL, or a path on the LAVA worker`);
  if (/[\s"'`\\]|[\x00-\x1f\x7f]/.test(text)) {
    throw new LavaJobError(`${what} "${text.slice(0, 80)}" contains whitespace, quotes, backslashes or control characters; percent-encode them in the URL`);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new LavaJobError(`${what} "${text.slice(0, 80)}" is not a valid URL`);
    }
    if (!PROTOCOLS.has(url.protocol)) throw new LavaJobError(`${what}: LAVA cannot download ${url.protocol} URLs; use http://, https:// or file://`);
    if (url.protocol !== 'file:' && !url.hostname) throw new LavaJobError(`${what} "${text.slice(0, 80)}" has no host`);
    return url.href;
  }
  return pathToFileURL(isAbsolute(text) ? text : resolve(text)).href;
}

/** The last path segment of a URL, decoded, for guessing format and compression. */
function fileName(url: string): string {
  const path = new URL(url).pathname;
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)).toLowerCase();
}

export function compressionOf(url: string): Compression | undefined {
  const name = fileName(url);
  return COMPRESSION_SUFFIX.find(([suffix]) => name.endsWith(suffix))?.[1];
}

/** qcow2 when the name (less any compression suffix) ends in .qcow2, else raw. */
export function formatOf(url: string): DiskFormat {
  let name = fileName(url);
  for (const [suffix] of COMPRESSION_SUFFIX) if (name.endsWith(suffix)) name = name.slice(0, -suffix.length);
  return name.endsWith('.qcow2') || name.endsWith('.qcow') ? 'qcow2' : 'raw';
}

export function checkSha256(value: string, what: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new LavaJobError(`${what} "${value.slice(0, 80)}" is not a sha256 (64 hex digits)`);
  return value.toLowerCase();
}

/** The base URL the guest PUTs bundles to and the worker GETs them from: http(s) only. */
export function artifactsBase(input: string): string {
  const url = workerUrl(input, '--artifacts');
  if (!/^https?:/.test(url)) throw new LavaJobError('--artifacts must be an http:// or https:// URL that accepts PUT (the guest uploads the bundle there)');
  if (new URL(url).search || new URL(url).hash) throw new LavaJobError('--artifacts must not carry a query or fragment; give the base URL the bundles go under');
  return url.endsWith('/') ? url : `${url}/`;
}
