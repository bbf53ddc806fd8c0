import { UnsupportedError } from '../../bytes/errors.js';
import { flashFileProblem, sniffFlashFormat } from './flash-file.js';
import type { FlashMode, SelectedFirmware } from './types.js';

/** `--firmware CODE [--vars-template VARS]`: the files the user named, instead of a descriptor. */
export interface FirmwarePaths {
  code: string;
  varsTemplate?: string;
}

/**
 * The same SelectedFirmware selection returns, built from explicit paths:
 * split mode with a vars template, stateless without one (no persistent
 * variables). Both files must be readable regular files; their formats are
 * sniffed (qcow2 by magic, raw otherwise). Features are unknown: none.
 */
export function firmwareFromPaths(p: FirmwarePaths): SelectedFirmware {
  const problems = [flashFileProblem(p.code, '--firmware')];
  if (p.varsTemplate !== undefined) problems.push(flashFileProblem(p.varsTemplate, '--vars-template'));
  const found = problems.filter((x): x is string => x !== undefined);
  if (found.length) {
    throw new UnsupportedError(found.join('; '), 'give absolute paths to readable files: --firmware CODE.fd --vars-template VARS.fd (e.g. /usr/share/AAVMF/AAVMF_CODE.fd and AAVMF_VARS.fd)');
  }
  const mode: FlashMode = p.varsTemplate !== undefined ? 'split' : 'stateless';
  return {
    description: p.varsTemplate !== undefined ? `explicit firmware ${p.code} with variable store template ${p.varsTemplate}` : `explicit firmware ${p.code} without a variable store`,
    code: { filename: p.code, format: sniffFlashFormat(p.code) },
    ...(p.varsTemplate !== undefined ? { varsTemplate: { filename: p.varsTemplate, format: sniffFlashFormat(p.varsTemplate) } } : {}),
    features: [],
    mode,
    warnings: [],
  };
}
