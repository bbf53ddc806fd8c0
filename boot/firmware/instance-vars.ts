import { statSync } from 'node:fs';
import { UnsupportedError } from '../../bytes/errors.js';
import { copyFileSparse } from '../../bytes/sparse-copy.js';
import type { FlashFile, SelectedFirmware } from './types.js';

/**
 * The per-instance variable store: a COPY of the firmware's nvram template,
 * as libvirt makes /var/lib/libvirt/qemu/nvram/<name>_VARS.fd. The spec
 * (FW-5) wants the store to belong to the VM instance; a link would let
 * one VM's variables leak into the template and every other VM.
 */

/** libvirt's file name for an instance's store: NAME_VARS.fd (raw) or NAME_VARS.qcow2. */
export function instanceVarsName(instance: string, format: FlashFile['format'] = 'raw'): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/.test(instance)) {
    throw new UnsupportedError(`instance name ${JSON.stringify(instance)} cannot name a vars file`, 'use 1-128 letters, digits, ".", "_", "+" or "-", starting with a letter or digit');
  }
  return `${instance}_VARS.${format === 'qcow2' ? 'qcow2' : 'fd'}`;
}

export interface InstanceVarsOptions {
  /** Replace an existing file at `dest` (default: refuse). */
  overwrite?: boolean;
}

/** Copy `fw`'s vars template to `dest` (never a link); refuses to overwrite unless told to. */
export function createInstanceVars(fw: SelectedFirmware, dest: string, opts: InstanceVarsOptions = {}): FlashFile {
  const template = fw.varsTemplate;
  if (template === undefined) {
    throw new UnsupportedError(`the firmware "${fw.description}" (mode ${fw.mode}) has no nvram template: there is no variable store to copy`, 'choose split-mode firmware, or pass --vars-template VARS');
  }
  try {
    // exclusive: fail rather than replace, atomically (no check-then-copy race).
    // Sparse: Debian's 64 MiB AAVMF_VARS.fd is all zeros until edk2 formats it.
    copyFileSparse(template.filename, dest, { exclusive: !opts.overwrite });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UnsupportedError(`the instance vars file ${dest} already exists`, 'it may hold this VM\'s variables: remove it, pick another path, or ask to overwrite it');
    throw new UnsupportedError(`cannot copy the vars template ${template.filename} to ${dest}: ${code ?? (e as Error).message}`);
  }
  const want = statSync(template.filename).size;
  const got = statSync(dest).size;
  if (got !== want) throw new UnsupportedError(`copying ${template.filename} to ${dest} gave ${got} bytes, not ${want}`, 'check free space where the instance files go');
  return { filename: dest, format: template.format };
}
