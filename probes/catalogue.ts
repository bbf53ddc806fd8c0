import type { Probe, ProbeInputKind } from './types.js';

/**
 * Every probe by name and input, loaded only when a clause needs it: an
 * image-only run never loads the evidence probes, and `vmspec --version`
 * loads none. probes/registry.ts holds the same probes loaded eagerly (for
 * lint and `probe list`); a test keeps the two lists identical.
 */
export interface CatalogueEntry {
  name: string;
  input: ProbeInputKind;
  load(): Promise<Probe>;
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  { name: 'image.disk', input: 'image', load: async () => (await import('./image/disk.probe.js')).diskProbe },
  { name: 'image.partition-table', input: 'image', load: async () => (await import('./image/partition-table.probe.js')).partitionTableProbe },
  { name: 'image.esp', input: 'image', load: async () => (await import('./image/esp.probe.js')).espProbe },
  { name: 'image.boot-file', input: 'image', load: async () => (await import('./image/boot-file.probe.js')).bootFileProbe },
  { name: 'image.rootfs', input: 'image', load: async () => (await import('./rootfs/rootfs.probe.js')).rootfsProbe },
  { name: 'image.kernel-drivers', input: 'image', load: async () => (await import('./rootfs/kernel-drivers.probe.js')).kernelDriversProbe },
  { name: 'image.removable-boot', input: 'image', load: async () => (await import('./rootfs/removable-boot.probe.js')).removableBootProbe },
  { name: 'image.firmware-volumes', input: 'image', load: async () => (await import('./rootfs/firmware-volumes.probe.js')).firmwareVolumesProbe },
  { name: 'evidence.acpi', input: 'evidence', load: async () => (await import('./evidence/acpi.probe.js')).acpiEvidenceProbe },
  { name: 'evidence.devicetree', input: 'evidence', load: async () => (await import('./evidence/devicetree.probe.js')).devicetreeEvidenceProbe },
  { name: 'evidence.uefi', input: 'evidence', load: async () => (await import('./evidence/uefi.probe.js')).uefiEvidenceProbe },
  { name: 'evidence.efivars', input: 'evidence', load: async () => (await import('./evidence/efivars.probe.js')).efivarsEvidenceProbe },
  { name: 'evidence.rtc', input: 'evidence', load: async () => (await import('./evidence/rtc.probe.js')).rtcEvidenceProbe },
  { name: 'evidence.console', input: 'evidence', load: async () => (await import('./evidence/console.probe.js')).consoleEvidenceProbe },
  { name: 'evidence.cpus', input: 'evidence', load: async () => (await import('./evidence/cpus.probe.js')).cpusEvidenceProbe },
  { name: 'evidence.gic', input: 'evidence', load: async () => (await import('./evidence/gic.probe.js')).gicEvidenceProbe },
  { name: 'evidence.timer', input: 'evidence', load: async () => (await import('./evidence/timer.probe.js')).timerEvidenceProbe },
  { name: 'evidence.bus', input: 'evidence', load: async () => (await import('./evidence/bus.probe.js')).busEvidenceProbe },
  { name: 'evidence.description', input: 'evidence', load: async () => (await import('./evidence/description.probe.js')).descriptionEvidenceProbe },
  { name: 'evidence.kernel', input: 'evidence', load: async () => (await import('./evidence/kernel.probe.js')).kernelEvidenceProbe },
  { name: 'host.boot', input: 'boot', load: async () => (await import('./host/boot.probe.js')).hostBootProbe },
];

const byName = new Map(CATALOGUE.map((e) => [e.name, e]));

export function catalogueEntry(name: string): CatalogueEntry | undefined {
  return byName.get(name);
}
