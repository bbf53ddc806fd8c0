import { readFileSync } from 'node:fs';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { crc32 } from '../../../bytes/crc32.js';
import { readMbr } from '../../../probes/image/mbr.js';
import { analyzePartitionTable } from '../../../probes/image/partition-table.js';
import { buildGptDisk, mbrDisk } from '../../fixtures/disk-builder.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';
import { invariant } from './invariant.js';

/** MBR and GPT: real disks partitioned by sfdisk, sgdisk and fdisk (4K sectors). */

/** UEFI 2.6 §5.2.1 Table 12: StartingLBA and SizeInLBA of the four records. */
function mbrFields(): Field[] {
  const out: Field[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + i * 16;
    out.push({ at: o, width: 1, endian: 'le', name: `record ${i + 1} BootIndicator` });
    out.push({ at: o + 4, width: 1, endian: 'le', name: `record ${i + 1} OSType`, values: [0xeen, 0xefn, 0x83n] });
    out.push({ at: o + 8, width: 4, endian: 'le', name: `record ${i + 1} StartingLBA` });
    out.push({ at: o + 12, width: 4, endian: 'le', name: `record ${i + 1} SizeInLBA` });
  }
  return out;
}

/** UEFI 2.6 §5.3.2 Table 17 header fields, and the first entries' LBAs (Table 20), for a header at `lba`. */
function gptFields(bytes: Uint8Array, ss: number, lba: number): Field[] {
  const h = lba * ss;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entryLba = Number(dv.getBigUint64(h + 72, true));
  const size = BigInt(bytes.length / ss);
  const lbas = [size - 1n, size, size + 1n, BigInt(lba)];
  const out: Field[] = [
    { at: h + 8, width: 4, endian: 'le', name: 'Revision' },
    { at: h + 12, width: 4, endian: 'le', name: 'HeaderSize', values: [92n, 91n, BigInt(ss), BigInt(ss) + 1n] },
    { at: h + 24, width: 8, endian: 'le', name: 'MyLBA', values: lbas },
    { at: h + 32, width: 8, endian: 'le', name: 'AlternateLBA', values: lbas },
    { at: h + 40, width: 8, endian: 'le', name: 'FirstUsableLBA', values: lbas },
    { at: h + 48, width: 8, endian: 'le', name: 'LastUsableLBA', values: lbas },
    { at: h + 72, width: 8, endian: 'le', name: 'PartitionEntryLBA', values: lbas },
    // 2^32 entries of 128 bytes would be 512 GiB: the reader must cap, never allocate.
    { at: h + 80, width: 4, endian: 'le', name: 'NumberOfPartitionEntries', values: [0xffffffffn, 1n << 31n, 129n] },
    { at: h + 84, width: 4, endian: 'le', name: 'SizeOfPartitionEntry', values: [0n, 127n, 128n, 256n, 4096n, 8192n] },
  ];
  for (let i = 0; i < 3; i++) {
    const e = entryLba * ss + i * 128;
    if (e + 128 > bytes.length) break;
    out.push({ at: e + 32, width: 8, endian: 'le', name: `entry ${i + 1} StartingLBA`, values: lbas });
    out.push({ at: e + 40, width: 8, endian: 'le', name: `entry ${i + 1} EndingLBA`, values: lbas });
  }
  return out;
}

function gptSeed(name: string, path: string, ss: 512 | 4096): Seed {
  const bytes = new Uint8Array(readFileSync(path));
  const last = bytes.length / ss - 1;
  return {
    name,
    bytes,
    fields: [...mbrFields(), ...gptFields(bytes, ss, 1), ...gptFields(bytes, ss, last)],
    hot: [[0, 34 * ss], [bytes.length - 33 * ss, 33 * ss]],
  };
}

/** Re-seal whichever GPT headers have a signature: entry array CRC, then header CRC, within sane bounds only. */
function sealGpt(b: Uint8Array): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const ss of [512, 4096]) {
    for (const lba of [1, Math.floor(b.length / ss) - 1]) {
      const h = lba * ss;
      if (lba < 1 || h + ss > b.length || Buffer.from(b.subarray(h, h + 8)).toString('latin1') !== 'EFI PART') continue;
      const count = dv.getUint32(h + 80, true);
      const size = dv.getUint32(h + 84, true);
      const at = Number(dv.getBigUint64(h + 72, true)) * ss;
      if (count * size <= 1024 * 1024 && Number.isSafeInteger(at) && at + count * size <= b.length) {
        dv.setUint32(h + 88, crc32(b.subarray(at, at + count * size)), true);
      }
      const hs = dv.getUint32(h + 12, true);
      if (hs >= 92 && hs <= ss) {
        dv.setUint32(h + 16, 0, true);
        dv.setUint32(h + 16, crc32(b.subarray(h, h + hs)), true);
      }
    }
  }
}

export const mbrTarget: FuzzTarget = {
  name: 'mbr',
  runs: 2000,
  seeds: () => [
    { name: 'sfdisk-dos', bytes: new Uint8Array(readFileSync(mbrDisk([{ type: 'ef', sizeMiB: 2, bootable: true }, { type: '83', sizeMiB: 3 }], 6))).subarray(0, 64 * 1024).slice(), fields: mbrFields(), hot: [[440, 72]] },
  ],
  run(bytes) {
    for (const ss of [512, 4096]) {
      const r = readMbr(new BufferByteSource(bytes, 'fuzz.img'), ss);
      invariant(!r.signatureValid || r.records.length === 4, 'a valid MBR has four records');
      invariant(!(r.protective && r.problems.some((p) => /StartingLBA|SizeInLBA/.test(p))), 'protective with a layout problem');
    }
    return analyzePartitionTable(new BufferByteSource(bytes, 'fuzz.img'));
  },
};

export const gptTarget: FuzzTarget = {
  name: 'gpt',
  runs: 1500,
  seeds: () => [
    gptSeed('sgdisk-512', buildGptDisk([{ type: 'EF00', sizeMiB: 1, name: 'ESP' }, { type: '8305', sizeMiB: 1, name: 'root' }], { label: 'fuzz-gpt' }), 512),
    gptSeed('fdisk-4k', buildGptDisk([{ type: 'EF00', sizeMiB: 1, name: 'ESP' }, { type: '8305', sizeMiB: 1, name: 'root' }], { sectorSize: 4096, sizeMiB: 4, label: 'fuzz-gpt-4k' }), 4096),
  ],
  fixup: sealGpt,
  run(bytes) {
    const r = analyzePartitionTable(new BufferByteSource(bytes, 'fuzz.img'));
    // entryProblems is the part of problems about entries: never a problem of its own.
    for (const p of r.gpt.entryProblems) invariant(r.gpt.problems.includes(p), `entryProblems line missing from problems: ${p}`);
    invariant(r.gpt.valid === (r.gpt.present && r.gpt.problems.length === 0), 'valid means present with no problems');
    for (const p of r.partitions) {
      invariant(Number.isSafeInteger(p.startByte) && Number.isSafeInteger(p.sizeBytes), `partition ${p.number}: unsafe byte range`);
    }
    JSON.stringify(r);
    return r;
  },
};
