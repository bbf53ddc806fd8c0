import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { safeCacheName, urlFileName } from './image-name.js';

/** $XDG_CACHE_HOME/vmspec/images, or ~/.cache/vmspec/images (a relative XDG_CACHE_HOME is ignored, as the XDG spec says). */
export function defaultImageCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'vmspec', 'images');
}

/**
 * Where one URL lives in the cache. Each URL gets its own directory named by
 * the sha256 of the URL, so two URLs never share a file and the name taken
 * from the URL only has to be safe, not unique:
 *
 *   <cacheDir>/<sha256(url)[0..32]>/<safe name>        the verified image
 *                                   <safe name>.part   a download in progress (kept for resume)
 *                                   .part.json         what the .part belongs to (URL, validator, digests)
 *                                   .entry.json        what the image is (URL, size, sha256, sha512)
 *                                   .lock              held while a process downloads
 *
 * The records start with a dot and a safe name never does, so no URL can
 * name a file that overwrites a record.
 */
export interface CacheEntryPaths {
  dir: string;
  image: string;
  part: string;
  partRecord: string;
  entryRecord: string;
  lock: string;
}

export function cacheEntryPaths(cacheDir: string, url: URL): CacheEntryPaths {
  const root = resolve(cacheDir);
  const key = createHash('sha256').update(url.href).digest('hex').slice(0, 32);
  const dir = join(root, key);
  const name = safeCacheName(urlFileName(url));
  const image = join(dir, name);
  // Defence in depth: whatever the URL held, the image is a direct child of dir.
  const rel = relative(dir, image);
  if (rel !== name || rel.includes('/') || rel.startsWith('.')) throw new Error(`cache name "${name}" escapes ${dir}`);
  return { dir, image, part: `${image}.part`, partRecord: join(dir, '.part.json'), entryRecord: join(dir, '.entry.json'), lock: join(dir, '.lock') };
}
