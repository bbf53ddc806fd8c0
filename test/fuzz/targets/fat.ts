import { readFileSync } from 'node:fs';
import { isReadError } from '../../../bytes/errors.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { openFat, type FatVolume } from '../../../probes/image/fat.js';
import { buildFatImage, standardTree, type FatImageRecipe } from '../../fixtures/fat-builder.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * FAT12/16/32 volumes made by mkfs.vfat and mtools: boot sector, the
 * directory walk and cluster chains. FAT entries are aimed at with values
 * that make cycles (back to the chain's start, to itself), leave the data
 * area, or end early.
 */

const RECIPES: Record<string, FatImageRecipe> = {
  fat12: { fatBits: 12, sizeMiB: 1, sectorsPerCluster: 1, ...standardTree({ manyFiles: 20, bigFileSize: 9000, clusterBytes: 512 }) },
  fat16: { fatBits: 16, sizeMiB: 5, sectorsPerCluster: 1, ...standardTree({ manyFiles: 30, bigFileSize: 9000, clusterBytes: 512 }) },
  fat32: { fatBits: 32, sizeMiB: 34, sectorsPerCluster: 1, ...standardTree({ manyFiles: 30, bigFileSize: 9000, clusterBytes: 512 }) },
};

/** fatgen103 §3.1-3.3 BPB fields. */
const BPB_FIELDS: Field[] = [
  { at: 11, width: 2, endian: 'le', name: 'BPB_BytsPerSec', values: [512n, 4096n, 511n] },
  { at: 13, width: 1, endian: 'le', name: 'BPB_SecPerClus', values: [3n, 128n] },
  { at: 14, width: 2, endian: 'le', name: 'BPB_RsvdSecCnt' },
  { at: 16, width: 1, endian: 'le', name: 'BPB_NumFATs' },
  { at: 17, width: 2, endian: 'le', name: 'BPB_RootEntCnt' },
  { at: 19, width: 2, endian: 'le', name: 'BPB_TotSec16' },
  { at: 22, width: 2, endian: 'le', name: 'BPB_FATSz16' },
  { at: 32, width: 4, endian: 'le', name: 'BPB_TotSec32' },
  { at: 36, width: 4, endian: 'le', name: 'BPB_FATSz32' },
  { at: 40, width: 2, endian: 'le', name: 'BPB_ExtFlags', values: [0x80n, 0x81n, 0x8fn] },
  { at: 44, width: 4, endian: 'le', name: 'BPB_RootClus' },
];

function fatSeed(name: string): Seed {
  const bytes = new Uint8Array(readFileSync(buildFatImage(`fuzz-${name}`, RECIPES[name]!)));
  const vol = openFat(new BufferByteSource(bytes));
  const fields: Field[] = [...BPB_FIELDS];
  const hot: [number, number][] = [[0, 512], [vol.geometry.fatOffset, Math.min(vol.geometry.fatBytes, 2048)]];
  const max = BigInt(vol.geometry.countOfClusters + 1);
  const entryWidth = vol.geometry.type === 'FAT32' ? 4 : 2; // FAT12 entries straddle bytes: hit them with 2-byte writes.
  for (const item of vol.walk()) {
    const e = item.entry;
    fields.push({ at: e.offset + 26, width: 2, endian: 'le', name: `${item.path} DIR_FstClusLO`, values: [0n, 1n, 2n, max, max + 1n] });
    if (vol.geometry.type === 'FAT32') fields.push({ at: e.offset + 20, width: 2, endian: 'le', name: `${item.path} DIR_FstClusHI` });
    fields.push({ at: e.offset + 28, width: 4, endian: 'le', name: `${item.path} DIR_FileSize` });
    if (e.firstCluster >= 2) {
      const start = BigInt(e.firstCluster);
      // Its FAT entry, with values that make a self-loop, a loop to the start, a free or bad link, or leave the volume.
      fields.push({ at: vol.table.entryOffset(e.firstCluster), width: entryWidth, endian: 'le', name: `${item.path} FAT[${e.firstCluster}]`, values: [start, start + 1n, 0n, 1n, max + 1n, 0x0ff7n, 0xfff7n, 0x0ffffff7n] });
      hot.push([e.offset, 32]);
    }
  }
  return { name, bytes, fields, hot };
}

/** What the ESP probe does with a volume: walk it, read every file's head, look up the boot path. */
function exercise(vol: FatVolume): number {
  let n = 0;
  vol.lookup('\\EFI\\BOOT\\BOOTAA64.EFI');
  for (const item of vol.walk()) {
    if (++n > 5000) break;
    if (item.entry.isDirectory) continue;
    try {
      vol.readFile(item.entry, 64 * 1024);
    } catch (e) {
      // One damaged file must not hide the rest; a typed error is a finding, anything else is a bug.
      if (!isReadError(e)) throw e;
    }
  }
  return n;
}

export const fatTarget: FuzzTarget = {
  name: 'fat',
  runs: 500,
  seeds: () => Object.keys(RECIPES).map(fatSeed),
  run: (bytes) => exercise(openFat(new BufferByteSource(bytes, 'fuzz-fat.img'))),
};
