import { resolve } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import type { BootEnvironment } from '../types.js';
import { firmwareFromPaths } from './from-paths.js';
import { runnerFirmware } from './runner-firmware.js';
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
 * or the best split-mode match among QEMU's firmware descriptors; with what
 * the results record of it (descriptor, package version, code hash).
 */
export async function resolveBootFirmware(o: BootFirmwareOptions, qemu: string): Promise<BootEnvironment['firmware']> {
  let fw: SelectedFirmware;
  if (o.firmware) {
    if (!o.varsTemplate) throw new UnsupportedError('--firmware needs --vars-template too: every VM gets its own copy of a variable-store template', 'e.g. --firmware /usr/share/AAVMF/AAVMF_CODE.fd --vars-template /usr/share/AAVMF/AAVMF_VARS.fd');
    fw = firmwareFromPaths({ code: resolve(o.firmware), varsTemplate: resolve(o.varsTemplate) });
  } else {
    if (o.varsTemplate) throw new UnsupportedError('--vars-template goes with --firmware CODE');
    fw = await findFirmware({ features: o.firmwareFeature ?? [], modes: ['split'], qemu });
  }
  const runner = runnerFirmware(fw);
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
