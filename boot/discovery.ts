import { compareDiscovery, guestDiscovery } from '../probes/host/discovery.js';
import type { ConfiguredVm, DiscoveryRecord, GuestDiscovery } from '../probes/host/facts.js';
import { openSysroot } from '../probes/sysroot/open.js';
import type { PlannedBoot } from './plan.js';

/** PLAT-2 for one finished boot: the VM it configured against what its evidence disk shows the guest found. */
export function discoverBoot(boot: Pick<PlannedBoot, 'name' | 'acpi'>, evidenceDisk: string, vm: ConfiguredVm): DiscoveryRecord {
  let guest: GuestDiscovery | null = null;
  let problem: string | null = null;
  try {
    const s = openSysroot(evidenceDisk);
    try {
      guest = guestDiscovery(s);
    } finally {
      s.close();
    }
  } catch (e) {
    problem = `${boot.name} evidence unreadable: ${(e as Error).message}`;
  }
  const record = compareDiscovery(boot.name, boot.acpi, vm, guest);
  if (problem) record.problems.push(problem);
  return record;
}
