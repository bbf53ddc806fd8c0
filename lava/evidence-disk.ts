import { closeSync, openSync, writeSync } from 'node:fs';
import { createEvidenceDisk } from '../boot/reference/evidence-disk.js';
import { GUEST_SCRIPT_OFFSET } from './guest-script.js';

/**
 * The shell jobs' evidence disk: the blank evidence disk (header in sector
 * 0) with the guest script from sector 1 on, where the job's one run step
 * copies it from (lava/guest-script.ts guestRunStep). The guest overwrites
 * the disk from byte 0 with the bundle once the script is in /tmp.
 */
export function createShellJobEvidenceDisk(path: string, guestScript: string): void {
  createEvidenceDisk(path);
  const bytes = Buffer.from(guestScript, 'utf8');
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, GUEST_SCRIPT_OFFSET);
  } finally {
    closeSync(fd);
  }
}
