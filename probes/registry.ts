import type { Probe } from './types.js';
import { acpiEvidenceProbe } from './evidence/acpi.probe.js';
import { busEvidenceProbe } from './evidence/bus.probe.js';
import { consoleEvidenceProbe } from './evidence/console.probe.js';
import { cpusEvidenceProbe } from './evidence/cpus.probe.js';
import { descriptionEvidenceProbe } from './evidence/description.probe.js';
import { devicetreeEvidenceProbe } from './evidence/devicetree.probe.js';
import { efivarsEvidenceProbe } from './evidence/efivars.probe.js';
import { gicEvidenceProbe } from './evidence/gic.probe.js';
import { kernelEvidenceProbe } from './evidence/kernel.probe.js';
import { rtcEvidenceProbe } from './evidence/rtc.probe.js';
import { timerEvidenceProbe } from './evidence/timer.probe.js';
import { uefiEvidenceProbe } from './evidence/uefi.probe.js';
import { hostBootProbe } from './host/boot.probe.js';
import { bootFileProbe } from './image/boot-file.probe.js';
import { diskProbe } from './image/disk.probe.js';
import { espProbe } from './image/esp.probe.js';
import { partitionTableProbe } from './image/partition-table.probe.js';
import { firmwareVolumesProbe } from './rootfs/firmware-volumes.probe.js';
import { kernelDriversProbe } from './rootfs/kernel-drivers.probe.js';
import { removableBootProbe } from './rootfs/removable-boot.probe.js';
import { rootfsProbe } from './rootfs/rootfs.probe.js';

/**
 * Every probe, registered in one place. A requirement names a probe by
 * `name`; `spec lint` refuses names not listed here.
 */
export const PROBES: readonly Probe[] = [
  diskProbe, partitionTableProbe, espProbe, bootFileProbe,
  rootfsProbe, kernelDriversProbe, removableBootProbe, firmwareVolumesProbe,
  acpiEvidenceProbe, devicetreeEvidenceProbe, uefiEvidenceProbe, efivarsEvidenceProbe, rtcEvidenceProbe, consoleEvidenceProbe,
  cpusEvidenceProbe, gicEvidenceProbe, timerEvidenceProbe, busEvidenceProbe, descriptionEvidenceProbe, kernelEvidenceProbe,
  hostBootProbe,
];

const byName = new Map(PROBES.map((p) => [p.name, p]));

export function findProbe(name: string): Probe | undefined {
  return byName.get(name);
}
