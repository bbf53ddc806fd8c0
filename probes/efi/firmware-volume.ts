import { formatGuid } from '../../bytes/guid.js';
import { hex } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';
import { ParseError } from '../../bytes/errors.js';
import { gEfiSystemNvDataFvGuid } from './guids.js';
import type { VarStoreProblem } from './problems.js';

/**
 * EFI_FIRMWARE_VOLUME_HEADER (PI 1.7 Vol. 3 §3.2.1; MdePkg/Include/Pi/PiFirmwareVolume.h),
 * read here only: both the NV variable store reader (probes/efi) and the
 * search for firmware shipped inside an image (probes/rootfs) use it.
 * Offsets are from the start of the volume.
 */

const S = 'EFI_FIRMWARE_VOLUME_HEADER';
/** sizeof (EFI_FIRMWARE_VOLUME_HEADER) up to BlockMap[] (PiFirmwareVolume.h). */
export const FV_HEADER_FIXED_BYTES = 56;
/** EFI_FVH_SIGNATURE SIGNATURE_32 ('_', 'F', 'V', 'H') (PiFirmwareVolume.h). */
export const EFI_FVH_SIGNATURE = 0x4856465f;
/** EFI_FVH_REVISION (PiFirmwareVolume.h). */
export const EFI_FVH_REVISION = 0x02;
/** Largest volume this reader accepts: the AAVMF vars flash is 64 MiB, its FV 768 KiB. */
export const MAX_FV_BYTES = 64 * 1024 * 1024;
/** Most BlockMap entries walked before giving up on a terminator. */
const MAX_BLOCK_MAP_ENTRIES = 64;

/** The fixed part of EFI_FIRMWARE_VOLUME_HEADER, up to BlockMap[] (PI 1.7 Vol. 3 §3.2.1). */
export interface FvHeaderFixed {
  /** EFI_GUID FileSystemGuid (offset 16), canonical uppercase text. */
  FileSystemGuid: string;
  /** UINT64 FvLength (offset 32): the whole volume, header included. */
  FvLength: bigint;
  /** UINT32 Signature (offset 40): EFI_FVH_SIGNATURE. */
  Signature: number;
  /** EFI_FVB_ATTRIBUTES_2 Attributes (offset 44). */
  Attributes: number;
  /** UINT16 HeaderLength (offset 48): this header with its BlockMap. */
  HeaderLength: number;
  /** UINT16 Checksum (offset 50): makes the 16-bit sum over HeaderLength bytes zero. */
  Checksum: number;
  /** UINT16 ExtHeaderOffset (offset 52): 0 when there is no extended header. */
  ExtHeaderOffset: number;
  /** UINT8 Revision (offset 55). */
  Revision: number;
}

/** The fixed part of a volume header at `at`; `r` throws when it runs past the end. */
export function readFvHeaderFixed(r: LeReader, at: number): FvHeaderFixed {
  r.need(at, FV_HEADER_FIXED_BYTES, 'the fixed part of the header');
  return {
    FileSystemGuid: formatGuid(r.slice(at + 16, 16, 'FileSystemGuid')),
    FvLength: r.u64(at + 32, 'FvLength'),
    Signature: r.u32(at + 40, 'Signature'),
    Attributes: r.u32(at + 44, 'Attributes'),
    HeaderLength: r.u16(at + 48, 'HeaderLength'),
    Checksum: r.u16(at + 50, 'Checksum'),
    ExtHeaderOffset: r.u16(at + 52, 'ExtHeaderOffset'),
    Revision: r.u8(at + 55, 'Revision'),
  };
}

/** The 16-bit sum of the header's words: zero for a valid header (PI 1.7 Vol. 3 §3.2.1, Checksum). */
export function fvHeaderSum(r: LeReader, at: number, HeaderLength: number): number {
  let sum = 0;
  for (let o = 0; o < HeaderLength; o += 2) sum = (sum + r.u16(at + o, 'header word')) & 0xffff;
  return sum;
}

