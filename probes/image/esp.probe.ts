import { isReadError } from '../../bytes/errors.js';
import { defineProbe } from '../types.js';
import { arr, bool, enumOf, type FactsOf, int, nint, nobj, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';
import { openEsp } from './esp.js';

/**
 * `image.esp`: is there an EFI System Partition, and what FAT does it hold?
 * The FAT type is the one the cluster count decides (fatgen103 §3.5);
 * BS_FilSysType is reported beside it, and a disagreement is a problem.
 */

const filesystem = nobj({
  valid: bool('the boot sector describes a FAT volume and its root directory reads'),
  type: enumOf(['FAT12', 'FAT16', 'FAT32', null], 'by cluster count (fatgen103 §3.5), not by label'),
  clusterCount: nint('CountofClusters'),
  bytesPerSector: nint('BPB_BytsPerSec'),
  sectorsPerCluster: nint('BPB_SecPerClus'),
  volumeLabel: nstr('BS_VolLab, trailing spaces trimmed; null without an extended boot signature'),
  filSysType: nstr('BS_FilSysType, trailing spaces trimmed (informational only)'),
  problems: arr(str()),
}, 'null when there is no ESP');

const facts = obj({
  count: int('ESP-type partitions on the disk'),
  found: bool(),
  partition: nint('number of the ESP read (the first one)'),
  startByte: nint(),
  sizeBytes: nint(),
  filesystem,
});

export const espProbe = defineProbe({
  name: 'image.esp',
  summary: 'Finds the EFI System Partition (GPT type C12A7328-…, or MBR 0xEF) and reads its FAT boot sector',
  input: 'image',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    if (!inputs.image) throw new Error('image.esp needs an image');
    const esp = openEsp(inputs.image, inputs.memo);
    const p = esp.partition;
    const out: FactsOf<typeof facts> = {
      count: esp.candidates.length,
      found: p !== null,
      partition: p?.number ?? null,
      startByte: p?.startByte ?? null,
      sizeBytes: p?.sizeBytes ?? null,
      filesystem: null,
    };
    if (!p) return out;
    const vol = esp.volume;
    if (!vol) {
      out.filesystem = {
        valid: false, type: null, clusterCount: null, bytesPerSector: null, sectorsPerCluster: null,
        volumeLabel: null, filSysType: null, problems: [esp.error ?? 'FAT not readable'],
      };
      return out;
    }
    const problems: string[] = [...vol.problems];
    let valid = true;
    try {
      // Reading the root directory proves the FAT and data area are where the BPB says.
      problems.push(...vol.readDir('root').problems);
    } catch (e) {
      if (!isReadError(e)) throw e;
      valid = false;
      problems.push(`root directory unreadable: ${e.message}`);
    }
    const g = vol.geometry;
    const fs: FactsOf<typeof filesystem> = {
      valid,
      type: g.type,
      clusterCount: g.countOfClusters,
      bytesPerSector: g.bytesPerSector,
      sectorsPerCluster: g.sectorsPerCluster,
      volumeLabel: vol.bpb.BS_VolLab?.trimEnd() ?? null,
      filSysType: vol.bpb.BS_FilSysType?.trimEnd() ?? null,
      problems,
    };
    out.filesystem = fs;
    return out;
  },
});
