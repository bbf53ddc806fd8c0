import { isReadError } from '../errors.js';
import { defineProbe, type Facts, type Json } from '../types.js';
import { NO_PARAMS } from '../facts-schema.js';
import { openEsp } from './esp.js';

/**
 * `image.esp`: is there an EFI System Partition, and what FAT does it hold?
 * The FAT type is the one the cluster count decides (fatgen103 §3.5);
 * BS_FilSysType is reported beside it, and a disagreement is a problem.
 */

const nullableInt = { type: ['integer', 'null'] } as const;

const filesystemSchema = {
  type: ['object', 'null'],
  description: 'null when there is no ESP',
  additionalProperties: false,
  required: ['valid', 'type', 'clusterCount', 'bytesPerSector', 'sectorsPerCluster', 'volumeLabel', 'filSysType', 'problems'],
  properties: {
    valid: { type: 'boolean', description: 'the boot sector describes a FAT volume and its root directory reads' },
    type: { enum: ['FAT12', 'FAT16', 'FAT32', null], description: 'by cluster count (fatgen103 §3.5), not by label' },
    clusterCount: { ...nullableInt, description: 'CountofClusters' },
    bytesPerSector: { ...nullableInt, description: 'BPB_BytsPerSec' },
    sectorsPerCluster: { ...nullableInt, description: 'BPB_SecPerClus' },
    volumeLabel: { type: ['string', 'null'], description: 'BS_VolLab, trailing spaces trimmed; null without an extended boot signature' },
    filSysType: { type: ['string', 'null'], description: 'BS_FilSysType, trailing spaces trimmed (informational only)' },
    problems: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const espProbe = defineProbe({
  name: 'image.esp',
  summary: 'Finds the EFI System Partition (GPT type C12A7328-…, or MBR 0xEF) and reads its FAT boot sector',
  input: 'image',
  params: NO_PARAMS,
  facts: {
    type: 'object',
    additionalProperties: false,
    required: ['count', 'found', 'partition', 'startByte', 'sizeBytes', 'filesystem'],
    properties: {
      count: { type: 'integer', description: 'ESP-type partitions on the disk' },
      found: { type: 'boolean' },
      partition: { ...nullableInt, description: 'number of the ESP read (the first one)' },
      startByte: nullableInt,
      sizeBytes: nullableInt,
      filesystem: filesystemSchema,
    },
  },
  run(inputs) {
    if (!inputs.image) throw new Error('image.esp needs an image');
    const esp = openEsp(inputs.image, inputs.memo);
    const p = esp.partition;
    const facts: Facts = {
      count: esp.candidates.length,
      found: p !== null,
      partition: p?.number ?? null,
      startByte: p?.startByte ?? null,
      sizeBytes: p?.sizeBytes ?? null,
      filesystem: null,
    };
    if (!p) return facts;
    const vol = esp.volume;
    if (!vol) {
      facts.filesystem = {
        valid: false, type: null, clusterCount: null, bytesPerSector: null, sectorsPerCluster: null,
        volumeLabel: null, filSysType: null, problems: [esp.error ?? 'FAT not readable'],
      };
      return facts;
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
    const fs: { [key: string]: Json } = {
      valid,
      type: g.type,
      clusterCount: g.countOfClusters,
      bytesPerSector: g.bytesPerSector,
      sectorsPerCluster: g.sectorsPerCluster,
      volumeLabel: vol.bpb.BS_VolLab?.trimEnd() ?? null,
      filSysType: vol.bpb.BS_FilSysType?.trimEnd() ?? null,
      problems,
    };
    facts.filesystem = fs;
    return facts;
  },
});