/** EFI_FV_BLOCK_MAP_ENTRY (PiFirmwareVolume.h). */
export interface FvBlockMapEntry {
  /** UINT32 NumBlocks: the number of blocks of this length. */
  NumBlocks: number;
  /** UINT32 Length: bytes per block. */
  Length: number;
}

export interface FirmwareVolumeHeader {
  /** EFI_GUID FileSystemGuid: gEfiSystemNvDataFvGuid for a variable store volume. */
  FileSystemGuid: string;
  /** UINT64 FvLength: the whole volume, header included. */
  FvLength: number;
  /** UINT32 Attributes: EFI_FVB_ATTRIBUTES_2. */
  Attributes: number;
  /** UINT16 HeaderLength: this header with its BlockMap; the variable store starts here. */
  HeaderLength: number;
  /** UINT16 Checksum: makes the 16-bit sum over HeaderLength bytes zero. */
  Checksum: number;
  /** UINT16 ExtHeaderOffset: 0 when there is no extended header. */
  ExtHeaderOffset: number;
  /** UINT8 Revision: EFI_FVH_REVISION (2). */
  Revision: number;
  /** EFI_FV_BLOCK_MAP_ENTRY BlockMap[], without the {0, 0} terminator. */
  BlockMap: FvBlockMapEntry[];
  /**
   * Bytes the BlockMap describes. Not FvLength under QEMU: ArmVirtPkg's
   * NorFlashDxe, formatting a blank vars file, maps the whole flash device
   * (256 x 256 KiB) while FvLength covers only the store and FTW blocks.
   */
  blockMapBytes: number;
  /** The 16-bit sum over the header is zero. */
  checksumValid: boolean;
  /** FileSystemGuid is gEfiSystemNvDataFvGuid. */
  isNvData: boolean;
}

/**
 * The volume header at offset 0. Throws ParseError when there is no volume
 * (no "_FVH") or its lengths cannot be right; reports a bad checksum, an
 * unexpected FileSystemGuid or revision and a BlockMap that disagrees with
 * FvLength as problems, since the store behind them may still be readable.
 */
