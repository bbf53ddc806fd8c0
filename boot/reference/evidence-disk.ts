import { closeSync, openSync, writeSync, ftruncateSync } from 'node:fs';
import { UnsupportedError } from '../../bytes/errors.js';

/**
 * The evidence disk: a blank raw disk the reference image's /init writes the
 * evidence tar to (from byte 0; read back in place with TarSysroot). Its
 * first sector carries a small text header the guest reads BEFORE writing,
 * which marks the disk as the one to overwrite and tells the persistence
 * phase on any hypervisor (QEMU can use fw_cfg instead).
 */
export const EVIDENCE_DISK_MAGIC = 'VMSPEC-EVIDENCE-DISK 1';
export const DEFAULT_EVIDENCE_DISK_BYTES = 32 * 1024 * 1024;

export type Phase = 'write' | 'check';

/** How the guest ends the boot once its evidence is written: power off (PSCI SYSTEM_OFF) or reset (PSCI SYSTEM_RESET). */
export type GuestEnd = 'poweroff' | 'reset';

export interface EvidenceDiskOptions {
  sizeBytes?: number;
  phase?: Phase;
  nonce?: string;
  /** Default poweroff; reset adds `end=reset` to the header (boot/reference/init.sh then reboots instead). */
  end?: GuestEnd;
}

export function checkNonce(nonce: string): void {
  if (!/^[A-Za-z0-9]{1,64}$/.test(nonce)) throw new UnsupportedError(`nonce ${JSON.stringify(nonce)} must be 1-64 letters and digits`);
}

/** The 512-byte header text (NUL padded). */
export function evidenceDiskHeader(opts: Pick<EvidenceDiskOptions, 'phase' | 'nonce' | 'end'> = {}): Uint8Array {
  let text = `${EVIDENCE_DISK_MAGIC}\n`;
  if (opts.phase !== undefined) {
    if (opts.nonce === undefined) throw new UnsupportedError(`phase ${opts.phase} needs a nonce`);
    checkNonce(opts.nonce);
    text += `phase=${opts.phase}\nnonce=${opts.nonce}\n`;
  }
  if (opts.end === 'reset') text += 'end=reset\n';
  const out = new Uint8Array(512);
  out.set(new TextEncoder().encode(text));
  return out;
}

/** Create (or replace) a sparse evidence disk with the header in sector 0. */
export function createEvidenceDisk(path: string, opts: EvidenceDiskOptions = {}): void {
  const size = opts.sizeBytes ?? DEFAULT_EVIDENCE_DISK_BYTES;
  if (!Number.isSafeInteger(size) || size < 1024 * 1024 || size % 512 !== 0) {
    throw new UnsupportedError(`evidence disk size ${size} must be a multiple of 512, at least 1 MiB`);
  }
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    writeSync(fd, evidenceDiskHeader(opts), 0, 512, 0);
  } finally {
    closeSync(fd);
  }
}
