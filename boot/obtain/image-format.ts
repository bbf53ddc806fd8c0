import { closeSync, openSync, readSync } from 'node:fs';
import { UnsupportedError } from '../../probes/errors.js';

/** The container formats `vmspec boot` hands to QEMU. */
export type ImageFormat = 'raw' | 'qcow2';

/** Archives and compressed streams people download by mistake ("…raw.xz", "…tar.xz"): never booted as raw. */
const PACKED: { name: string; test: (b: Buffer) => boolean; hint: string }[] = [
  { name: 'xz', test: (b) => b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), hint: 'decompress it first: `xz -dk FILE`' },
  { name: 'gzip', test: (b) => b[0] === 0x1f && b[1] === 0x8b, hint: 'decompress it first: `gunzip -k FILE`' },
  { name: 'zstd', test: (b) => b.readUInt32LE(0) === 0xfd2fb528, hint: 'decompress it first: `zstd -dk FILE`' },
  { name: 'bzip2', test: (b) => b.subarray(0, 3).toString('latin1') === 'BZh', hint: 'decompress it first: `bunzip2 -k FILE`' },
  { name: 'tar', test: (b) => b.subarray(257, 262).toString('latin1') === 'ustar', hint: 'extract the disk image from it first: `tar -xf FILE`' },
];

/**
 * qcow2 by its magic "QFI\xfb", raw otherwise. Compressed files and
 * archives are refused: QEMU would boot them as a raw disk of garbage.
 */
export function sniffImageFormat(path: string): ImageFormat {
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  // Bytes past n stay zero, which matches no magic, so a short file is tested as it is.
  if (n >= 4 && head.subarray(0, 4).equals(Buffer.from('QFI\xfb', 'latin1'))) return 'qcow2';
  for (const p of PACKED) if (p.test(head)) throw new UnsupportedError(`${path}: this is a ${p.name} file, not a disk image`, p.hint);
  return 'raw';
}
