import { readFileSync, statSync } from 'node:fs';
import { UnsupportedError } from '../../bytes/errors.js';
import { openDisk } from '../../probes/image/open-disk.js';
import { openEsp } from '../../probes/image/esp.js';
import { Memo } from '../../probes/types.js';
import { DEFAULT_CMDLINE } from '../reference/build.js';
import type { BootImage } from '../types.js';

/**
 * What xl loads as the domain's kernel. Debian ships no guest firmware for
 * a Xen Arm domU (no XEN_EFI.fd, no U-Boot Xen guest build), so either
 * one is given (`--firmware FILE`), or the image's own kernel and initrd
 * boot directly, with no UEFI at all: the report then fails the UEFI
 * clauses, as it must (docs/xen.md).
 */
export type DomuBoot =
  | { kind: 'firmware'; path: string; data: Uint8Array }
  | { kind: 'direct'; kernel: Uint8Array; ramdisk?: Uint8Array; cmdline: string; from: string };

export const NO_GUEST_FIRMWARE = 'no guest firmware: Xen as packaged boots the kernel directly';

/** Kernels and initrds larger than this are refused (the job disk carries them). */
const MAX_BOOT_FILE = 256 * 1024 * 1024;

export function firmwareBoot(path: string): DomuBoot {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined || !st.isFile()) throw new UnsupportedError(`guest firmware ${path} is not a file`);
  if (st.size === 0 || st.size > MAX_BOOT_FILE) throw new UnsupportedError(`guest firmware ${path} is ${st.size} bytes: expected 1 byte to ${MAX_BOOT_FILE / 1024 / 1024} MiB`);
  return { kind: 'firmware', path, data: readFileSync(path) };
}

/**
 * The built-in reference's kernel and initrd, read from its ESP (\vmlinuz,
 * \initrd.img, as its embedded grub.cfg names them) with the command line
 * that grub.cfg passes. Other images are refused: vmspec does not read an
 * arbitrary image's boot configuration to boot it without firmware.
 */
export function directBoot(image: BootImage): DomuBoot {
  if (image.source !== 'reference:builtin') {
    throw new UnsupportedError(
      `${image.source}: Xen as packaged has no guest firmware, and without one vmspec boots only the built-in reference directly (its \\vmlinuz and \\initrd.img)`,
      'give --firmware FILE (a Xen Arm guest firmware: edk2 ArmVirtXen or U-Boot xenguest, loaded as the domain\'s kernel), or boot the built-in reference',
    );
  }
  const disk = openDisk(image.path);
  try {
    const esp = openEsp(disk, new Memo());
    if (esp.volume === null) throw new UnsupportedError(`${image.path}: no readable ESP${esp.error ? ` (${esp.error})` : ''}`);
    const read = (name: string): Uint8Array => {
      const node = esp.volume!.lookup(name);
      if (node === null || node.kind !== 'file' || node.entry === null) throw new UnsupportedError(`${image.path}: the ESP has no ${name}`);
      return esp.volume!.readFile(node.entry, MAX_BOOT_FILE);
    };
    return { kind: 'direct', kernel: read('\\vmlinuz'), ramdisk: read('\\initrd.img'), cmdline: DEFAULT_CMDLINE, from: `${image.source}: \\vmlinuz, \\initrd.img` };
  } finally {
    disk.close();
  }
}
