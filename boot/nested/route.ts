import type { Progress } from '../reference/debs.js';
import type { BootRunner } from '../types.js';
import { buildKvmHost, type KvmHost } from './kvm-host.js';
import { nestedKvmRunner, type KvmHostGic } from './kvm-runner.js';

/**
 * `vmspec boot --accel kvm` on a machine without an aarch64 /dev/kvm: every
 * planned boot runs under KVM in a nested L1 aarch64 host that this
 * machine's QEMU emulates with TCG at EL2 (docs/kvm.md). Builds (or finds
 * cached) the L1 host and names the hypervisor for the results.
 */

export interface NestedKvmRoute {
  runner: BootRunner;
  /** env.hypervisor: the QEMU that runs the guest (Debian's arm64 package, inside L1), and where. */
  hypervisor: string;
  host: KvmHost;
}

export function describeHostGic(hostGic: KvmHostGic): string {
  return hostGic === 'match' ? 'L1 GIC = each boot\'s GIC' : `L1 GICv${hostGic}`;
}

/** The hypervisor's name in the results, e.g. "QEMU 7.2 (KVM, nested in a TCG L1 aarch64 host: Linux 6.1.0-57-arm64, QEMU 7.2.19 TCG with EL2, L1 GICv3)". */
export function nestedHypervisorName(host: Pick<KvmHost, 'info'>, l0Version: string, hostGic: KvmHostGic): string {
  const l2 = host.info.qemuPackage.version.replace(/^\d+:/, '').split(/[+~-]/)[0];
  return `QEMU ${l2} (KVM, nested in a TCG L1 aarch64 host: Linux ${host.info.kernelVersion}, QEMU ${l0Version.split(' ')[0]} TCG with EL2, ${describeHostGic(hostGic)})`;
}

export async function nestedKvmRoute(o: { l0Qemu: string; l0Version: string; hostGic: KvmHostGic; cacheDir?: string; onProgress?: Progress; signal?: AbortSignal }): Promise<NestedKvmRoute> {
  const host = await buildKvmHost({
    ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { host, runner: nestedKvmRunner({ host, l0Qemu: o.l0Qemu, hostGic: o.hostGic }), hypervisor: nestedHypervisorName(host, o.l0Version, o.hostGic) };
}
