import { resolve } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import type { BootEnvironment } from '../types.js';
import { firmwareFromPaths } from './from-paths.js';
import { runnerFirmwareOrBios } from './runner-firmware.js';
import { findFirmware } from './select.js';
import type { SelectedFirmware } from './types.js';
import { firmwareVersion } from './version.js';

/** The `vmspec boot` options that choose the firmware. */
export interface BootFirmwareOptions {
  firmware?: string;
  varsTemplate?: string;
  firmwareFeature?: string[];
}

/**
 * The firmware `vmspec boot` runs with: --firmware CODE --vars-template VARS,
 * --firmware IMAGE alone (no variable store: volatile variables), or the best split-mode match among QEMU's firmware descriptors; with what
 * the results record of it (descriptor, package version, code hash).
 */
export async function resolveBootFirmware(o: BootFirmwareOptions, qemu: string): Promise<BootEnvironment['firmware']> {
  let fw: SelectedFirmware;
  if (o.firmware) {
    // Alone, a single image (QEMU_EFI.fd, any UEFI build): stateless, loaded as -bios; its variables are volatile.
    fw = firmwareFromPaths({ code: resolve(o.firmware), ...(o.varsTemplate ? { varsTemplate: resolve(o.varsTemplate) } : {}) });
  } else {
    if (o.varsTemplate) throw new UnsupportedError('--vars-template goes with --firmware CODE');
    fw = await findFirmware({ features: o.firmwareFeature ?? [], modes: ['split'], qemu });
  }
  const runner = runnerFirmwareOrBios(fw);
  const v = await firmwareVersion(fw);
  return {
    ...runner,
    descriptor: fw.descriptorPath ?? null,
    description: fw.description,
    version: v.package ? `${v.package.name} ${v.package.version}` : null,
    codeSha256: v.codeSha256,
    features: fw.features,
  };
}
