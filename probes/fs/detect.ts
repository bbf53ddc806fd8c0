import type { ByteSource } from '../../bytes/byte-source.js';
import { EXT4_SUPER_MAGIC, extFlavour, SUPERBLOCK_OFFSET } from './ext4-superblock.js';

/** What a partition holds, named as blkid names it (TYPE=). */
export type FsKind = 'ext2' | 'ext3' | 'ext4' | 'jbd' | 'xfs' | 'btrfs' | 'LVM2_member' | 'crypto_LUKS' | 'vfat' | 'swap' | 'squashfs';

/** Page sizes a swap area may have been made for: arm64 kernels use 4K, 16K or 64K pages. */
const SWAP_PAGE_SIZES = [4096, 8192, 16384, 32768, 65536];

function bytesAt(src: ByteSource, offset: number, length: number): Uint8Array | undefined {
  return offset + length <= src.size ? src.read(offset, length) : undefined;
}

function ascii(src: ByteSource, offset: number, text: string): boolean {
  const b = bytesAt(src, offset, text.length);
  if (!b) return false;
  for (let i = 0; i < text.length; i++) if (b[i] !== text.charCodeAt(i)) return false;
  return true;
}

const le16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const le32 = (b: Uint8Array, o: number): number => le16(b, o) + le16(b, o + 2) * 0x10000;

/**
 * Names the filesystem (or volume format) on a ByteSource by its superblock
 * magic, reading only a few small blocks; null when nothing is recognised.
 * Signatures at the very start are tried first, so a LUKS or LVM header is
 * never mistaken for what it contains.
 */
export function detectFilesystem(src: ByteSource): FsKind | null {
  // LUKS1 and LUKS2 share the magic "LUKS\xba\xbe" at 0 (LUKS on-disk format spec, "phdr").
  const luks = bytesAt(src, 0, 6);
  if (luks && ascii(src, 0, 'LUKS') && luks[4] === 0xba && luks[5] === 0xbe) return 'crypto_LUKS';
  // XFS: sb_magicnum "XFSB" at 0 (XFS Algorithms & Data Structures, "Superblocks").
  if (ascii(src, 0, 'XFSB')) return 'xfs';
  // SquashFS: s_magic "hsqs" little-endian at 0 ("sqsh" on old big-endian images).
  if (ascii(src, 0, 'hsqs') || ascii(src, 0, 'sqsh')) return 'squashfs';
  // LVM2 PV: a "LABELONE" label in one of the first four 512-byte sectors, typed "LVM2 001" at +24.
  for (let sector = 0; sector < 4; sector++) {
    if (ascii(src, sector * 512, 'LABELONE') && ascii(src, sector * 512 + 24, 'LVM2 001')) return 'LVM2_member';
  }
  // swap: "SWAPSPACE2" (or the v0 "SWAP-SPACE") in the last 10 bytes of the first page.
  for (const page of SWAP_PAGE_SIZES) {
    if (ascii(src, page - 10, 'SWAPSPACE2') || ascii(src, page - 10, 'SWAP-SPACE')) return 'swap';
  }
  // btrfs: "_BHRfS_M" at offset 64 of the superblock at 64 KiB (btrfs docs, "On-disk format").
  if (ascii(src, 0x10000 + 64, '_BHRfS_M')) return 'btrfs';
  const ext = bytesAt(src, SUPERBLOCK_OFFSET, 0x68);
  if (ext && le16(ext, 0x38) === EXT4_SUPER_MAGIC) {
    // Features count only in a dynamic-revision (1) superblock.
    const dynamic = le32(ext, 0x4c) >= 1;
    return extFlavour(dynamic ? le32(ext, 0x5c) : 0, dynamic ? le32(ext, 0x60) : 0, dynamic ? le32(ext, 0x64) : 0);
  }
  if (isFatBootSector(bytesAt(src, 0, 512))) return 'vfat';
  return null;
}

/**
 * A FAT boot sector (Microsoft FAT specification, "Boot Sector and BPB"):
 * x86 jump, sane BPB and media byte, 0x55AA. An MBR fails the BPB checks.
 */
function isFatBootSector(b: Uint8Array | undefined): boolean {
  if (!b || b[510] !== 0x55 || b[511] !== 0xaa) return false;
  if (!(b[0] === 0xeb && b[2] === 0x90) && b[0] !== 0xe9) return false;
  const bytsPerSec = le16(b, 11);
  const secPerClus = b[13]!;
  const rsvdSecCnt = le16(b, 14);
  const numFats = b[16]!;
  const media = b[21]!;
  if (![512, 1024, 2048, 4096].includes(bytsPerSec)) return false;
  if (secPerClus === 0 || (secPerClus & (secPerClus - 1)) !== 0) return false;
  if (rsvdSecCnt === 0 || numFats === 0 || numFats > 4) return false;
  return media === 0xf0 || media >= 0xf8;
}
