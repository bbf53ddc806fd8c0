import type { Probe } from './types.js';
import { bootFileProbe } from './image/boot-file.probe.js';
import { diskProbe } from './image/disk.probe.js';
import { espProbe } from './image/esp.probe.js';
import { partitionTableProbe } from './image/partition-table.probe.js';

/**
 * Every probe, registered in one place. A requirement names a probe by
 * `name`; `spec lint` refuses names not listed here.
 */
export const PROBES: readonly Probe[] = [diskProbe, partitionTableProbe, espProbe, bootFileProbe];

const byName = new Map(PROBES.map((p) => [p.name, p]));

export function findProbe(name: string): Probe | undefined {
  return byName.get(name);
}
