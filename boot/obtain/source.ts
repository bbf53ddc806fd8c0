import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnsupportedError } from '../../bytes/errors.js';

/** Where an image comes from: a file on this machine (a path or a file:// URL) or an http(s) URL. */
export type ImageSource = { kind: 'local'; path: string } | { kind: 'http'; url: URL };

/** Longer URLs are refused: no real image URL comes close. */
export const MAX_URL_LENGTH = 8192;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** Classify `vmspec boot`'s IMAGE | URL argument. */
export function parseSource(source: string): ImageSource {
  if (source.trim() === '') throw new UnsupportedError('no image given: the source is empty', 'give a path, an http(s):// URL or a file:// URL');
  if (source.includes('\0')) throw new UnsupportedError('the image source contains a NUL byte', 'give a plain path or URL');
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: resolve(source) };
  const url = parseUrl(source, 'image');
  if (scheme === 'file') return { kind: 'local', path: localPathOf(url) };
  return { kind: 'http', url };
}

/** An absolute http(s) or file URL (images and checksum lists), with a clear refusal otherwise. */
export function parseUrl(text: string, what: string): URL {
  if (text.length > MAX_URL_LENGTH) throw new UnsupportedError(`${what} URL is ${text.length} characters long (limit ${MAX_URL_LENGTH})`, 'give a shorter URL');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UnsupportedError(`${what} URL "${text.slice(0, 200)}" is not a valid absolute URL`, 'write it as https://host/path/file');
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
    throw new UnsupportedError(`${what} URL ${url.href.slice(0, 200)}: the ${url.protocol.slice(0, -1)} scheme is not supported`, 'use http://, https:// or file:// (or download it yourself and give the path)');
  }
  if (url.username || url.password) {
    throw new UnsupportedError(`${what} URL ${url.protocol}//${url.host}${url.pathname}: credentials in URLs are refused (they would be written to the cache record and to logs)`, 'download the image yourself and give its path');
  }
  return url;
}

function localPathOf(url: URL): string {
  try {
    return fileURLToPath(url);
  } catch (e) {
    throw new UnsupportedError(`${url.href}: ${(e as Error).message}`, 'a file:// URL must name a file on this machine: file:///absolute/path');
  }
}
