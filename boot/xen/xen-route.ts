import { sha256File } from '../../bytes/file-digest.js';
import type { Progress } from '../reference/debs.js';
import type { BootEnvironment, BootImage, BootRunner } from '../types.js';
import { directBoot, firmwareBoot, NO_GUEST_FIRMWARE, type DomuBoot } from './domu-boot.js';
import { buildXenHost, type XenHost } from './xen-host.js';
import { xenRunner } from './xen-runner.js';

/**
 * `vmspec boot --hypervisor xen`: the Xen host (built or cached), what the
 * domain boots (the given guest firmware, else the image's kernel
 * directly), and the environment the report names.
 */
export async function xenRoute(image: BootImage, o: { qemu: string; qemuVersion: string; firmware?: string; cacheDir?: string; onProgress?: Progress }): Promise<{ env: BootEnvironment; runner: BootRunner; host: XenHost; domu: DomuBoot }> {
  const domu = o.firmware !== undefined ? firmwareBoot(o.firmware) : directBoot(image);
  const host = await buildXenHost({ ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  const firmware: BootEnvironment['firmware'] = domu.kind === 'firmware'
    ? { code: domu.path, descriptor: null, description: 'guest firmware given with --firmware, loaded by xl as the domain\'s kernel', version: null, codeSha256: await sha256File(domu.path), features: [] }
    : { code: `none (${domu.from}, booted directly)`, descriptor: null, description: NO_GUEST_FIRMWARE, version: null, codeSha256: null, features: [] };
  const env: BootEnvironment = {
    hypervisor: `Xen ${host.info.xenVersion} (Debian, dom0 ${host.info.kernelVersion}; nested in QEMU ${o.qemuVersion.split(' ')[0]} TCG)`,
    qemu: { path: o.qemu, version: o.qemuVersion },
    accelerator: 'tcg',
    firmware,
  };
  return { env, runner: xenRunner({ host, domu, qemu: o.qemu }), host, domu };
}
