import { readFileSync, statSync } from 'node:fs';
import { Ajv } from 'ajv';
import t from 'tap';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { bootFileProbe } from '../../../probes/image/boot-file.probe.js';
import type { DiskImage } from '../../../probes/image/disk.js';
import { openFat } from '../../../probes/image/fat.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { PE_HEADER_READ, readPe } from '../../../probes/image/pe.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { schemaAt } from '../../../requirements/lint.js';
import { buildGptDisk, gptEspThird, patternFile, sgdiskPartitions } from '../../fixtures/disk-builder.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';
import { buildFatImage, PatchedByteSource, type FatImageRecipe } from '../../fixtures/fat-builder.js';

/**
 * `image.boot-file` on a GPT disk whose ESP (mkfs.vfat + mcopy) holds real
 * Debian EFI binaries under mixed-case names: lookup, stored names, and PE
 * facts equal to reading the original file directly.
 */

const bins = efiBinaries();
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateFacts = ajv.compile(bootFileProbe.facts);
const validateParams = ajv.compile(bootFileProbe.params);

const ESP: FatImageRecipe = {
  fatBits: 32,
  sizeMiB: 64,
  sectorsPerCluster: 1,
  label: 'EFI',
  dirs: ['/EFI', '/EFI/Boot', '/EFI/systemd'],
  files: [
    { path: '/EFI/Boot/bootaa64.efi', from: bins.grubaa64 },
    { path: '/EFI/Boot/BOOTARM.EFI', from: bins.arm32 },
    { path: '/EFI/Boot/bootx64.efi', from: bins.grubx64 },
    { path: '/EFI/Boot/fallback.elf', from: bins.elf },
    { path: '/EFI/Boot/readme.txt', text: 'not an image\n' },
    { path: '/EFI/Boot/empty.efi', size: 0 },
    { path: '/EFI/systemd/systemd-bootaa64.efi', from: bins.systemdBootAa64 },
  ],
};

const fatPath = buildFatImage('boot-file-esp', ESP);
const diskPath = buildGptDisk([{ type: 'EF00', sizeMiB: ESP.sizeMiB, name: 'EFI System Partition', contentFile: fatPath }], { label: 'boot-file-disk' });

function run(image: DiskImage, params: Facts, memo = new Memo()): Facts {
  if (!validateParams(params)) throw new Error(`params rejected: ${ajv.errorsText(validateParams.errors)}`);
  const facts = bootFileProbe.run({ image, memo }, params) as Facts;
  if (!validateFacts(facts)) throw new Error(`facts do not match bootFileProbe.facts: ${ajv.errorsText(validateFacts.errors)}\n${JSON.stringify(facts)}`);
  return facts;
}

function peOf(path: string): Facts {
  const bytes = readFileSync(path);
  return readPe(bytes.subarray(0, PE_HEADER_READ), bytes.length) as unknown as Facts;
}

const image = openDisk(diskPath);
t.teardown(() => image.close());

t.test('the removable-media path, however it is spelled', async (t) => {
  const memo = new Memo();
  for (const path of ['\\EFI\\BOOT\\BOOTAA64.EFI', '/efi/boot/bootaa64.efi', 'EFI\\Boot\\BootAA64.efi']) {
    t.same(run(image, { path }, memo), {
      espFound: true,
      path,
      required: true,
      found: true,
      kind: 'file',
      storedPath: '\\EFI\\Boot\\bootaa64.efi',
      size: statSync(bins.grubaa64).size,
      pe: peOf(bins.grubaa64),
      problems: [],
      removableMedia: { aarch64: true, aarch32: true },
      aarch32Only: false,
    }, path);
  }
  const pe = run(image, { path: '\\EFI\\BOOT\\BOOTAA64.EFI' }).pe as Facts;
  t.equal(pe.machineName, 'ARM64');
  t.equal(pe.machine, 0xaa64);
  t.equal(pe.magic, 'PE32+');
  t.equal(pe.subsystemName, 'EFI_APPLICATION');
});

t.test('other architectures and files', async (t) => {
  const arm = run(image, { path: '\\EFI\\BOOT\\BOOTARM.EFI' });
  t.equal(arm.storedPath, '\\EFI\\Boot\\BOOTARM.EFI');
  t.same(arm.pe, peOf(bins.arm32));
  t.equal((arm.pe as Facts).machineName, 'THUMB');
  t.equal((arm.pe as Facts).magic, 'PE32');
  t.equal((run(image, { path: '\\EFI\\BOOT\\BOOTX64.EFI' }).pe as Facts).machineName, 'AMD64');
  t.same(run(image, { path: '/EFI/systemd/SYSTEMD-BOOTAA64.EFI' }).pe, peOf(bins.systemdBootAa64));

  const elf = run(image, { path: '\\EFI\\BOOT\\FALLBACK.ELF' });
  t.equal(elf.found, true);
  t.equal((elf.pe as Facts).valid, false);
  t.match(((elf.pe as Facts).problems as string[])[0], /not "MZ"/);
  const empty = run(image, { path: '\\EFI\\BOOT\\EMPTY.EFI' });
  t.equal(empty.size, 0);
  t.equal((empty.pe as Facts).valid, false);
});

