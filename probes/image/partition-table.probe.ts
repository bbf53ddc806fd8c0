import { defineProbe, type Facts, type Json, type Schema } from '../types.js';
import { NO_PARAMS } from '../facts-schema.js';
import { UnsupportedError } from '../errors.js';
import type { GptHeaderReading } from './gpt.js';
import { readPartitionTable } from './partition-table.js';

const hex32 = { type: 'string', pattern: '^0x[0-9a-f]{8}$' };
const guid = { type: 'string', pattern: '^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$' };
/** LBA fields are null when the stored 64-bit value is beyond 2^53 (a problem says so). */
const lba = { type: ['integer', 'null'], minimum: 0 };
const count = { type: 'integer', minimum: 0 };

const crcSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['stored', 'computed', 'valid'],
  properties: {
    stored: hex32,
    computed: { type: ['string', 'null'], pattern: '^0x[0-9a-f]{8}$', description: 'null when the covered bytes could not be determined' },
    valid: { type: 'boolean' },
  },
};

/** A GPT header (UEFI 2.6 §5.3.2 Table 17), or null when absent. */
const headerSchema: Schema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['lba', 'revision', 'headerSize', 'headerCrc', 'entriesCrc', 'myLba', 'alternateLba', 'firstUsableLba', 'lastUsableLba', 'partitionEntryLba', 'entryCount', 'entrySize', 'diskGuid', 'valid'],
  properties: {
    lba: { ...count, description: 'LBA the header was read from' },
    revision: hex32,
    headerSize: count,
    headerCrc: crcSchema,
    entriesCrc: crcSchema,
    myLba: lba,
    alternateLba: lba,
    firstUsableLba: lba,
    lastUsableLba: lba,
    partitionEntryLba: lba,
    entryCount: count,
    entrySize: count,
    diskGuid: guid,
    valid: { type: 'boolean', description: 'Signature, HeaderCRC32, MyLBA and PartitionEntryArrayCRC32 all good (UEFI 2.6 §5.3.2)' },
  },
};

const partitionSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['number', 'typeGuid', 'typeName', 'uniqueGuid', 'firstLba', 'lastLba', 'startByte', 'sizeBytes', 'name', 'attributes'],
  properties: {
    number: { type: 'integer', minimum: 1, description: '1-based GPT entry index (MBR: record slot 1..4)' },
    typeGuid: { type: 'string', description: "uppercase GUID; '' for MBR partitions" },
    typeName: { type: ['string', 'null'], description: "well-known type name, 'MBR 0xNN' for MBR, null when unknown" },
    uniqueGuid: { type: 'string', description: "uppercase GUID; '' for MBR partitions" },
    firstLba: count,
    lastLba: count,
    startByte: count,
    sizeBytes: count,
    name: { type: 'string' },
    attributes: { type: 'string', pattern: '^0x[0-9a-f]+$' },
  },
};

const mbrRecordSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['index', 'bootIndicator', 'startingChs', 'osType', 'endingChs', 'startingLba', 'sizeInLba', 'empty'],
  properties: {
    index: { type: 'integer', minimum: 1, maximum: 4 },
    bootIndicator: { type: 'string', pattern: '^0x[0-9a-f]{2}$' },
    startingChs: { type: 'string', pattern: '^0x[0-9a-f]{6}$' },
    osType: { type: 'integer', minimum: 0, maximum: 255 },
    endingChs: { type: 'string', pattern: '^0x[0-9a-f]{6}$' },
    startingLba: count,
    sizeInLba: count,
    empty: { type: 'boolean' },
  },
};

const problems = { type: 'array', items: { type: 'string' } };

const factsSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['sectorSize', 'scheme', 'mbr', 'gpt', 'partitions', 'overlaps'],
  properties: {
    sectorSize: { type: 'integer', enum: [512, 4096] },
    scheme: { type: 'string', enum: ['gpt', 'mbr', 'none'] },
    mbr: {
      type: 'object',
      additionalProperties: false,
      required: ['present', 'signatureValid', 'diskSignature', 'protective', 'hybrid', 'entries', 'problems'],
      properties: {
        present: { type: 'boolean', description: 'the disk has an LBA 0' },
        signatureValid: { type: 'boolean', description: 'bytes 510-511 are 0x55 0xAA' },
        diskSignature: { type: ['string', 'null'], pattern: '^0x[0-9a-f]{8}$' },
        protective: { type: 'boolean', description: 'an 0xEE record starting at LBA 1 covering the disk (UEFI 2.6 §5.2.3)' },
        hybrid: { type: 'boolean', description: '0xEE record alongside other non-empty records' },
        entries: { type: 'array', items: mbrRecordSchema },
        problems,
      },
    },
    gpt: {
      type: 'object',
      additionalProperties: false,
      required: ['present', 'valid', 'problems', 'entryProblems', 'primary', 'backup', 'backupAtLastLba', 'headersConsistent', 'entriesFrom'],
      properties: {
        present: { type: 'boolean', description: 'a GPT header signature was found at LBA 1 or the last LBA' },
        valid: { type: 'boolean', description: 'present and no problems' },
        problems,
        entryProblems: { ...problems, description: 'the problems about partition entries alone: outside the usable LBAs or the disk, overlaps, zero or repeated unique GUIDs' },
        primary: headerSchema,
        backup: headerSchema,
        backupAtLastLba: { type: 'boolean' },
        headersConsistent: { type: 'boolean', description: 'primary and backup mirror each other, entry arrays identical' },
        entriesFrom: { type: ['string', 'null'], enum: ['primary', 'backup', null] },
      },
    },
    partitions: { type: 'array', items: partitionSchema },
    overlaps: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['a', 'b'],
        properties: { a: { type: 'integer' }, b: { type: 'integer' } },
      },
    },
  },
};

function headerFacts(h: GptHeaderReading | null): Json {
  return h ? { ...h, headerCrc: { ...h.headerCrc }, entriesCrc: { ...h.entriesCrc } } : null;
}

/** image.partition-table: the protective/legacy MBR, both GPT headers and the partitions, with every deviation listed. */
export const partitionTableProbe = defineProbe({
  name: 'image.partition-table',
  summary: 'MBR (UEFI 2.6 §5.2) and GPT (§5.3): sector size, headers, CRCs, backup location, partitions, overlaps, problems',
  input: 'image',
  params: NO_PARAMS,
  facts: factsSchema,
  run({ image, memo }): Facts {
    if (!image) throw new UnsupportedError('image.partition-table needs an image');
    const t = readPartitionTable(image, memo);
    return {
      sectorSize: t.sectorSize,
      scheme: t.scheme,
      mbr: {
        present: t.mbr.present,
        signatureValid: t.mbr.signatureValid,
        diskSignature: t.mbr.diskSignature,
        protective: t.mbr.protective,
        hybrid: t.mbr.hybrid,
        entries: t.mbr.records.map((r) => ({ ...r })),
        problems: [...t.mbr.problems],
      },
      gpt: {
        present: t.gpt.present,
        valid: t.gpt.valid,
        problems: [...t.gpt.problems],
        entryProblems: [...t.gpt.entryProblems],
        primary: headerFacts(t.gpt.primary),
        backup: headerFacts(t.gpt.backup),
        backupAtLastLba: t.gpt.backupAtLastLba,
        headersConsistent: t.gpt.headersConsistent,
        entriesFrom: t.gpt.entriesFrom,
      },
      partitions: t.partitions.map((p) => ({ ...p })),
      overlaps: t.overlaps.map((o) => ({ ...o })),
    };
  },
});
