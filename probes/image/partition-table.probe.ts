import { arr, bool, enumOf, type FactsOf, int, intEnum, NO_PARAMS, nint, nobj, nstr, obj, str, strEnum } from '../facts-schema.js';
import { defineProbe } from '../types.js';
import { UnsupportedError } from '../../bytes/errors.js';
import type { GptHeaderReading } from './gpt.js';
import { readPartitionTable } from './partition-table.js';

const hex32 = () => str({ pattern: '^0x[0-9a-f]{8}$' });
const guid = () => str({ pattern: '^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$' });
/** LBA fields are null when the stored 64-bit value is beyond 2^53 (a problem says so). */
const lba = () => nint({ minimum: 0 });
const count = (description?: string) => int({ minimum: 0, ...(description ? { description } : {}) });
const problems = () => arr(str());

const crc = obj({
  stored: hex32(),
  computed: nstr({ pattern: '^0x[0-9a-f]{8}$', description: 'null when the covered bytes could not be determined' }),
  valid: bool(),
});

/** A GPT header (UEFI 2.6 §5.3.2 Table 17), or null when absent. */
const header = nobj({
  lba: count('LBA the header was read from'),
  revision: hex32(),
  headerSize: count(),
  headerCrc: crc,
  entriesCrc: crc,
  myLba: lba(),
  alternateLba: lba(),
  firstUsableLba: lba(),
  lastUsableLba: lba(),
  partitionEntryLba: lba(),
  entryCount: count(),
  entrySize: count(),
  diskGuid: guid(),
  valid: bool('Signature, HeaderCRC32, MyLBA and PartitionEntryArrayCRC32 all good (UEFI 2.6 §5.3.2)'),
});

const partition = obj({
  number: int({ minimum: 1, description: '1-based GPT entry index (MBR: record slot 1..4)' }),
  typeGuid: str("uppercase GUID; '' for MBR partitions"),
  typeName: nstr("well-known type name, 'MBR 0xNN' for MBR, null when unknown"),
  uniqueGuid: str("uppercase GUID; '' for MBR partitions"),
  firstLba: count(),
  lastLba: count(),
  startByte: count(),
  sizeBytes: count(),
  name: str(),
  attributes: str({ pattern: '^0x[0-9a-f]+$' }),
});

const mbrRecord = obj({
  index: int({ minimum: 1, maximum: 4 }),
  bootIndicator: str({ pattern: '^0x[0-9a-f]{2}$' }),
  startingChs: str({ pattern: '^0x[0-9a-f]{6}$' }),
  osType: int({ minimum: 0, maximum: 255 }),
  endingChs: str({ pattern: '^0x[0-9a-f]{6}$' }),
  startingLba: count(),
  sizeInLba: count(),
  empty: bool(),
});

const facts = obj({
  sectorSize: intEnum([512, 4096]),
  scheme: strEnum(['gpt', 'mbr', 'none']),
  mbr: obj({
    present: bool('the disk has an LBA 0'),
    signatureValid: bool('bytes 510-511 are 0x55 0xAA'),
    diskSignature: nstr({ pattern: '^0x[0-9a-f]{8}$' }),
    protective: bool('an 0xEE record starting at LBA 1 covering the disk (UEFI 2.6 §5.2.3)'),
    hybrid: bool('0xEE record alongside other non-empty records'),
    entries: arr(mbrRecord),
    problems: problems(),
  }),
  gpt: obj({
    present: bool('a GPT header signature was found at LBA 1 or the last LBA'),
    valid: bool('present and no problems'),
    problems: problems(),
    entryProblems: arr(str(), 'the problems about partition entries alone: outside the usable LBAs or the disk, overlaps, zero or repeated unique GUIDs'),
    primary: header,
    backup: header,
    backupAtLastLba: bool(),
    headersConsistent: bool('primary and backup mirror each other, entry arrays identical'),
    entriesFrom: enumOf(['primary', 'backup', null], { type: ['string', 'null'] }),
  }),
  partitions: arr(partition),
  overlaps: arr(obj({ a: int(), b: int() })),
  otherLabel: nobj({ name: str(), offset: int('byte offset of the magic that identified it') }, 'a partition label other than GPT or MBR (BSD disklabel, Sun, SGI, Atari AHDI, IBM DASD); null when none was recognised'),
});

function headerFacts(h: GptHeaderReading | null): FactsOf<typeof header> {
  return h ? { ...h, headerCrc: { ...h.headerCrc }, entriesCrc: { ...h.entriesCrc } } : null;
}

/** image.partition-table: the protective/legacy MBR, both GPT headers and the partitions, with every deviation listed. */
export const partitionTableProbe = defineProbe({
  name: 'image.partition-table',
  summary: 'MBR (UEFI 2.6 §5.2) and GPT (§5.3): sector size, headers, CRCs, backup location, partitions, overlaps, problems',
  input: 'image',
  params: NO_PARAMS,
  facts,
  run({ image, memo }) {
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
      otherLabel: t.otherLabel ? { ...t.otherLabel } : null,
    };
  },
});
