import { isReadError } from '../../bytes/errors.js';
import type { Memo } from '../types.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import type { DiskImage } from './disk.js';
import { openFat, type FatVolume } from './fat.js';
import { TYPE_GUID } from './partition-types.js';
import { partitionSource, readPartitionTable, type Partition } from './partition-table.js';

/**
 * Finding and opening the EFI System Partition, shared by every probe that
 * looks inside it. UEFI 2.6 §5.3.3 (GPT type C12A7328-…) and §5.2.1 (MBR
 * OSType 0xEF) identify it; §13.3 says it holds a FAT filesystem.
 */

export const ESP_TYPE_GUID = TYPE_GUID.esp;
/** UEFI 2.6 §5.2.1: the MBR OSType of an EFI System Partition. */
export const MBR_ESP_TYPE_NAME = 'MBR 0xef';
export const ESP_MEMO_KEY = 'image.esp';

export interface EspHandle {
  /** Every ESP-type partition, in table order. */
  candidates: Partition[];
  /** The one opened: the first candidate. */
  partition: Partition | null;
  source: ByteSource | null;
  /** The FAT volume, or null when there is no ESP or its FAT is unreadable. */
  volume: FatVolume | null;
  /** Why the FAT could not be opened (a ParseError's message). */
  error: string | null;
}

export function isEspPartition(p: Partition): boolean {
  return p.typeGuid === ESP_TYPE_GUID || (p.typeGuid === '' && p.typeName === MBR_ESP_TYPE_NAME);
}

/**
 * The image's ESP, opened once per run. Malformed partition bounds or FAT
 * become `error`; only an unreadable disk throws.
 */
export function openEsp(image: DiskImage, memo: Memo): EspHandle {
  return memo.get(ESP_MEMO_KEY, () => {
    const candidates = readPartitionTable(image, memo).partitions.filter(isEspPartition);
    const partition = candidates[0] ?? null;
    const handle: EspHandle = { candidates, partition, source: null, volume: null, error: null };
    if (!partition) return handle;
    try {
      handle.source = partitionSource(image.disk, partition);
      handle.volume = openFat(handle.source);
    } catch (e) {
      if (!isReadError(e)) throw e;
      handle.error = e.message;
    }
    return handle;
  });
}
