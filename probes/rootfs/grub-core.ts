import type { PeReading } from '../image/pe.js';
import { LeReader } from '../../bytes/le-reader.js';

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
  /** The memdisk image (grub-mkimage -m): FAT or tar. */
  memdisk: Uint8Array | null;
  modules: number;
}

const MODULE_INFO_MAGIC = 0x676d696d; // "mimg"
const OBJ_ELF = 0;
const OBJ_MEMDISK = 1;
const OBJ_CONFIG = 2;
const OBJ_PREFIX = 3;

const cstr = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: false }).decode(b).replace(/\0[\s\S]*$/, '');

/** Reads the mods section of a GRUB EFI image held in `bytes`; null when it is not one. */
export function readGrubCore(bytes: Uint8Array, pe: PeReading): GrubCore | null {
  const mods = pe.sections.find((s) => s.name === 'mods');
  if (!mods) return null;
  const start = mods.pointerToRawData;
  const end = Math.min(bytes.length, start + mods.sizeOfRawData);
  if (start + 24 > end) return null;
  const dv = new LeReader(bytes, 'GRUB core image');
  if (dv.u32(start) !== MODULE_INFO_MAGIC) return null;
  const offset = Number(dv.u64(start + 8));
  const size = Number(dv.u64(start + 16));
  const limit = Math.min(end, start + size);
  const core: GrubCore = { prefix: null, config: null, memdisk: null, modules: 0 };
  let p = start + offset;
  for (let n = 0; p + 8 <= limit && n < 10_000; n++) {
    const type = dv.u32(p);
    const objSize = dv.u32(p + 4);
    if (objSize < 8 || p + objSize > limit) break;
    const body = bytes.subarray(p + 8, p + objSize);
    if (type === OBJ_ELF) core.modules++;
    else if (type === OBJ_MEMDISK) core.memdisk = body;
    else if (type === OBJ_CONFIG) core.config = cstr(body);
    else if (type === OBJ_PREFIX) core.prefix = cstr(body);
    p += objSize;
  }
  return core;
}
