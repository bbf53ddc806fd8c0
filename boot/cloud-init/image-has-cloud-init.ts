import { openDisk } from '../../probes/image/open-disk.js';
import { rootfsProbe } from '../../probes/rootfs/rootfs.probe.js';
import { Memo } from '../../probes/types.js';

/**
 * Whether an image can run the collector through cloud-init (NoCloud):
 * true/false from its root filesystem, null when the root cannot be read.
 * `backing`: as the boot was told (`--backing`): QEMU follows a chain it was
 * allowed to, so the root is read through the same chain.
 */
export async function imageHasCloudInit(path: string, backing: 'follow' | 'refuse' = 'refuse'): Promise<boolean | null> {
  let disk;
  try {
    disk = openDisk(path, { backing });
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
