import { createHash } from 'node:crypto';

/**
 * What the Xen guest firmware is built from: Debian's `u-boot` source
 * package, U-Boot's `xenguest_arm64_defconfig` (Xen PV block, the Xen PV
 * console, EFI_LOADER), and a small fragment without which the stock build
 * cannot boot a UEFI disk image by itself (each line says why).
 */

/** Bump when the build recipe changes in a way the inputs below do not show. */
export const GUEST_FIRMWARE_BUILDER_VERSION = 1;

export const UBOOT_SOURCE_PACKAGE = 'u-boot';
export const UBOOT_DEFCONFIG = 'xenguest_arm64_defconfig';
export const CROSS_COMPILE = 'aarch64-linux-gnu-';

/**
 * The boot command: first the UEFI boot manager (Boot#### / BootOrder), then
 * the removable-media path \EFI\BOOT\BOOTAA64.EFI (UEFI 2.10 §3.5.1.1) on
 * every bootable partition (U-Boot's `part list -bootable`: the ESP type GUID
 * or the legacy bootable bit) of the first four PV disks, as distro boot does.
 */
export const UBOOT_BOOTCOMMAND =
  'bootefi bootmgr; ' +
  'for d in 0 1 2 3; do if part list pvblock ${d} -bootable esps; then ' +
  'for p in ${esps}; do if fatload pvblock ${d}:${p} ${loadaddr} efi/boot/bootaa64.efi; then bootefi ${loadaddr}; fi; done; ' +
  'fi; done';

/** Kconfig lines added to the defconfig, each with the reason the stock build needs it. */
export const UBOOT_CONFIG_FRAGMENT: readonly { line: string; why: string }[] = [
  { line: 'CONFIG_EFI_PARTITION=y', why: 'the stock build reads MBR only; UEFI disk images are GPT' },
  { line: 'CONFIG_CMD_PART=y', why: '`part list -bootable` finds the ESP' },
  { line: 'CONFIG_HUSH_PARSER=y', why: 'for/if in the boot command' },
  { line: 'CONFIG_BOOTDELAY=0', why: 'no 10 s countdown (stock), the boot is unattended' },
  { line: 'CONFIG_USE_BOOTCOMMAND=y', why: 'the stock bootcmd is empty: it stops at the xenguest# prompt' },
  { line: `CONFIG_BOOTCOMMAND="${UBOOT_BOOTCOMMAND}"`, why: 'boot manager, then \\EFI\\BOOT\\BOOTAA64.EFI from the PV disks' },
];

/**
 * Patches applied on top of Debian's, each with why (both found booting the
 * stock build as a domU under Debian's Xen 4.17, docs/xen.md):
 * - U-Boot 2023.01 gives a PV block disk the root node's device path (its
 *   parent class is not handled), so creating its EFI disk fails with
 *   EFI_ALREADY_STARTED ("Adding disk for pvblock_blk failed
 *   (err=...0x14)") and no UEFI application sees a disk or the ESP; later
 *   U-Boot describes every such block device by a vendor node.
 * - The Xen guest board releases its shared_info page (xen_fini) only on
 *   the bootm path, not at ExitBootServices; Linux's own XENMEM_add_to_physmap
 *   of it then fails with -EBUSY (Xen 4.17 refuses a second mapping) and
 *   xen_guest_init() hits BUG() (arch/arm/xen/enlighten.c:475).
 * - xenbus waits 5 s for a xenstore reply; nested under TCG xenstored was
 *   slower, pvblock reported "backend not available, state=2" and its error
 *   path took a Synchronous Abort (the domain reset).
 */
export const UBOOT_PATCHES: readonly { file: string; why: string }[] = [
  { file: 'guest-firmware-efi-pvblock.patch', why: 'an EFI device path for Xen PV block disks, so they become EFI Block I/O devices with their partitions' },
  { file: 'guest-firmware-efi-xen-fini.patch', why: 'ExitBootServices releases the Xen shared_info page, grant table and event channels, as bootm does' },
  { file: 'guest-firmware-xenbus-timeout.patch', why: 'wait 60 s, not 5 s, for a xenstore reply: on a slow host the PV block probe gave up and its error path faulted (2 boots in 3)' },
];

