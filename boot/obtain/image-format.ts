import { UnsupportedError } from '../../bytes/errors.js';
import { detectDiskFile, refusalError, type DiskFormat } from '../../probes/image/disk-format.js';

/** Archives and compressed streams people download by mistake ("…raw.xz", "…tar.xz"): never booted as raw. */
const PACKED: { name: string; test: (b: Buffer) => boolean; hint: string }[] = [
  { name: 'xz', test: (b) => b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), hint: 'decompress it first: `xz -dk FILE`' },
  { name: 'gzip', test: (b) => b[0] === 0x1f && b[1] === 0x8b, hint: 'decompress it first: `gunzip -k FILE`' },
  { name: 'zstd', test: (b) => b.readUInt32LE(0) === 0xfd2fb528, hint: 'decompress it first: `zstd -dk FILE`' },
  { name: 'bzip2', test: (b) => b.subarray(0, 3).toString('latin1') === 'BZh', hint: 'decompress it first: `bunzip2 -k FILE`' },
  { name: 'tar', test: (b) => b.subarray(257, 262).toString('latin1') === 'ustar', hint: 'extract the disk image from it first: `tar -xf FILE`' },
];

/**
 * The disk format `vmspec boot` hands to QEMU: the image probes' detector
 * (qcow2 by its magic, other containers refused, raw otherwise), and on top
 * of it compressed files and archives refused: QEMU would boot them as a
 * raw disk of garbage.
 */
export function sniffImageFormat(path: string): DiskFormat {
  const { detected, head } = detectDiskFile(path);
  if (detected.refused) throw refusalError(path, detected.refused);
  if (detected.format === 'qcow2') return 'qcow2';
  // Bytes past the file's end stay zero, which matches no magic, so a short file is tested as it is.
  const first = Buffer.alloc(512);
  first.set(head.subarray(0, first.length));
  for (const p of PACKED) if (p.test(first)) throw new UnsupportedError(`${path}: this is a ${p.name} file, not a disk image`, p.hint);
  return 'raw';
}
