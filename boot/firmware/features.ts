import { UnsupportedError } from '../../bytes/errors.js';

/**
 * `--firmware-feature F` requires FirmwareFeature F in a descriptor;
 * `--firmware-feature no-F` excludes descriptors listing F. Unless the user
 * says otherwise, `secure-boot` is excluded: vmspec boots unsigned loaders
 * (the built-in reference image's grub-mkstandalone EFI binary, images under
 * test) that firmware with enrolled keys would refuse, and the VM spec does
 * not require Secure Boot. docs/firmware.md has the reasoning.
 */

/** FirmwareFeature values (QEMU docs/interop/firmware.json, through QEMU 9.x). */
export const FIRMWARE_FEATURES = [
  'acpi-s3', 'acpi-s4', 'amd-sev', 'amd-sev-es', 'amd-sev-snp', 'intel-tdx', 'enrolled-keys',
  'requires-smm', 'secure-boot', 'verbose-dynamic', 'verbose-static', 'host-uefi-vars',
] as const;

export interface FeatureRequirements {
  /** Every one must be in the descriptor's features. */
  require: string[];
  /** None may be. */
  exclude: string[];
  /** Why each entry is there: "requested" or the default policy's reason. */
  reasons: Record<string, string>;
}

export const SECURE_BOOT_POLICY = 'excluded by default: unsigned loaders must boot and the VM spec does not require Secure Boot (ask with --firmware-feature secure-boot)';

/** Parse `--firmware-feature` values and apply the default policy. */
export function featureRequirements(requested: readonly string[] = []): FeatureRequirements {
  const require: string[] = [];
  const exclude: string[] = [];
  const reasons: Record<string, string> = {};
  for (const raw of requested) {
    const value = raw.trim();
    const negated = value.startsWith('no-');
    const name = negated ? value.slice(3) : value;
    if (!(FIRMWARE_FEATURES as readonly string[]).includes(name)) {
      throw new UnsupportedError(`--firmware-feature ${JSON.stringify(raw)}: "${name}" is not a QEMU firmware feature`, `known features: ${FIRMWARE_FEATURES.join(', ')}; prefix with no- to exclude one`);
    }
    if ((negated ? require : exclude).includes(name)) {
      throw new UnsupportedError(`--firmware-feature asks for both ${name} and no-${name}`, 'give one of them');
    }
    const list = negated ? exclude : require;
    if (!list.includes(name)) list.push(name);
    reasons[name] = negated ? 'excluded on request' : 'requested';
  }
  if (!require.includes('secure-boot') && !exclude.includes('secure-boot')) {
    exclude.push('secure-boot');
    reasons['secure-boot'] = SECURE_BOOT_POLICY;
  }
  return { require, exclude, reasons };
}
