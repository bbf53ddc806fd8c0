import { statSync } from 'node:fs';
import { UnsupportedError } from '../../bytes/errors.js';
import { VIRT_PFLASH_BYTES } from './flash-file.js';
import type { Firmware } from '../qemu-run.js';
import type { SelectedFirmware } from './types.js';

/**
 * The selected firmware as boot/qemu-run.ts takes it ({code, varsTemplate?}).
 * That runner maps split pflash (code + per-VM vars, raw or qcow2) and a
 * stateless raw image, loaded as QEMU loads `-bios` (no store: volatile
 * variables); anything else is refused here with the reason rather than
 * booted wrongly.
 */
export function runnerFirmware(fw: SelectedFirmware): Firmware & { varsTemplate: string } {
  if (fw.mode !== 'split' || fw.varsTemplate === undefined) {
    throw new UnsupportedError(`the firmware "${fw.description}" is ${fw.mode}-mode; the QEMU runner maps split pflash (code + per-VM vars) only`, 'choose split-mode firmware (--firmware-feature, or --firmware CODE --vars-template VARS)');
  }
  return { code: fw.code.filename, varsTemplate: fw.varsTemplate.filename, codeFormat: fw.code.format, varsFormat: fw.varsTemplate.format };
}

/** Split firmware as above, or a stateless single image for `-bios` (raw only: QEMU loads -bios files as they are). */
export function runnerFirmwareOrBios(fw: SelectedFirmware): Firmware {
  if (fw.mode === 'stateless' && fw.varsTemplate === undefined) {
    if (fw.code.format !== 'raw') throw new UnsupportedError(`the firmware image ${fw.code.filename} is ${fw.code.format}; QEMU's -bios loads raw images only`, `convert it: qemu-img convert -O raw ${fw.code.filename} CODE.fd`);
    const size = statSync(fw.code.filename).size;
    if (size > VIRT_PFLASH_BYTES) throw new UnsupportedError(`the firmware image ${fw.code.filename} is ${size} bytes, more than the ${VIRT_PFLASH_BYTES}-byte flash QEMU's virt machine loads -bios into`, 'use a firmware image built for QEMU virt (at most 64 MiB)');
    return { code: fw.code.filename, codeFormat: 'raw' };
  }
  return runnerFirmware(fw);
}
