import { openDisk } from '../probes/image/open-disk.js';
import { rootfsProbe } from '../probes/rootfs/rootfs.probe.js';
import { Memo } from '../probes/types.js';
import { sha256File } from '../bytes/file-digest.js';
import type { BootFlags } from './boot-command.js';
import type { BootImage } from './run.js';

/**
 * Whether an image can run the collector through cloud-init (NoCloud):
 * true/false from its root filesystem, null when the root cannot be read.
 */
export async function imageHasCloudInit(path: string): Promise<boolean | null> {
  let disk;
  try {
    disk = openDisk(path, { backing: 'refuse' });
  } catch {
    return null;
  }
  try {
    const facts = (await rootfsProbe.run({ image: disk, memo: new Memo() }, {})) as { cloudInit: { installed: boolean; enabled: boolean; noCloud: boolean } | null };
    const ci = facts.cloudInit;
    if (ci === null) return null;
    return ci.installed && ci.enabled && ci.noCloud;
  } catch {
    return null;
  } finally {
    disk.close();
  }
}

/** The built-in reference: built from Debian arm64 packages (or found in the cache). */
export async function builtinReference(o: BootFlags, onProgress: (m: string) => void): Promise<BootImage & { cloudInit: boolean | null }> {
  const { buildReferenceImage } = await import('./reference/build.js');
  const ref = await buildReferenceImage({ ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}), onProgress });
  return { path: ref.image, format: 'raw', source: 'reference:builtin', sha256: await sha256File(ref.image), cloudInit: false };
}
