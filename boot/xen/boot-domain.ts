import { resolve } from 'node:path';
import type { BootImage } from '../types.js';
import { xlConfig } from './xl-config.js';

/** Where Debian's Xen would put edk2's ArmVirtXen build (override with --firmware). */
const XEN_EFI = '/usr/lib/xen/boot/XEN_EFI.fd';

/** The `vmspec boot` options the xl domain follows. */
export interface BootDomainOptions {
  firmware?: string;
  memory: string;
  cpus: string;
  gic: '2' | '3' | 'both';
  acpi?: boolean;
}

/** `vmspec boot --hypervisor xen --dry-run`: the xl configuration of the domain that would boot the image. */
export function bootDomainConfig(image: BootImage, o: BootDomainOptions): string {
  return xlConfig({
    name: 'vmspec-boot',
    firmware: o.firmware ? resolve(o.firmware) : XEN_EFI,
    image: { path: image.path, format: image.format, readOnly: true },
    evidenceDisk: resolve('vmspec-evidence.img'),
    memoryMiB: Number(o.memory),
    vcpus: Number(o.cpus),
    gicVersion: o.gic === '2' ? 'v2' : o.gic === '3' ? 'v3' : 'default',
    acpi: o.acpi !== false,
  });
}
