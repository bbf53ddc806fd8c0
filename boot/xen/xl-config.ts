import { UnsupportedError } from '../../bytes/errors.js';
import { checkHostPath, xlString } from './xl-string.js';
import type { DiskFormat } from '../../probes/image/disk-format.js';

/**
 * An xl domain configuration (xl.cfg(5)) that boots an Arm cloud image the
 * way `vmspec boot` does under QEMU: UEFI firmware (edk2's ArmVirtXen build,
 * XEN_EFI.fd, loaded as the "kernel"), the image, the evidence disk and,
 * for cloud images, the NoCloud seed, as Xen PV block devices; an emulated
 * SBSA UART (`vuart = "sbsa_uart"`) beside the PV console; no network.
 * `vmspec boot --hypervisor xen --dry-run` prints it. See docs/xen.md.
 */

export type GicVersion = 'v2' | 'v3' | 'default';

export interface XlImage {
  /** The image itself, or a qcow2 overlay on it (a snapshot: writes stay in the overlay). */
  path: string;
  format: DiskFormat;
  /** Attach read-only (a raw image under test; most guests then cannot mount their root rw). */
  readOnly?: boolean;
}

export interface XlConfigOptions {
  /** Domain name: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit. */
  name: string;
  /** UEFI firmware for the guest, e.g. /usr/lib/xen/boot/XEN_EFI.fd (edk2 ArmVirtPkg/ArmVirtXen.dsc); with `direct`, the image's own kernel. */
  firmware: string;
  /**
   * No guest firmware: `firmware` is the image's kernel, booted directly
   * with this initrd and command line (xl.cfg `ramdisk`, `extra`).
   */
  direct?: { ramdisk?: string; cmdline: string };
  image: XlImage;
  /** The raw evidence disk (boot/reference/evidence-disk.ts), attached read-write. */
  evidenceDisk: string;
  /** The NoCloud seed volume (boot/cloud-init), attached read-only. */
  seed?: string;
  /** Default 2048. */
  memoryMiB?: number;
  /** Default 2. */
  vcpus?: number;
  /** Default "default": the host's own GIC version. */
  gicVersion?: GicVersion;
  /** Give the guest ACPI tables (libxl builds them; Xen must be built with ACPI). Default false: device tree only. */
  acpi?: boolean;
}

export const DEFAULT_XEN_MEMORY_MIB = 2048;
export const DEFAULT_XEN_VCPUS = 2;
/** Guest disk names, in attach order: the image first, so the firmware boots it. */
export const XEN_VDEVS = { image: 'xvda', evidence: 'xvdb', seed: 'xvdc' } as const;

function checkInteger(what: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UnsupportedError(`${what} ${String(value)} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/**
 * One xl-disk-configuration(5) spec. `target=` goes last: it takes the rest
 * of the spec verbatim, so commas, colons and "=" in the path stay in it.
 * qcow2 needs the QEMU backend (qdisk); raw leaves the choice to libxl.
 */
function diskSpec(path: string, format: DiskFormat, vdev: string, access: 'ro' | 'rw', what: string): string {
  checkHostPath(path, what);
  if (format !== 'raw' && format !== 'qcow2') throw new UnsupportedError(`${what} format ${JSON.stringify(format)} must be raw or qcow2`);
  if (/\s$/.test(path)) throw new UnsupportedError(`${what} ${JSON.stringify(path)} ends in whitespace, which xl would keep in the target: rename it`);
  const parts = [`format=${format}`, `vdev=${vdev}`, `access=${access}`];
  if (format === 'qcow2') parts.push('backendtype=qdisk');
  parts.push(`target=${path}`);
  return xlString(parts.join(', '), what);
}

export function xlConfig(opts: XlConfigOptions): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(opts.name ?? '')) {
    throw new UnsupportedError(`domain name ${JSON.stringify(opts.name)} must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  }
  const firmware = checkHostPath(opts.firmware, 'firmware');
  const memory = checkInteger('memory (MiB)', opts.memoryMiB ?? DEFAULT_XEN_MEMORY_MIB, 128, 1024 * 1024);
  const vcpus = checkInteger('vcpus', opts.vcpus ?? DEFAULT_XEN_VCPUS, 1, 128);
  const gic = opts.gicVersion ?? 'default';
  if (gic !== 'v2' && gic !== 'v3' && gic !== 'default') throw new UnsupportedError(`gic_version ${JSON.stringify(gic)} must be v2, v3 or default`);
  if (opts.acpi !== undefined && typeof opts.acpi !== 'boolean') throw new UnsupportedError('acpi must be true or false');
  if (!opts.image || typeof opts.image !== 'object') throw new UnsupportedError('the domain needs an image');
  const direct = opts.direct;
  if (direct !== undefined && direct.ramdisk !== undefined) checkHostPath(direct.ramdisk, 'ramdisk');
  const boot = direct === undefined
    ? ['# UEFI (edk2 ArmVirtXen) is loaded as the kernel and boots the image from xvda.', `kernel = ${xlString(firmware, 'firmware')}`]
    : [
        '# No guest firmware: the image\'s own kernel and initrd, booted directly (no UEFI).',
        `kernel = ${xlString(firmware, 'kernel')}`,
        ...(direct.ramdisk !== undefined ? [`ramdisk = ${xlString(direct.ramdisk, 'ramdisk')}`] : []),
        `extra = ${xlString(direct.cmdline, 'kernel command line')}`,
      ];

  const disks = [
    diskSpec(opts.image.path, opts.image.format, XEN_VDEVS.image, opts.image.readOnly ? 'ro' : 'rw', 'image'),
    diskSpec(opts.evidenceDisk, 'raw', XEN_VDEVS.evidence, 'rw', 'evidence disk'),
  ];
  if (opts.seed !== undefined) disks.push(diskSpec(opts.seed, 'raw', XEN_VDEVS.seed, 'ro', 'seed'));
  const all = [opts.image.path, opts.evidenceDisk, ...(opts.seed === undefined ? [] : [opts.seed])];
  if (new Set(all).size !== all.length) throw new UnsupportedError(`the image, evidence disk and seed must be different files (got ${all.join(', ')})`);

  return [
    '# xl domain configuration written by vmspec (docs/xen.md). Start it with:',
    '#   xl create -c THIS-FILE      (PV console; `xl console -t vuart NAME` for the SBSA UART)',
    `name = ${xlString(opts.name, 'domain name')}`,
    'type = "pvh"',
    ...boot,
    `memory = ${memory}`,
    `vcpus = ${vcpus}`,
    `gic_version = ${xlString(gic, 'gic_version')}`,
    `acpi = ${opts.acpi ? 1 : 0}`,
    '# The SBSA generic UART the spec asks for, beside the PV console.',
    'vuart = "sbsa_uart"',
    'disk = [',
    disks.map((d) => `    ${d}`).join(',\n'),
    ']',
    '# No network: nothing in the guest reaches out.',
    'vif = []',
    '# One boot per domain: each phase (write, check) is a fresh `xl create`.',
    'on_poweroff = "destroy"',
    'on_reboot = "destroy"',
    'on_crash = "destroy"',
    '',
  ].join('\n');
}