/** Options read back from the built .config and recorded with the firmware. */
export const RECORDED_OPTIONS = [
  'CONFIG_XEN',
  'CONFIG_XEN_SERIAL',
  'CONFIG_PVBLOCK',
  'CONFIG_EFI_LOADER',
  'CONFIG_EFI_PARTITION',
  'CONFIG_CMD_BOOTEFI_BOOTMGR',
  'CONFIG_EFI_VARIABLE_FILE_STORE',
  'CONFIG_EFI_VARIABLE_NO_STORE',
  'CONFIG_EFI_MM_COMM_TEE',
  'CONFIG_EFI_GET_TIME',
  'CONFIG_EFI_SET_TIME',
  'CONFIG_DM_RTC',
  'CONFIG_EFI_HAVE_RUNTIME_RESET',
  'CONFIG_EFI_SECURE_BOOT',
  'CONFIG_GENERATE_ACPI_TABLE',
  'CONFIG_BOOTDELAY',
  'CONFIG_BOOTCOMMAND',
] as const;

/**
 * A Kconfig .config file as name → value: `CONFIG_X=y` → 'y', strings
 * unquoted (\" and \\ undone), `# CONFIG_X is not set` → 'n'. Other lines
 * are ignored; a later line wins, as in Kconfig.
 */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) {
      out.set(unset[1]!, 'n');
      continue;
    }
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!set) continue;
    const value = set[2]!;
    out.set(set[1]!, /^".*"$/.test(value) ? value.slice(1, -1).replace(/\\(["\\])/g, '$1') : value);
  }
  return out;
}

/** The fragment lines the configured .config did not keep (Kconfig drops what a dependency forbids). */
export function fragmentNotApplied(config: Map<string, string>): string[] {
  const wanted = parseKconfig(UBOOT_CONFIG_FRAGMENT.map((f) => f.line).join('\n'));
  return [...wanted].filter(([k, v]) => config.get(k) !== v).map(([k, v]) => `${k}=${v} (got ${config.get(k) ?? 'absent'})`);
}

/** What decides the bytes of the firmware, beyond the compiler. */
export interface GuestFirmwareRecipe {
  sourcePackage: string;
  /** Debian source version, e.g. 2023.01+dfsg-2+deb12u3. */
  sourceVersion: string;
  /** sha256 of the .dsc (which lists the sha256 of every source file). */
  dscSha256: string;
  defconfig: string;
  fragment: readonly string[];
  /** Local patches by file name, with the sha256 of their text. */
  patches: readonly { file: string; sha256: string }[];
  builderVersion: number;
}

export function guestFirmwareRecipe(sourceVersion: string, dscSha256: string, patches: readonly { file: string; text: string }[]): GuestFirmwareRecipe {
  return {
    sourcePackage: UBOOT_SOURCE_PACKAGE,
    sourceVersion,
    dscSha256,
    defconfig: UBOOT_DEFCONFIG,
    fragment: UBOOT_CONFIG_FRAGMENT.map((f) => f.line),
    patches: patches.map((p) => ({ file: p.file, sha256: createHash('sha256').update(p.text).digest('hex') })),
    builderVersion: GUEST_FIRMWARE_BUILDER_VERSION,
  };
}

/** The cache directory name of a recipe: readable version, then a hash of everything. */
export function guestFirmwareCacheKey(r: GuestFirmwareRecipe): string {
  const h = createHash('sha256').update(JSON.stringify(r)).digest('hex').slice(0, 16);
  return `${r.sourcePackage}_${r.sourceVersion.replace(/[^A-Za-z0-9.+~-]/g, '_')}_${h}`;
}
