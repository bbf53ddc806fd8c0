import { crypto } from '../../bytes/lazy-builtins.js';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import { BtrfsBytes } from './btrfs-bytes.js';
import { crc32c } from '../../bytes/crc32.js';

/** The primary superblock is at 64 KiB (btrfs docs, "On-disk Format", "Superblock"). */
export const BTRFS_SUPER_INFO_OFFSET = 0x10000;
export const BTRFS_SUPER_INFO_SIZE = 4096;
/** "_BHRfS_M" as a little-endian u64. */
export const BTRFS_MAGIC = 0x4d5f53665248425fn;
/** Checksums are BTRFS_CSUM_SIZE bytes, covering everything after them. */
export const BTRFS_CSUM_SIZE = 32;
export const BTRFS_CSUM_TYPE_CRC32 = 0;
export const BTRFS_CSUM_TYPE_SHA256 = 2;
const CSUM_NAMES = ['crc32c', 'xxhash64', 'sha256', 'blake2b'];
export const BTRFS_SYSTEM_CHUNK_ARRAY_SIZE = 2048;

/** incompat_flags (uapi linux/btrfs.h BTRFS_FEATURE_INCOMPAT_*), by bit. */
export const INCOMPAT_NAMES: { [bit: number]: string } = {
  0: 'mixed_backref', 1: 'default_subvol', 2: 'mixed_groups', 3: 'compress_lzo', 4: 'compress_zstd',
  5: 'big_metadata', 6: 'extended_iref', 7: 'raid56', 8: 'skinny_metadata', 9: 'no_holes',
  10: 'metadata_uuid', 11: 'raid1c34', 12: 'zoned', 13: 'extent_tree_v2', 14: 'raid_stripe_tree', 16: 'simple_quota',
};
/** What this reader follows: everything but the layouts that move or restripe data (zoned, extent tree v2, raid stripe tree). */
const READABLE_INCOMPAT = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16];
export const BTRFS_FEATURE_INCOMPAT_METADATA_UUID = 10;

/** struct btrfs_super_block (btrfs_tree.h; docs "On-disk Format", "Superblock"): the fields this reader uses. */
export interface BtrfsSuperblock {
  fsid: string;
  /** What tree block headers carry: metadata_uuid when that feature is set, else fsid. */
  metadataFsid: string;
  bytenr: number;
  generation: bigint;
  /** Logical address of the root tree's root node. */
  root: number;
  chunk_root: number;
  log_root: number;
  total_bytes: number;
  root_dir_objectid: bigint;
  num_devices: number;
  sectorsize: number;
  nodesize: number;
  compat_ro_flags: bigint;
  incompat_flags: bigint;
  csum_type: number;
  root_level: number;
  chunk_root_level: number;
  /** dev_item.devid: which device of the filesystem this is. */
  devid: bigint;
  label: string;
  /** sys_chunk_array[sys_chunk_array_size]: the SYSTEM chunks, enough to read the chunk tree. */
  sys_chunk_array: Uint8Array;
}

/** A checksum as btrfs stores it in the first BTRFS_CSUM_SIZE bytes of a block: crc32c (LE u32) or sha256. */
export function blockCsumOk(csumType: number, block: Uint8Array): boolean {
  const covered = block.subarray(BTRFS_CSUM_SIZE);
  if (csumType === BTRFS_CSUM_TYPE_CRC32) {
    const c = crc32c(covered);
    return block[0] === (c & 0xff) && block[1] === ((c >>> 8) & 0xff) && block[2] === ((c >>> 16) & 0xff) && block[3] === c >>> 24;
  }
  const d = crypto().createHash('sha256').update(covered).digest();
  return d.every((v, i) => block[i] === v);
}

function uuidHex(r: BtrfsBytes, o: number): string {
  return r.hex(o, 16);
}

