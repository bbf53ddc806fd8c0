import { UnsupportedError } from '../../bytes/errors.js';
import type { Firmware } from '../qemu-run.js';
import type { SelectedFirmware } from './types.js';

/**
 * The selected firmware as boot/qemu-run.ts takes it ({code, varsTemplate}).
 * That runner maps split pflash only (code + per-VM vars, raw or qcow2);
 * anything else is refused here with the reason rather than booted wrongly.
 */
export function runnerFirmware(fw: SelectedFirmware): Firmware {
  if (fw.mode !== 'split' || fw.varsTemplate === undefined) {
    throw new UnsupportedError(`the firmware "${fw.description}" is ${fw.mode}-mode; the QEMU runner maps split pflash (code + per-VM vars) only`, 'choose split-mode firmware (--firmware-feature, or --firmware CODE --vars-template VARS)');
  }
  return { code: fw.code.filename, varsTemplate: fw.varsTemplate.filename, codeFormat: fw.code.format, varsFormat: fw.varsTemplate.format };
}
