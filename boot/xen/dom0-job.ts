import { UnsupportedError } from '../../bytes/errors.js';
import { buildCpio, type CpioEntry } from '../reference/cpio.js';

/**
 * The job dom0's /init (boot/xen/dom0-init.sh) runs: one newc cpio archive,
 * written to a raw file L0 QEMU gives dom0 as its first virtio disk
 * (/dev/vda), unpacked with `cpio -i` into /job:
 *
 *   vmspec-job   "VMSPEC-XEN-JOB 1", then name=DOMAIN and timeout=SECONDS
 *   xl.cfg       the domain configuration (paths /job/kernel, /job/ramdisk, /dev/vdX)
 *   kernel       what xl loads as the domain's kernel (a guest firmware, or the image's kernel)
 *   ramdisk      the image's initrd, when it boots directly
 */

export const JOB_MAGIC = 'VMSPEC-XEN-JOB 1';
/** Where dom0-init.sh unpacks the job. */
export const JOB_DIR = '/job';

export interface Dom0Job {
  /** The domain's name in xl.cfg: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit. */
  name: string;
  /** dom0 destroys the domain after this many seconds and reports `timeout`. */
  timeoutSeconds: number;
  xlConfig: string;
  kernel: Uint8Array;
  ramdisk?: Uint8Array;
}

export function encodeDom0Job(job: Dom0Job, mtime = 0): Uint8Array {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(job.name)) throw new UnsupportedError(`domain name ${JSON.stringify(job.name)} must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  if (!Number.isSafeInteger(job.timeoutSeconds) || job.timeoutSeconds < 1 || job.timeoutSeconds > 7 * 24 * 3600) throw new UnsupportedError(`domain timeout ${job.timeoutSeconds} s must be a whole number of seconds from 1 to ${7 * 24 * 3600}`);
  if (job.kernel.length === 0) throw new UnsupportedError('the domain kernel is empty');
  const entries: CpioEntry[] = [
    { type: 'file', path: 'vmspec-job', data: Buffer.from(`${JOB_MAGIC}\nname=${job.name}\ntimeout=${job.timeoutSeconds}\n`) },
    { type: 'file', path: 'xl.cfg', data: Buffer.from(job.xlConfig) },
    { type: 'file', path: 'kernel', data: job.kernel },
  ];
  if (job.ramdisk !== undefined) entries.push({ type: 'file', path: 'ramdisk', data: job.ramdisk });
  return buildCpio(entries, mtime);
}