t.test('not found, directories, and the required flag', async (t) => {
  t.same(run(image, { path: '\\EFI\\BOOT\\MISSING.EFI', required: false }), {
    espFound: true, path: '\\EFI\\BOOT\\MISSING.EFI', required: false, found: false, kind: null,
    storedPath: null, size: null, pe: null, problems: [],
    removableMedia: { aarch64: true, aarch32: true }, aarch32Only: false,
  });
  const dir = run(image, { path: '\\efi\\boot' });
  t.equal(dir.kind, 'directory');
  t.equal(dir.storedPath, '\\EFI\\Boot');
  t.equal(dir.pe, null);
  t.equal(dir.size, null);
  t.equal(run(image, { path: '\\EFI\\BOOT\\BOOTAA64.EFI\\X' }).found, false, 'through a file');
  t.notOk(validateParams({}), 'path is required');
  t.notOk(validateParams({ path: 'x', other: 1 }), 'unknown params are refused');
});

t.test('removable-media files of both Arm architectures, whatever path is asked for', async (t) => {
  const build = (name: string, files: FatImageRecipe['files'], dirs: string[] = []) => {
    const fat = buildFatImage(`boot-file-${name}`, { fatBits: 32, sizeMiB: 40, sectorsPerCluster: 1, label: 'EFI', dirs: ['/EFI', '/EFI/BOOT', ...dirs], files });
    const d = openDisk(buildGptDisk([{ type: 'EF00', sizeMiB: 40, contentFile: fat }], { label: `boot-file-${name}` }));
    t.teardown(() => d.close());
    return d;
  };
  // A real armhf EFI application (Debian) alone at the AArch32 path: an AArch32 image.
  const armOnly = build('arm-only', [{ path: '/EFI/BOOT/bootarm.efi', from: bins.arm32 }]);
  const aa = run(armOnly, { path: '\\EFI\\BOOT\\BOOTAA64.EFI' });
  t.match(aa, { found: false, removableMedia: { aarch64: false, aarch32: true }, aarch32Only: true });
  t.match(run(armOnly, { path: '\\EFI\\BOOT\\BOOTARM.EFI' }), { found: true, aarch32Only: true, pe: { machineName: 'THUMB' } });
  // A directory named BOOTAA64.EFI is no boot file.
  const dirOnly = build('aa64-dir', [{ path: '/EFI/BOOT/BOOTARM.EFI', from: bins.arm32 }, { path: '/EFI/BOOT/BOOTAA64.EFI/x', text: 'x' }], ['/EFI/BOOT/BOOTAA64.EFI']);
  t.match(run(dirOnly, { path: '\\EFI\\BOOT\\BOOTARM.EFI' }), { removableMedia: { aarch64: false, aarch32: true }, aarch32Only: true });
  const none = build('no-loader', [{ path: '/EFI/BOOT/readme.txt', text: 'no loader\n' }]);
  t.match(run(none, { path: '\\EFI\\BOOT\\BOOTAA64.EFI' }), { removableMedia: { aarch64: false, aarch32: false }, aarch32Only: false });
});

t.test('disks without a usable ESP', async (t) => {
  const none = openDisk(buildGptDisk([{ type: '8300', sizeMiB: 4 }], { label: 'esp-test-none' }));
  t.teardown(() => none.close());
  const n = run(none, { path: '\\EFI\\BOOT\\BOOTAA64.EFI' });
  t.equal(n.espFound, false);
  t.equal(n.found, false);
  const garbage = openDisk(buildGptDisk([{ type: 'EF00', sizeMiB: 4, contentFile: patternFile(4, 3) }], { label: 'esp-test-garbage' }));
  t.teardown(() => garbage.close());
  const g = run(garbage, { path: '\\EFI\\BOOT\\BOOTAA64.EFI' });
  t.equal(g.espFound, true);
  t.equal(g.found, false);
  t.match((g.problems as string[])[0], /ESP partition 1 is not a readable FAT volume: FAT boot sector/);
});

t.test('the shared gptEspThird fixture: a BOOTAA64.EFI that is not PE', async (t) => {
  const img = openDisk(gptEspThird());
  t.teardown(() => img.close());
  const f = run(img, { path: '\\EFI\\BOOT\\BOOTAA64.EFI' });
  t.equal(f.found, true);
  t.equal(f.storedPath, '\\EFI\\BOOT\\BOOTAA64.EFI');
  t.equal((f.pe as Facts).valid, false);
  t.match(((f.pe as Facts).problems as string[])[0], /MS-DOS header .* past the end of the 18-byte file/);
});

t.test('a looping cluster chain under the boot file is reported, not thrown', async (t) => {
  const start = sgdiskPartitions(diskPath)[0]!.firstLba * 512;
  const src = new FileByteSource(fatPath);
  t.teardown(() => src.close());
  const vol = openFat(src);
  const entry = vol.lookup('\\EFI\\BOOT\\BOOTAA64.EFI')!.entry!;
  const [c0, c1] = [...vol.table.chain(entry.firstCluster, 2, 'boot')] as [number, number];
  const disk = new PatchedByteSource(image.disk).u32(start + vol.table.entryOffset(c1), c0);
  const f = run({ ...image, disk }, { path: '\\EFI\\BOOT\\BOOTAA64.EFI' });
  t.equal(f.found, true);
  t.equal(f.pe, null);
  t.match((f.problems as string[])[0], /revisits cluster/);
});

t.test('spec lint can resolve the dotted fact paths', async (t) => {
  for (const p of ['espFound', 'storedPath', 'pe.valid', 'pe.machineName', 'pe.magic', 'pe.subsystemName', 'pe.sections.0.name', 'problems']) {
    t.ok(schemaAt(bootFileProbe.facts, p), p);
  }
  t.notOk(schemaAt(bootFileProbe.facts, 'pe.nonsense'));
});