export function parseFirmwareVolumeHeader(input: LeReader, problems: VarStoreProblem[]): FirmwareVolumeHeader {
  const r = input.as(S);
  const fixed = readFvHeaderFixed(r, 0);
  if (fixed.Signature !== EFI_FVH_SIGNATURE) {
    throw new ParseError(S, 40, `Signature is ${hex(fixed.Signature, 8)}, not "_FVH": this is not an edk2 variable store volume (is it the CODE file, or a qcow2 container?)`);
  }
  const FileSystemGuid = fixed.FileSystemGuid.toLowerCase();
  const { FvLength: fvLength, Attributes, HeaderLength, Checksum, ExtHeaderOffset, Revision } = fixed;

  if (fvLength > BigInt(MAX_FV_BYTES)) {
    throw new ParseError(S, 32, `FvLength ${fvLength} exceeds the ${MAX_FV_BYTES}-byte cap for a variable store volume`);
  }
  const FvLength = Number(fvLength);
  if (HeaderLength < FV_HEADER_FIXED_BYTES + 8 || HeaderLength % 2 !== 0 || HeaderLength > FvLength) {
    throw new ParseError(S, 48, `HeaderLength ${HeaderLength} is impossible (must be even, at least ${FV_HEADER_FIXED_BYTES + 8} for one BlockMap terminator, and within FvLength ${FvLength})`);
  }
  r.need(0, HeaderLength, 'HeaderLength');

  const sum = fvHeaderSum(r, 0, HeaderLength);
  const checksumValid = sum === 0;
  if (!checksumValid) problems.push({ structure: S, offset: 50, message: `Checksum ${hex(Checksum)} is wrong: the 16-bit sum over the ${HeaderLength}-byte header is ${hex(sum)}, not 0 (edk2 would treat the volume as corrupt and reformat it)` });

  const isNvData = FileSystemGuid === gEfiSystemNvDataFvGuid;
  if (!isNvData) problems.push({ structure: S, offset: 16, message: `FileSystemGuid ${FileSystemGuid} is not gEfiSystemNvDataFvGuid (${gEfiSystemNvDataFvGuid})` });
  if (Revision !== EFI_FVH_REVISION) problems.push({ structure: S, offset: 55, message: `Revision ${Revision} is not EFI_FVH_REVISION (${EFI_FVH_REVISION})` });

  const BlockMap: FvBlockMapEntry[] = [];
  let terminated = false;
  for (let o = FV_HEADER_FIXED_BYTES; o + 8 <= HeaderLength && BlockMap.length < MAX_BLOCK_MAP_ENTRIES; o += 8) {
    const NumBlocks = r.u32(o, 'BlockMap NumBlocks');
    const Length = r.u32(o + 4, 'BlockMap Length');
    if (NumBlocks === 0 && Length === 0) {
      terminated = true;
      break;
    }
    BlockMap.push({ NumBlocks, Length });
  }
  if (!terminated) problems.push({ structure: S, offset: FV_HEADER_FIXED_BYTES, message: `BlockMap has no {0, 0} terminator within HeaderLength ${HeaderLength}` });
  const blockMapBytes = BlockMap.reduce((n, b) => n + b.NumBlocks * b.Length, 0);
  if (blockMapBytes < FvLength) problems.push({ structure: S, offset: FV_HEADER_FIXED_BYTES, message: `BlockMap covers ${blockMapBytes} bytes, less than FvLength ${FvLength}` });
  return { FileSystemGuid, FvLength, Attributes, HeaderLength, Checksum, ExtHeaderOffset, Revision, BlockMap, blockMapBytes, checksumValid, isNvData };
}

/** A volume header found in the first bytes of a file. */
export interface FvHit {
  /** Offset of the header in the file. */
  offset: number;
  /** FileSystemGuid, canonical uppercase text. */
  guid: string;
  /** FvLength. */
  fvLength: number;
}

/**
 * The first valid volume header in `head` (the first bytes of a file of
 * `fileSize` bytes), or null: a Signature "_FVH" at an 8-byte aligned
 * offset 40 into a header whose HeaderLength is plausible, Revision 1 or 2,
 * words sum to zero and FvLength lies within the file. Reads only `head`.
 */
/** "_FVH": EFI_FVH_SIGNATURE as it lies on disk. */
const FVH_SIGNATURE_BYTES = Buffer.from('_FVH', 'latin1');

export function findFirmwareVolume(head: Uint8Array, fileSize: number): FvHit | null {
  const r = new LeReader(head, S);
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.length);
  // indexOf finds the signature natively (a loop over every 8th word cost ~40 ms a verify); only 8-byte-aligned hits count.
  for (let sig = bytes.indexOf(FVH_SIGNATURE_BYTES, 40); sig !== -1 && sig + 16 <= head.length; sig = bytes.indexOf(FVH_SIGNATURE_BYTES, sig + 1)) {
    if (sig % 8 !== 0) continue;
    const start = sig - 40;
    const h = readFvHeaderFixed(r, start);
    if (h.HeaderLength < 72 || h.HeaderLength > 4096 || h.HeaderLength % 2 !== 0 || start + h.HeaderLength > head.length) continue;
    if (h.Revision !== 1 && h.Revision !== 2) continue;
    if (fvHeaderSum(r, start, h.HeaderLength) !== 0) continue;
    const fvLength = Number(h.FvLength);
    if (fvLength < h.HeaderLength || start + fvLength > fileSize) continue;
    return { offset: start, guid: h.FileSystemGuid, fvLength };
  }
  return null;
}
