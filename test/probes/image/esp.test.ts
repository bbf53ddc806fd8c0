import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import t from 'tap';
import { FileByteSource } from '../../../bytes/byte-source.js';
import type { DiskImage } from '../../../probes/image/disk.js';
import { espProbe } from '../../../probes/image/esp.probe.js';
import { openEsp } from '../../../probes/image/esp.js';
import { openFat } from '../../../probes/image/fat.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { schemaAt } from '../../../requirements/lint.js';
import {
  buildGptDisk,
  gpt4k,
  gptEspThird,
  mbrDisk,
  patternFile,
  sfdiskJson,
  sgdiskPartitions,
  toQcow2,
} from '../../fixtures/disk-builder.js';
import { buildFatImage, fsckFat, minfo, PatchedByteSource, standardTree, type FatImageRecipe } from '../../fixtures/fat-builder.js';

/**
 * `image.esp` on GPT (512 and 4096-byte sectors), MBR and qcow2 disks
 * built with sgdisk/fdisk/sfdisk, holding FAT images built with mkfs.vfat:
 * facts checked against sgdisk, fsck.fat and minfo, and against the
 * probe's own facts schema.
 */

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(espProbe.facts);
const tmp = mkdtempSync(join(tmpdir(), 'vmspec-esp-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const FAT32: FatImageRecipe = { fatBits: 32, sizeMiB: 64, sectorsPerCluster: 1, label: 'EFISYSTEM', ...standardTree({ manyFiles: 40, clusterBytes: 512 }) };
const FAT16: FatImageRecipe = { fatBits: 16, sizeMiB: 40, sectorsPerCluster: 4, label: 'ESP16', ...standardTree({ manyFiles: 10 }) };
const FAT12: FatImageRecipe = { fatBits: 12, sizeMiB: 2, sectorsPerCluster: 1, ...standardTree({ manyFiles: 5, bigFileSize: 10_000 }) };
const FAT32_4K: FatImageRecipe = { fatBits: 32, sizeMiB: 300, sectorSize: 4096, sectorsPerCluster: 1, ...standardTree({ manyFiles: 10 }) };

/** The FAT32 ESP as partition 1 of a 512-byte-sector GPT disk. */
function fat32Disk(): { fat: string; path: string } {
  const fat = buildFatImage('esp-fat32', FAT32);
  return { fat, path: buildGptDisk([{ type: 'EF00', sizeMiB: FAT32.sizeMiB, name: 'EFI System Partition', contentFile: fat }], { label: 'esp-test-1' }) };
}

function probe(image: DiskImage, memo = new Memo()): Facts {
  const facts = espProbe.run({ image, memo }, {}) as Facts;
  if (!validate(facts)) throw new Error(`facts do not match espProbe.facts: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(facts)}`);
  return facts;
}

function opened(t: { teardown: (fn: () => void) => void }, path: string): DiskImage {
  const img = openDisk(path);
  t.teardown(() => img.close());
  return img;
}

/** The filesystem facts the oracles (fsck.fat, minfo) expect for a FAT image file. */
function oracleFs(fatImg: string): Facts {
  const f = fsckFat(fatImg);
  const m = minfo(fatImg);
  return {
    valid: true,
    type: `FAT${f.entryBits}`,
    clusterCount: f.clusters,
    bytesPerSector: m.sectorSize,
    sectorsPerCluster: m.clusterSectors,
    volumeLabel: m.label.trimEnd(),
    filSysType: m.type.trimEnd(),
    problems: [],
  };
}

t.test('GPT, ESP as partition 1, FAT32', async (t) => {
  const { fat, path } = fat32Disk();
  const sg = sgdiskPartitions(path)[0]!;
  const facts = probe(opened(t, path));
  t.same(facts, {
    count: 1,
    found: true,
    partition: 1,
    startByte: sg.firstLba * 512,
    sizeBytes: (sg.lastLba - sg.firstLba + 1) * 512,
    filesystem: oracleFs(fat),
  });
  t.equal((facts.filesystem as Facts).type, 'FAT32');
});

t.test('the same disk as qcow2', async (t) => {
  const raw = fat32Disk().path;
  t.same(probe(opened(t, toQcow2(raw))), probe(opened(t, raw)), 'qcow2 and raw give the same facts');
});

t.test('ESP as partition 2 behind a Linux partition, FAT16', async (t) => {
  const fat = buildFatImage('esp-fat16', FAT16);
  const path = buildGptDisk([
    { type: '8300', sizeMiB: 3, name: 'boot' },
    { type: 'EF00', sizeMiB: FAT16.sizeMiB, name: 'ESP', contentFile: fat },
  ], { label: 'esp-test-2' });
  const sg = sgdiskPartitions(path)[1]!;
  const facts = probe(opened(t, path));
  t.equal(facts.partition, 2);
  t.equal(facts.startByte, sg.firstLba * 512);
  t.same(facts.filesystem, oracleFs(fat));
});

t.test('the shared gptEspThird fixture: ESP as partition 3', async (t) => {
  const facts = probe(opened(t, gptEspThird()));
  t.equal(facts.count, 1);
  t.equal(facts.partition, 3);
  t.equal((facts.filesystem as Facts).valid, true);
  t.ok(['FAT12', 'FAT16', 'FAT32'].includes((facts.filesystem as Facts).type as string), 'a FAT type (mkfs.vfat -C chooses)');
});

t.test('two ESPs: counted, the first one read', async (t) => {
  const path = buildGptDisk([
    { type: 'EF00', sizeMiB: FAT12.sizeMiB, contentFile: buildFatImage('esp-fat12', FAT12) },
    { type: 'EF00', sizeMiB: FAT16.sizeMiB, contentFile: buildFatImage('esp-fat16', FAT16) },
  ], { label: 'esp-test-two' });
  const facts = probe(opened(t, path));
  t.equal(facts.count, 2);
  t.equal(facts.partition, 1);
  t.equal((facts.filesystem as Facts).type, 'FAT12');
});

t.test('no ESP', async (t) => {
  const path = buildGptDisk([{ type: '8300', sizeMiB: 4 }], { label: 'esp-test-none' });
  t.same(probe(opened(t, path)), { count: 0, found: false, partition: null, startByte: null, sizeBytes: null, filesystem: null });
});

t.test('an ESP that holds no FAT', async (t) => {
  const path = buildGptDisk([{ type: 'EF00', sizeMiB: 4, contentFile: patternFile(4, 3) }], { label: 'esp-test-garbage' });
  const fs = probe(opened(t, path)).filesystem as Facts;
  t.equal(fs.valid, false);
  t.equal(fs.type, null);
  t.match((fs.problems as string[])[0], /FAT boot sector at offset 11: BPB_BytsPerSec/);
  // The shared 4K-sector fixture has an empty (all-zero) ESP.
  const zero = probe(opened(t, gpt4k()));
  t.equal(zero.found, true);
  t.equal((zero.filesystem as Facts).valid, false);
});

t.test('4096-byte logical sectors: GPT from fdisk -b 4096, FAT from mkfs.vfat -S 4096', async (t) => {
  const fat = buildFatImage('esp-fat32-4k', FAT32_4K);
  const path = buildGptDisk([{ type: 'EF00', sizeMiB: FAT32_4K.sizeMiB + 1, contentFile: fat }], { sectorSize: 4096, label: 'esp-test-4k' });
  const facts = probe(opened(t, path));
  t.equal(facts.found, true);
  t.equal(facts.startByte, 256 * 4096, 'fdisk starts at LBA 256 of 4 KiB');
  t.same(facts.filesystem, oracleFs(fat));
});

t.test('MBR disk with an OSType 0xEF partition (UEFI 2.6 §5.2.1)', async (t) => {
  const base = mbrDisk([{ type: '83', sizeMiB: 2 }, { type: 'ef', sizeMiB: FAT16.sizeMiB }], FAT16.sizeMiB + 4);
  const path = join(tmp, 'mbr.img');
  copyFileSparse(base, path);
  const part = sfdiskJson(path).partitions[1]!;
  const fat = buildFatImage('esp-fat16', FAT16);
  const src = new FileByteSource(fat);
  const fd = openSync(path, 'r+');
  for (let off = 0; off < src.size; off += 1 << 20) writeSync(fd, src.read(off, Math.min(1 << 20, src.size - off)), 0, undefined, part.start * 512 + off);
  closeSync(fd);
  src.close();
  const facts = probe(opened(t, path));
  t.equal(facts.found, true);
  t.equal(facts.partition, 2);
  t.equal(facts.startByte, part.start * 512);
  t.same(facts.filesystem, oracleFs(fat));
});

t.test('BS_FilSysType that lies is a problem, not the type', async (t) => {
  const fat = join(tmp, 'lie.img');
  copyFileSparse(buildFatImage('esp-fat16', FAT16), fat);
  const fd = openSync(fat, 'r+');
  writeSync(fd, Buffer.from('FAT32   '), 0, 8, 54);
  closeSync(fd);
  const path = buildGptDisk([{ type: 'EF00', sizeMiB: FAT16.sizeMiB, contentFile: fat }], { label: 'esp-test-lie' });
  const fs = probe(opened(t, path)).filesystem as Facts;
  t.equal(fs.valid, true);
  t.equal(fs.type, 'FAT16');
  t.equal(fs.filSysType, 'FAT32');
  t.match((fs.problems as string[]).join('\n'), /BS_FilSysType says "FAT32" but the cluster count \d+ makes it FAT16/);
});

t.test('damage the probe reports rather than throws', async (t) => {
  const { fat: fatPath, path } = fat32Disk();
  const img = opened(t, path);
  const start = sgdiskPartitions(path)[0]!.firstLba * 512;

  // The disk ends inside the ESP: the partition cannot be opened.
  const cut = probe({ ...img, disk: new PatchedByteSource(img.disk, 'cut disk', start + 4 * 1024 * 1024) });
  t.equal(cut.found, true);
  t.equal((cut.filesystem as Facts).valid, false);
  t.match(((cut.filesystem as Facts).problems as string[])[0], /extends past the end/);

  // The root directory's chain is broken: the boot sector reads, the root does not.
  const fatSrc = new FileByteSource(fatPath);
  t.teardown(() => fatSrc.close());
  const vol = openFat(fatSrc);
  // The reader consults the FAT after the root's first cluster only when that cluster has no end-of-directory marker.
  const first = vol.readCluster(vol.geometry.rootCluster);
  t.notOk(Array.from({ length: first.length / 32 }, (_, i) => first[i * 32]).includes(0), 'the first root cluster is full');
  const broken = new PatchedByteSource(img.disk).u32(start + vol.table.entryOffset(vol.geometry.rootCluster), 0);
  const fs = probe({ ...img, disk: broken }).filesystem as Facts;
  t.equal(fs.valid, false);
  t.equal(fs.type, 'FAT32', 'the boot sector facts are still there');
  t.match((fs.problems as string[]).join('\n'), /root directory unreadable: .*free value/);
});

t.test('memoized per run', async (t) => {
  const path = gptEspThird();
  const img = opened(t, path);
  const memo = new Memo();
  const a = openEsp(img, memo);
  t.equal(openEsp(img, memo), a, 'one handle per memo');
  t.not(openEsp(img, new Memo()), a);
  t.same(probe(img, memo), probe(img, memo));
});

t.test('spec lint can resolve the dotted fact paths', async (t) => {
  for (const p of ['count', 'found', 'partition', 'filesystem.valid', 'filesystem.type', 'filesystem.clusterCount', 'filesystem.filSysType', 'filesystem.problems']) {
    t.ok(schemaAt(espProbe.facts, p), p);
  }
  t.notOk(schemaAt(espProbe.facts, 'filesystem.nonsense'));
});
