import { FileByteSource } from '../../bytes/byte-source.js';
import { UnsupportedError } from '../../bytes/errors.js';
import { QCOW2_MAGIC } from './qcow2.js';

/** The disk image formats vmspec reads and hands to QEMU. Anything else is refused by its magic. */
export type DiskFormat = 'raw' | 'qcow2';

/** A container recognised by its magic and refused, with how to turn it into one we read. */
export interface Refusal {
  format: string;
  hint: string;
}

/** What a file is: a format we read, or a container we refuse. */
export type Detected = { format: DiskFormat; refused: null } | { format: null; refused: Refusal };

/** Bytes of the file's start looked at (magic and text descriptors lie in the first 512). */
export const HEAD_BYTES = 4096;
/** Bytes of the file's end looked at (a VHD footer). */
export const TAIL_BYTES = 512;

const TO_RAW = 'convert with `qemu-img convert -O raw IMAGE OUT.raw`';

/** "QFI\xfb" at offset 0 (QEMU docs/interop/qcow2.txt, magic). */
export function hasQcow2Magic(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false) === QCOW2_MAGIC;
}

/**
 * Formats we refuse, by the magic each spec puts at a fixed place: every
 * image format qemu-img reads from a plain file besides raw and qcow2
 * (vmdk, vhdx, vdi, vpc, qed, qcow v1, parallels, bochs, cloop, dmg, luks).
 * Checked before falling back to raw, so a container is never misread as a
 * raw disk without a partition table.
 */
export function refusedContainer(head: Uint8Array, tail: Uint8Array): Refusal | null {
  const ascii = (b: Uint8Array, at: number, n: number): string => Buffer.from(b.subarray(at, at + n)).toString('latin1');
  const u32le = (b: Uint8Array, at: number): number => (b.length >= at + 4 ? new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, true) : -1);
  const u32be = (b: Uint8Array, at: number): number => (b.length >= at + 4 ? new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, false) : -1);
  // VMDK sparse extent "KDMV" (VMware Virtual Disk Format 5.0 §"Hosted Sparse Extent Header"), ESX "COWD", or a text descriptor.
  if (ascii(head, 0, 4) === 'KDMV' || ascii(head, 0, 4) === 'COWD') return { format: 'vmdk', hint: TO_RAW };
  if (/^\s*# Disk DescriptorFile/.test(ascii(head, 0, 512))) return { format: 'vmdk (descriptor file)', hint: TO_RAW };
  // VHDX file type identifier "vhdxfile" (MS-VHDX §2.2.1).
  if (ascii(head, 0, 8) === 'vhdxfile') return { format: 'vhdx', hint: TO_RAW };
  // VDI: "<<< Oracle VM VirtualBox Disk Image >>>" text, signature 0xbeda107f at 0x40.
  if (ascii(head, 0, 4) === '<<< ' || u32le(head, 0x40) === 0xbeda107f) return { format: 'vdi', hint: TO_RAW };
  // VHD (vpc) footer cookie "conectix": at the end (fixed), with a copy at the start (dynamic). Older footers are 511 bytes.
  const footer = tail.length === 512 && (ascii(tail, 0, 8) === 'conectix' || ascii(tail, 1, 8) === 'conectix');
  if (ascii(head, 0, 8) === 'conectix' || footer) {
    return { format: 'vpc (VHD)', hint: TO_RAW };
  }
  if (ascii(head, 0, 4) === 'QED\0') return { format: 'qed', hint: TO_RAW };
  // qcow version 1 shares qcow2's magic; its version field (offset 4) is 1 (QEMU block/qcow.c QCOW_VERSION).
  if (hasQcow2Magic(head) && u32be(head, 4) === 1) return { format: 'qcow (version 1)', hint: TO_RAW };
  // Parallels "WithoutFreeSpace" / "WithouFreSpacExt" at offset 0 (QEMU block/parallels.c HEADER_MAGIC, HEADER_MAGIC2).
  if (ascii(head, 0, 16) === 'WithoutFreeSpace' || ascii(head, 0, 16) === 'WithouFreSpacExt') return { format: 'parallels', hint: TO_RAW };
  // Bochs "Bochs Virtual HD Image" at offset 0 (QEMU block/bochs.c HEADER_MAGIC).
  if (ascii(head, 0, 22) === 'Bochs Virtual HD Image') return { format: 'bochs', hint: TO_RAW };
  // cloop: a shell-script header naming "#V2.0 Format" (QEMU block/cloop.c cloop_probe).
  if (ascii(head, 0, 23) === '#!/bin/sh\n#V2.0 Format\n') return { format: 'cloop', hint: TO_RAW };
  // Apple UDIF (dmg): the 512-byte trailer at the end starts with "koly" (QEMU block/dmg.c, dmg_open).
  if (tail.length === 512 && ascii(tail, 0, 4) === 'koly') return { format: 'dmg', hint: TO_RAW };
  // LUKS1/LUKS2 header magic "LUKS\xba\xbe".
  if (ascii(head, 0, 6) === 'LUKS\xba\xbe') return { format: 'LUKS encrypted volume', hint: 'decrypt it first (`cryptsetup open`, then read the mapped device), or convert with `qemu-img convert --object secret,... -O raw`' };
  return null;
}

/** qcow2 by its magic, a refused container by its own, raw otherwise. */
export function detectDiskFormat(head: Uint8Array, tail: Uint8Array): Detected {
  const refused = refusedContainer(head, tail);
  if (refused) return { format: null, refused };
  return { format: hasQcow2Magic(head) ? 'qcow2' : 'raw', refused: null };
}

/** The first HEAD_BYTES and last TAIL_BYTES of an open file (the whole file when shorter). */
export function fileEnds(file: FileByteSource): { head: Uint8Array; tail: Uint8Array } {
  const head = file.read(0, Math.min(file.size, HEAD_BYTES));
  const tail = file.size > 0 ? file.read(Math.max(0, file.size - TAIL_BYTES), Math.min(file.size, TAIL_BYTES)) : head;
  return { head, tail };
}

/** The refusal of `path`, as open-disk and the boot layer report it. */
export function refusalError(path: string, refused: Refusal): UnsupportedError {
  return new UnsupportedError(`${path}: ${refused.format} images are not supported (raw and qcow2 are)`, refused.hint);
}

/** What the file at `path` is, read-only, with its first bytes for callers that look further. */
export function detectDiskFile(path: string): { detected: Detected; head: Uint8Array } {
  const file = new FileByteSource(path);
  try {
    const { head, tail } = fileEnds(file);
    return { detected: detectDiskFormat(head, tail), head };
  } finally {
    file.close();
  }
}
