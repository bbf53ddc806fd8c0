import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FileByteSource, type ByteSource } from '../../bytes/byte-source.js';
import type { DiskImage } from './disk.js';
import { QCOW2_MAGIC, Qcow2Disk, qcow2Container, readQcow2Header } from './qcow2.js';
import { ParseError, UnsupportedError } from '../errors.js';

export interface OpenDiskOptions {
  /**
   * What to do with a qcow2 backing file. 'refuse' (default): throw
   * UnsupportedError naming it, since the image alone is not the disk.
   * 'follow': open it read-only, relative to the image's directory.
   */
  backing?: 'follow' | 'refuse';
}

/** Longest backing chain we follow (overlay → base counts 1). */
export const MAX_BACKING_DEPTH = 8;

const TO_RAW = 'convert with `qemu-img convert -O raw IMAGE OUT.raw`';

/** A container we recognise by its magic and refuse to read. */
interface Refusal {
  format: string;
  hint: string;
}

/**
 * Formats we refuse, by the magic each spec puts at a fixed place. Checked
 * before falling back to raw, so a vmdk is never misread as a raw disk
 * without a partition table.
 */
function sniffRefused(head: Uint8Array, tail: Uint8Array): Refusal | null {
  const ascii = (b: Uint8Array, at: number, n: number): string => Buffer.from(b.subarray(at, at + n)).toString('latin1');
  const u32le = (b: Uint8Array, at: number): number => (b.length >= at + 4 ? new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, true) : -1);
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
  // LUKS1/LUKS2 header magic "LUKS\xba\xbe".
  if (ascii(head, 0, 6) === 'LUKS\xba\xbe') return { format: 'LUKS encrypted volume', hint: 'decrypt it first (`cryptsetup open`, then read the mapped device), or convert with `qemu-img convert --object secret,... -O raw`' };
  return null;
}

/**
 * Opens a disk image read-only (never written): qcow2 by magic, known
 * other containers refused with a hint, anything else raw.
 */
export function openDisk(path: string, opts: OpenDiskOptions = {}): DiskImage {
  return openAt(path, opts, [], null);
}

/** `chain`: real paths of the images above this one (loop detection); `format`: forced by a qcow2 backing-format extension. */
function openAt(path: string, opts: OpenDiskOptions, chain: string[], format: string | null): DiskImage {
  const file = new FileByteSource(path);
  try {
    const head = file.read(0, Math.min(file.size, 4096));
    const tail = file.size > 0 ? file.read(Math.max(0, file.size - 512), Math.min(file.size, 512)) : head;
    const isQcow2 = head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false) === QCOW2_MAGIC;
    if (format === 'raw') return rawImage(path, file);
    if (format !== null && format !== 'qcow2') {
      throw new UnsupportedError(`${path}: backing file format "${format}" is not supported (raw and qcow2 are)`, TO_RAW);
    }
    if (isQcow2) return qcow2Image(path, file, opts, chain);
    if (format === 'qcow2') throw new ParseError('qcow2 header', 0, `${path}: declared as a qcow2 backing file but has no qcow2 magic`);
    const refused = sniffRefused(head, tail);
    if (refused) throw new UnsupportedError(`${path}: ${refused.format} images are not supported (raw and qcow2 are)`, refused.hint);
    return rawImage(path, file);
  } catch (e) {
    file.close();
    throw e;
  }
}

function rawImage(path: string, file: FileByteSource): DiskImage {
  return { path, format: 'raw', disk: file, fileSize: file.size, container: {}, close: () => file.close() };
}

function qcow2Image(path: string, file: FileByteSource, opts: OpenDiskOptions, chain: string[]): DiskImage {
  const header = readQcow2Header(file);
  let backing: DiskImage | null = null;
  if (header.backingFile !== null) backing = openBacking(path, header.backingFile, header.backingFormat, header.backingFileOffset, opts, chain);
  const disk: ByteSource = new Qcow2Disk(file, header, backing?.disk ?? null);
  const container = { ...qcow2Container(header), backingChainDepth: backing ? 1 + Number(backing.container.backingChainDepth ?? 0) : 0 };
  return {
    path,
    format: 'qcow2',
    disk,
    fileSize: file.size,
    container,
    close: () => {
      backing?.close();
      file.close();
    },
  };
}

/** QEMU resolves a relative backing file name against the overlay's directory. Protocol names (nbd:, json:, http://) are refused. */
function openBacking(path: string, name: string, format: string | null, nameOffset: number, opts: OpenDiskOptions, chain: string[]): DiskImage {
  if ((opts.backing ?? 'refuse') === 'refuse') {
    throw new UnsupportedError(
      `${path}: qcow2 image has a backing file "${name}"${format ? ` (format ${format})` : ''}; the image alone is not the whole disk`,
      'give --backing follow to read the chain (read-only), or flatten the chain with `qemu-img convert -O qcow2 IMAGE FLAT.qcow2`',
    );
  }
  const plain = name.startsWith('file:') ? name.slice(5) : name;
  if (/^[a-z][a-z0-9+.-]*:/i.test(plain) && !isAbsolute(plain)) {
    throw new UnsupportedError(`${path}: backing file "${name}" is a protocol URL, not a local file`, 'flatten the chain with `qemu-img convert -O qcow2`');
  }
  const target = resolve(dirname(path), plain);
  let real: string;
  try {
    real = realpathSync(target);
  } catch (e) {
    throw new ParseError('qcow2 backing file name', nameOffset, `${path}: backing file "${name}" (${target}) cannot be opened: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const self = realpathSync(path);
  const seen = [...chain, self];
  if (seen.includes(real)) throw new ParseError('qcow2 backing file name', nameOffset, `${path}: backing chain loops back to ${real}`);
  if (seen.length > MAX_BACKING_DEPTH) throw new UnsupportedError(`${path}: backing chain deeper than ${MAX_BACKING_DEPTH} images`, 'flatten the chain with `qemu-img convert -O qcow2`');
  return openAt(target, opts, seen, format);
}
