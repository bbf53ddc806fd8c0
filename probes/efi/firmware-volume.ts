import { ParseError } from '../errors.js';
import { gEfiSystemNvDataFvGuid, guidText } from './guids.js';
import type { LeReader } from './le-reader.js';
import type { VarStoreProblem } from './problems.js';

/**
 * EFI_FIRMWARE_VOLUME_HEADER, the header of the firmware volume that holds
 * the NV variable store (MdePkg/Include/Pi/PiFirmwareVolume.h; PI 1.7 vol. 3
 * §3.2.1). Offsets are from the start of the volume.
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
export function parseFirmwareVolumeHeader(r: LeReader, problems: VarStoreProblem[]): FirmwareVolumeHeader {
  r.check(S, 0, FV_HEADER_FIXED_BYTES, 'the fixed part of the header');
  const signature = r.u32(S, 40, 'Signature');
  if (signature !== EFI_FVH_SIGNATURE) {
    throw new ParseError(S, 40, `Signature is 0x${signature.toString(16).padStart(8, '0')}, not "_FVH": this is not an edk2 variable store volume (is it the CODE file, or a qcow2 container?)`);
  }
  const FileSystemGuid = guidText(r.slice(S, 16, 16, 'FileSystemGuid'));
  const fvLength = r.u64(S, 32, 'FvLength');
  const Attributes = r.u32(S, 44, 'Attributes');
  const HeaderLength = r.u16(S, 48, 'HeaderLength');
  const Checksum = r.u16(S, 50, 'Checksum');
  const ExtHeaderOffset = r.u16(S, 52, 'ExtHeaderOffset');
  const Revision = r.u8(S, 55, 'Revision');

  if (fvLength > BigInt(MAX_FV_BYTES)) {
    throw new ParseError(S, 32, `FvLength ${fvLength} exceeds the ${MAX_FV_BYTES}-byte cap for a variable store volume`);
  }
  const FvLength = Number(fvLength);
  if (HeaderLength < FV_HEADER_FIXED_BYTES + 8 || HeaderLength % 2 !== 0 || HeaderLength > FvLength) {
    throw new ParseError(S, 48, `HeaderLength ${HeaderLength} is impossible (must be even, at least ${FV_HEADER_FIXED_BYTES + 8} for one BlockMap terminator, and within FvLength ${FvLength})`);
  }
  r.check(S, 0, HeaderLength, 'HeaderLength');

  let sum = 0;
  for (let o = 0; o < HeaderLength; o += 2) sum = (sum + r.u16(S, o, 'header word')) & 0xffff;
  const checksumValid = sum === 0;
  if (!checksumValid) problems.push({ structure: S, offset: 50, message: `Checksum 0x${Checksum.toString(16)} is wrong: the 16-bit sum over the ${HeaderLength}-byte header is 0x${sum.toString(16)}, not 0 (edk2 would treat the volume as corrupt and reformat it)` });

  const isNvData = FileSystemGuid === gEfiSystemNvDataFvGuid;
  if (!isNvData) problems.push({ structure: S, offset: 16, message: `FileSystemGuid ${FileSystemGuid} is not gEfiSystemNvDataFvGuid (${gEfiSystemNvDataFvGuid})` });
  if (Revision !== EFI_FVH_REVISION) problems.push({ structure: S, offset: 55, message: `Revision ${Revision} is not EFI_FVH_REVISION (${EFI_FVH_REVISION})` });

  const BlockMap: FvBlockMapEntry[] = [];
  let terminated = false;
  for (let o = FV_HEADER_FIXED_BYTES; o + 8 <= HeaderLength && BlockMap.length < MAX_BLOCK_MAP_ENTRIES; o += 8) {
    const NumBlocks = r.u32(S, o, 'BlockMap NumBlocks');
    const Length = r.u32(S, o + 4, 'BlockMap Length');
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
