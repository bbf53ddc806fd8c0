import type { PeReading } from '../image/pe.js';
import { LeReader } from '../../bytes/le-reader.js';
import { asByteSource, SliceByteSource, type ByteSource } from '../../bytes/byte-source.js';

/**
 * What a GRUB EFI image (grub-mkimage / grub-mkstandalone output) carries in
 * its "mods" section (GRUB include/grub/kernel.h): a grub_module_info64
 * header (magic "mimg", offset, size) followed by objects, each a
 * {type, size} header: ELF modules (0), a memdisk (1), an embedded config
 * (2), the prefix (3), public keys (4), a DTB (5), the shim-lock opt-out (6).
 */

export interface GrubCore {
  /** The built-in prefix (where normal.mod looks for grub.cfg), e.g. "/EFI/debian" or "(memdisk)/boot/grub". */
  prefix: string | null;
  /** The embedded configuration script (grub-mkimage -c). */
  config: string | null;
  /** The memdisk image (grub-mkimage -m): FAT or tar, as a window of the file (read only where looked at). */
  memdisk: ByteSource | null;
  modules: number;
}

const MODULE_INFO_MAGIC = 0x676d696d; // "mimg"
const OBJ_ELF = 0;
const OBJ_MEMDISK = 1;
const OBJ_CONFIG = 2;
const OBJ_PREFIX = 3;

const cstr = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: false }).decode(b).replace(/\0[\s\S]*$/, '');

/**
 * Reads the mods section of a GRUB EFI image (the whole file, in memory or
 * as ranges); null when it is not one. Only the object headers, the config
 * and the prefix are read: module bodies and the memdisk (Debian's holds a
 * 2.4 MB font) are left where they are.
 */
export function readGrubCore(file: Uint8Array | ByteSource, pe: PeReading): GrubCore | null {
  const src = asByteSource(file, 'GRUB core image');
  const mods = pe.sections.find((s) => s.name === 'mods');
  if (!mods) return null;
  const start = mods.pointerToRawData;
  const end = Math.min(src.size, start + mods.sizeOfRawData);
  if (start + 24 > end) return null;
  const info = new LeReader(src.read(start, 24), 'GRUB core image');
  if (info.u32(0) !== MODULE_INFO_MAGIC) return null;
  const offset = Number(info.u64(8));
  const size = Number(info.u64(16));
  const limit = Math.min(end, start + size);
  const core: GrubCore = { prefix: null, config: null, memdisk: null, modules: 0 };
  let p = start + offset;
  for (let n = 0; p + 8 <= limit && n < 10_000; n++) {
    const header = new LeReader(src.read(p, 8), 'GRUB module header');
    const type = header.u32(0);
    const objSize = header.u32(4);
    if (objSize < 8 || p + objSize > limit) break;
    if (type === OBJ_ELF) core.modules++;
    else if (type === OBJ_MEMDISK) core.memdisk = new SliceByteSource(src, p + 8, objSize - 8, 'GRUB memdisk');
    else if (type === OBJ_CONFIG) core.config = cstr(src.read(p + 8, objSize - 8));
    else if (type === OBJ_PREFIX) core.prefix = cstr(src.read(p + 8, objSize - 8));
    p += objSize;
  }
  return core;
}
