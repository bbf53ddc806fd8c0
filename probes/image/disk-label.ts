import type { ByteSource } from '../../bytes/byte-source.js';

/**
 * A partition label other than GPT or MBR, recognised by the magic its
 * format documents. vmspec does not read these disks (the spec needs GPT);
 * naming the label turns "no partition table" into what is really there.
 */
export interface OtherDiskLabel {
  /** The label as its tools name it ("Sun disk label", "BSD disklabel"). */
  name: string;
  /** Byte offset of the magic that identified it. */
  offset: number;
}

/** Bytes read from the disk's start: enough for a DASD volume label at block 2 of 4096-byte blocks. */
const HEAD = 3 * 4096;

const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, false);
const le32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);

/** BSD struct disklabel: d_magic at 0 and d_magic2 at 132, both DISKMAGIC 0x82564557 (FreeBSD sys/disklabel.h; libblkid partitions/bsd.c). */
const BSD_DISKMAGIC = 0x82564557;
const BSD_D_MAGIC2 = 132;
/** Where the label sits: sector 1 (i386, LABELSECTOR 1), or offset 64 of sector 0 (alpha and others; libblkid bsd.c). */
const BSD_LABEL_OFFSETS = [512, 64];

/** Sun disk label: magic 0xDABE (big-endian) at offset 508 of sector 0 (libblkid partitions/sun.h SUN_LABEL_MAGIC). */
const SUN_MAGIC_OFFSET = 508;
const SUN_LABEL_MAGIC = 0xdabe;

/** SGI volume header: magic 0x0BE5A941 (big-endian) at offset 0 (libblkid partitions/sgi.c SGI_LABEL_MAGIC). */
const SGI_LABEL_MAGIC = 0x0be5a941;

/**
 * Atari AHDI root sector (Linux block/partitions/atari.h struct rootsector;
 * libblkid partitions/atari.c): hd_siz at 0x1C2, four 12-byte part entries
 * from 0x1C6 (flg, id[3], st, siz, big-endian). It has no magic: like both
 * readers, a primary entry that is active (flg bit 0), has an alphanumeric
 * id and lies within hd_siz identifies it.
 */
const ATARI_HD_SIZ = 0x1c2;
const ATARI_PART = 0x1c6;
const ATARI_PART_SIZE = 12;

/**
 * IBM DASD volume label (Linux block/partitions/ibm.c find_label): the EBCDIC
 * key "VOL1" (CDL), "LNX1" (LDL) or "CMS1" (CMS) at block 1 or 2 of the
 * device's block size (512..4096).
 */
const DASD_KEYS: [string, number[]][] = [
  ['VOL1', [0xe5, 0xd6, 0xd3, 0xf1]],
  ['LNX1', [0xd3, 0xd5, 0xe7, 0xf1]],
  ['CMS1', [0xc3, 0xd4, 0xe2, 0xf1]],
];
const DASD_BLOCK_SIZES = [512, 1024, 2048, 4096];

function atariLooksValid(b: Uint8Array): boolean {
  const hdSiz = be32(b, ATARI_HD_SIZ);
  if (hdSiz === 0) return false;
  const alnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  for (let i = 0; i < 4; i++) {
    const o = ATARI_PART + i * ATARI_PART_SIZE;
    const st = be32(b, o + 4);
    const siz = be32(b, o + 8);
    if ((b[o]! & 1) && alnum(b[o + 1]!) && alnum(b[o + 2]!) && alnum(b[o + 3]!) && siz > 0 && st + siz <= hdSiz) return true;
  }
  return false;
}

/**
 * The other label on a disk that has neither a GPT nor an MBR with
 * partitions, or null.
 */
export function otherDiskLabel(disk: ByteSource): OtherDiskLabel | null {
  if (disk.size < 512) return null;
  const b = disk.read(0, Math.min(disk.size, HEAD));
  const has = (o: number, n: number) => o + n <= b.length;
  if (be32(b, 0) === SGI_LABEL_MAGIC) return { name: 'SGI volume header', offset: 0 };
  if (be16(b, SUN_MAGIC_OFFSET) === SUN_LABEL_MAGIC) return { name: 'Sun disk label', offset: SUN_MAGIC_OFFSET };
  for (const o of BSD_LABEL_OFFSETS) {
    if (has(o + BSD_D_MAGIC2, 4) && le32(b, o) === BSD_DISKMAGIC && le32(b, o + BSD_D_MAGIC2) === BSD_DISKMAGIC) return { name: 'BSD disklabel', offset: o };
  }
  for (const size of DASD_BLOCK_SIZES) {
    for (const block of [2, 1]) {
      const o = size * block;
      if (!has(o, 4)) continue;
      const key = DASD_KEYS.find(([, k]) => k.every((c, i) => b[o + i] === c));
      if (key) return { name: `IBM DASD volume label (${key[0]})`, offset: o };
    }
  }
  // An MBR boot signature means the entries area holds MBR records, not Atari ones.
  const mbrSignature = b[510] === 0x55 && b[511] === 0xaa;
  if (!mbrSignature && atariLooksValid(b)) return { name: 'Atari AHDI root sector', offset: ATARI_PART };
  return null;
}
