import { crc32 } from '../../bytes/crc32.js';
import { gEdkiiWorkingBlockSignatureGuid, gEfiSystemNvDataFvGuid, guidText } from './guids.js';
import type { LeReader } from '../../bytes/le-reader.js';

/**
 * EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER (MdeModulePkg/Include/Guid/SystemNvDataGuid.h):
 * the fault-tolerant-write working block that follows the variable store
 * in the AAVMF flash layout (ArmVirtPkg/VarStore.fdf.inc: store, FTW
 * working block, FTW spare). Only its header is read: enough to say it is
 * there and intact; the write queue is edk2's business.
 */

/** sizeof (EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER): Signature 16, Crc 4, flags 1, Reserved3 3, WriteQueueSize 8. */
export const FTW_WORKING_BLOCK_HEADER_BYTES = 32;

export interface FtwWorkingBlock {
  /** File offset of the header. */
  offset: number;
  /** EFI_GUID Signature: gEdkiiWorkingBlockSignatureGuid (or gEfiSystemNvDataFvGuid, the pre-2013 format). */
  Signature: string;
  /** UINT32 Crc: CRC-32 over the header with Crc and both state bits in their erased (1) form. */
  Crc: number;
  crcValid: boolean;
  /** WorkingBlockValid : 1; FTW_VALID_STATE (0) when the block is in use. */
  WorkingBlockValid: number;
  /** WorkingBlockInvalid : 1; FTW_INVALID_STATE (1) while the block has not been invalidated. */
  WorkingBlockInvalid: number;
  /** UINT64 WriteQueueSize: bytes of write queue after the header. */
  WriteQueueSize: number;
  /** edk2's IsValidWorkingBlock(): signature, CRC, WorkingBlockValid == FTW_VALID_STATE. */
  valid: boolean;
}

/** The working block header at `offset`, or null when none is there (not an error: other layouts keep it elsewhere). */
export function findFtwWorkingBlock(input: LeReader, offset: number): FtwWorkingBlock | null {
  const r = input.as('EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER');
  if (!r.has(offset, FTW_WORKING_BLOCK_HEADER_BYTES)) return null;
  const header = r.slice(offset, FTW_WORKING_BLOCK_HEADER_BYTES, 'the header');
  const Signature = guidText(header);
  if (Signature !== gEdkiiWorkingBlockSignatureGuid && Signature !== gEfiSystemNvDataFvGuid) return null;
  const Crc = r.u32(offset + 16, 'Crc');
  const flags = r.u8(offset + 20, 'WorkingBlockValid');
  // FtwMisc.c IsValidWorkingBlock(): the CRC is taken with Crc = 0xFFFFFFFF and both bits erased.
  const copy = header.slice();
  copy.fill(0xff, 16, 20);
  copy[20] = (copy[20] ?? 0) | 0x03;
  const crcValid = crc32(copy) === Crc;
  const WorkingBlockValid = flags & 1;
  const WorkingBlockInvalid = (flags >> 1) & 1;
  const queue = r.u64(offset + 24, 'WriteQueueSize');
  const WriteQueueSize = queue > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(queue);
  return { offset, Signature, Crc, crcValid, WorkingBlockValid, WorkingBlockInvalid, WriteQueueSize, valid: crcValid && WorkingBlockValid === 0 };
}