/** Reads and checks the primary superblock: magic, checksum, sizes and the features this reader follows. */
export function readSuperblock(src: ByteSource): BtrfsSuperblock {
  if (src.size < BTRFS_SUPER_INFO_OFFSET + BTRFS_SUPER_INFO_SIZE) {
    throw new ParseError('btrfs superblock', BTRFS_SUPER_INFO_OFFSET, `the volume (${src.size} bytes) is too small to hold one`);
  }
  const raw = src.read(BTRFS_SUPER_INFO_OFFSET, BTRFS_SUPER_INFO_SIZE);
  const r = new BtrfsBytes(raw, 'btrfs superblock', BTRFS_SUPER_INFO_OFFSET);
  if (r.u64big(0x40) !== BTRFS_MAGIC) throw new ParseError('btrfs superblock', BTRFS_SUPER_INFO_OFFSET + 0x40, 'bad magic (not "_BHRfS_M")');
  const csum_type = r.u16(0xc4);
  if (csum_type !== BTRFS_CSUM_TYPE_CRC32 && csum_type !== BTRFS_CSUM_TYPE_SHA256) {
    throw new UnsupportedError(`btrfs checksum type ${CSUM_NAMES[csum_type] ?? csum_type} is not one this reader verifies (crc32c, sha256)`);
  }
  if (!blockCsumOk(csum_type, raw)) throw new ParseError('btrfs superblock', BTRFS_SUPER_INFO_OFFSET, `${CSUM_NAMES[csum_type]} checksum mismatch`);
  const incompat_flags = r.u64big(0xbc);
  const refused: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((incompat_flags >> BigInt(bit)) & 1n && !READABLE_INCOMPAT.includes(bit)) refused.push(INCOMPAT_NAMES[bit] ?? `bit ${bit}`);
  }
  if (refused.length) throw new UnsupportedError(`btrfs incompat features this reader cannot follow: ${refused.join(', ')}`);
  const sectorsize = r.u32(0x90);
  const nodesize = r.u32(0x94);
  const pow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
  if (!pow2(sectorsize) || sectorsize < 4096 || sectorsize > 65536) throw new ParseError('btrfs superblock', BTRFS_SUPER_INFO_OFFSET + 0x90, `sectorsize ${sectorsize} is not a power of two in 4K..64K`);
  if (!pow2(nodesize) || nodesize < sectorsize || nodesize > 65536) throw new ParseError('btrfs superblock', BTRFS_SUPER_INFO_OFFSET + 0x94, `nodesize ${nodesize} is not a power of two in sectorsize..64K`);
  const size = r.u32(0xa0);
  if (size > BTRFS_SYSTEM_CHUNK_ARRAY_SIZE) throw new ParseError('btrfs superblock', BTRFS_SUPER_INFO_OFFSET + 0xa0, `sys_chunk_array_size ${size} exceeds ${BTRFS_SYSTEM_CHUNK_ARRAY_SIZE}`);
  const fsid = uuidHex(r, 0x20);
  const labelBytes = r.bytes(0x12b, 256);
  const nul = labelBytes.indexOf(0);
  return {
    fsid,
    metadataFsid: (incompat_flags >> BigInt(BTRFS_FEATURE_INCOMPAT_METADATA_UUID)) & 1n ? uuidHex(r, 0x23b) : fsid,
    bytenr: r.u64(0x30, 'bytenr'),
    generation: r.u64big(0x48),
    root: r.u64(0x50, 'root'),
    chunk_root: r.u64(0x58, 'chunk_root'),
    log_root: r.u64(0x60, 'log_root'),
    total_bytes: r.u64(0x70, 'total_bytes'),
    root_dir_objectid: r.u64big(0x80),
    num_devices: r.u64(0x88, 'num_devices'),
    sectorsize,
    nodesize,
    compat_ro_flags: r.u64big(0xb4),
    incompat_flags,
    csum_type,
    root_level: r.u8(0xc6),
    chunk_root_level: r.u8(0xc7),
    devid: r.u64big(0xc9),
    label: Buffer.from(nul < 0 ? labelBytes : labelBytes.subarray(0, nul)).toString('utf8'),
    sys_chunk_array: r.bytes(0x32b, size),
  };
}

export function incompatNames(flags: bigint): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) if ((flags >> BigInt(bit)) & 1n) out.push(INCOMPAT_NAMES[bit] ?? `bit ${bit}`);
  return out;
}
