import { sha256File } from '../../bytes/file-digest.js';
import type { BootImage } from '../types.js';

/** The built-in reference as the image `vmspec boot` boots: built from Debian arm64 packages (or found in the cache). */
export async function builtinReference(o: { cacheDir?: string }, onProgress: (m: string) => void): Promise<BootImage & { cloudInit: boolean | null }> {
  const { buildReferenceImage } = await import('./build.js');
  const ref = await buildReferenceImage({ ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}), onProgress });
  return { path: ref.image, format: 'raw', source: 'reference:builtin', sha256: await sha256File(ref.image), cloudInit: false };
}
