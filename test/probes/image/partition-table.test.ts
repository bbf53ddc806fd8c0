import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import {
  dataDisk, fatImage, gpt4k, gptEspThird, gptOnePartition, hybridMbrDisk, mbrDisk, sha256File, sparse64G, toQcow2,
} from '../../fixtures/disk-builder.js';
import { Memo, type Facts, type Json, type Probe, type Schema } from '../../../probes/types.js';
import type { DiskImage } from '../../../probes/image/disk.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import {
  analyzePartitionTable, partitionSource, partitionsOfType, readPartitionTable, PARTITION_TABLE_MEMO_KEY,
} from '../../../probes/image/partition-table.js';
import { TYPE_GUID } from '../../../probes/image/partition-types.js';
import { diskProbe } from '../../../probes/image/disk.probe.js';
import { partitionTableProbe } from '../../../probes/image/partition-table.probe.js';
import { ParseError } from '../../../bytes/errors.js';
import { GptEditor, memoryImage, type TapTest } from './gpt-edit.js';

// Same settings as requirements/schemas.ts.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

function checkFacts(t: TapTest, probe: Probe, facts: Facts, label: string): void {
  const validate = ajv.compile(probe.facts);
  t.ok(validate(facts), `${label}: facts match the ${probe.name} schema ${JSON.stringify(validate.errors)}`);
  t.same(JSON.parse(JSON.stringify(facts)), facts, `${label}: plain JSON`);
  const bad: string[] = [];
  const walk = (v: Json | undefined, path: string): void => {
    if (v === undefined) bad.push(`${path} undefined`);
    else if (typeof v === 'number' && !Number.isSafeInteger(v)) bad.push(`${path} = ${v}`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${i}`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(facts, '');
  t.same(bad, [], `${label}: only safe integers, no undefined`);
}

/** Walks a facts schema along a dotted path the way `spec lint` does (properties, items for numeric parts). */
function schemaAt(schema: Schema, path: string): Schema | undefined {
  let cur: Schema | undefined = schema;
  for (const part of path.split('.')) {
    const props = cur?.properties as Record<string, Schema> | undefined;
    const items = cur?.items as Schema | undefined;
    cur = /^\d+$/.test(part) && items ? items : props?.[part];
    if (!cur) return undefined;
  }
  return cur;
}

async function probeFacts(probe: Probe, image: DiskImage, memo = new Memo()): Promise<Facts> {
  return probe.run({ image, memo }, {});
}

t.test('probe declarations', async (t) => {
  for (const probe of [diskProbe, partitionTableProbe]) {
    t.equal(probe.input, 'image');
    const params = ajv.compile(probe.params);
    t.ok(params({}), `${probe.name} takes {}`);
    t.notOk(params({ surprise: 1 }), `${probe.name} rejects unknown params`);
  }
  t.equal(diskProbe.name, 'image.disk');
  t.equal(partitionTableProbe.name, 'image.partition-table');
  for (const path of [
    'sectorSize', 'scheme', 'mbr.present', 'mbr.signatureValid', 'mbr.protective', 'mbr.entries.0.osType',
    'gpt.present', 'gpt.valid', 'gpt.problems', 'gpt.primary.headerCrc.valid', 'gpt.primary.entriesCrc.computed',
    'gpt.primary.myLba', 'gpt.primary.alternateLba', 'gpt.primary.firstUsableLba', 'gpt.primary.lastUsableLba',
    'gpt.primary.entryCount', 'gpt.primary.entrySize', 'gpt.primary.diskGuid', 'gpt.primary.revision',
    'gpt.backup.headerCrc.stored', 'gpt.backupAtLastLba', 'gpt.headersConsistent',
    'partitions', 'partitions.0.typeGuid', 'partitions.0.typeName', 'partitions.0.sizeBytes', 'overlaps.0.a',
  ]) t.ok(schemaAt(partitionTableProbe.facts, path), `schema has ${path}`);
  for (const path of ['format', 'virtualSize', 'fileSize', 'container.version', 'container.backingFile', 'container.compressionType']) {
    t.ok(schemaAt(diskProbe.facts, path), `schema has ${path}`);
  }
});

t.test('image.partition-table facts on every fixture match the schema', async (t) => {
  const files: [string, string][] = [
    ['one partition', gptOnePartition()],
    ['ESP third', gptEspThird()],
    ['4K sectors', gpt4k()],
    ['64 GiB sparse', sparse64G()],
    ['MBR only', mbrDisk([{ type: '83', sizeMiB: 4, bootable: true }, { type: 'c', sizeMiB: 8 }])],
    ['hybrid MBR', hybridMbrDisk()],
    ['compressed qcow2', toQcow2(dataDisk(), { compressed: true })],
  ];
  for (const [label, path] of files) {
    const img = openDisk(path);
    checkFacts(t, partitionTableProbe, await probeFacts(partitionTableProbe, img), label);
    checkFacts(t, diskProbe, await probeFacts(diskProbe, img), label);
    img.close();
  }
  const e = GptEditor.load(gptEspThird());
  const broken = new GptEditor(e.buf.subarray(0, e.buf.length - 1024 * 1024));
  broken.buf.writeUInt32LE(0xffffffff, broken.header(1) + 80);
  broken.buf.writeBigUInt64LE(0xffffffffffffffffn, broken.header(1) + 32);
  broken.sealHeaderOnly(1);
  const facts = await probeFacts(partitionTableProbe, broken.image());
  checkFacts(t, partitionTableProbe, facts, 'broken');
  t.equal((facts.gpt as { valid: boolean }).valid, false);
  t.equal((facts.gpt as { backup: unknown }).backup, null);
  for (const [label, bytes] of [['empty', new Uint8Array(0)], ['zeros', new Uint8Array(1 << 20)]] as const) {
    const f = await probeFacts(partitionTableProbe, memoryImage(bytes));
    checkFacts(t, partitionTableProbe, f, label);
    t.equal(f.scheme, 'none');
  }
});

t.test('facts content', async (t) => {
  const img = openDisk(gptEspThird());
  t.teardown(() => img.close());
  const f = (await probeFacts(partitionTableProbe, img)) as {
    gpt: { primary: { headerCrc: { stored: string; computed: string; valid: boolean }; entryCount: number; entrySize: number; revision: string } };
    partitions: { number: number; typeName: string }[];
  };
  t.match(f.gpt.primary.headerCrc, { stored: /^0x[0-9a-f]{8}$/, valid: true });
  t.equal(f.gpt.primary.headerCrc.stored, f.gpt.primary.headerCrc.computed);
  t.equal(f.gpt.primary.entryCount, 128);
  t.equal(f.gpt.primary.entrySize, 128);
  t.equal(f.gpt.primary.revision, '0x00010000');
  t.equal(f.partitions[2]?.typeName, 'EFI System Partition');

  const q = openDisk(toQcow2(dataDisk(), { compressed: true, compat: '0.10' }));
  t.teardown(() => q.close());
  const d = await probeFacts(diskProbe, q);
  t.match(d, { format: 'qcow2', container: { version: 2, compressionType: 'zlib', backingFile: null } });
  t.equal(d.virtualSize, readFileSync(dataDisk()).length);
});

t.test('memoized per run', async (t) => {
  const img = openDisk(gptOnePartition());
  t.teardown(() => img.close());
  const memo = new Memo();
  const a = readPartitionTable(img, memo);
  const b = readPartitionTable(img, memo);
  t.equal(a, b, 'same object from the memo');
  t.equal(memo.get(PARTITION_TABLE_MEMO_KEY, () => null), a);
  t.not(readPartitionTable(img, new Memo()), a, 'a new run reads again');
});

t.test('partitionSource: the ESP bytes are the FAT image written into it', async (t) => {
  const img = openDisk(gptEspThird());
  t.teardown(() => img.close());
  const r = analyzePartitionTable(img.disk);
  const esp = partitionsOfType(r, TYPE_GUID.esp)[0]!;
  const src = partitionSource(img.disk, esp);
  const fat = fatImage(40, { 'EFI/BOOT/BOOTAA64.EFI': 'MZ not really a PE' });
  const h = createHash('sha256');
  const size = readFileSync(fat).length;
  for (let p = 0; p < size; p += 1 << 20) h.update(src.read(p, Math.min(1 << 20, size - p)));
  t.equal(h.digest('hex'), sha256File(fat));
  t.equal(src.name, `${img.disk.name} partition 3`);

  const outside = { ...esp, startByte: img.disk.size - 512, sizeBytes: 4096 };
  t.throws(() => partitionSource(img.disk, outside), ParseError);
});
