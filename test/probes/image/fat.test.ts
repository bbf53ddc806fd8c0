import t from 'tap';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { fatTypeForClusterCount, MAX_DIR_ENTRIES, openFat, type FatVolume } from '../../../probes/image/fat.js';
import {
  buildFatImage,
  fileContent,
  fsckFat,
  mcopyTree,
  mdirList,
  minfo,
  sha256,
  standardTree,
  type FatImageRecipe,
} from '../../fixtures/fat-builder.js';

/**
 * Our FAT reader against mkfs.vfat-made, mtools-populated images, with
 * fsck.fat, minfo, mdir and mcopy as the oracles: FAT type and cluster
 * count, BPB fields, the whole directory tree, and every file's bytes.
 */

const IMAGES: { name: string; recipe: FatImageRecipe; expect: 'FAT12' | 'FAT16' | 'FAT32' }[] = [
  { name: 'fat12-512', expect: 'FAT12', recipe: { fatBits: 12, sizeMiB: 2, sectorsPerCluster: 1, label: 'TWELVE', ...standardTree({ manyFiles: 60, bigFileSize: 100_000, clusterBytes: 512 }) } },
  { name: 'fat12-4k', expect: 'FAT12', recipe: { fatBits: 12, sizeMiB: 12, sectorSize: 4096, sectorsPerCluster: 1, ...standardTree({ manyFiles: 200, clusterBytes: 4096 }) } },
  { name: 'fat16-2k', expect: 'FAT16', recipe: { fatBits: 16, sizeMiB: 40, sectorsPerCluster: 4, label: 'SIXTEEN', ...standardTree({ manyFiles: 120 }) } },
  { name: 'fat16-4k', expect: 'FAT16', recipe: { fatBits: 16, sizeMiB: 64, sectorSize: 4096, sectorsPerCluster: 1, ...standardTree({ manyFiles: 200, clusterBytes: 4096 }) } },
  { name: 'fat32-512', expect: 'FAT32', recipe: { fatBits: 32, sizeMiB: 64, sectorsPerCluster: 1, label: 'ESP', ...standardTree({ manyFiles: 300, clusterBytes: 512 }) } },
  { name: 'fat32-4k', expect: 'FAT32', recipe: { fatBits: 32, sizeMiB: 300, sectorSize: 4096, sectorsPerCluster: 1, ...standardTree({ manyFiles: 300, clusterBytes: 4096 }) } },
  { name: 'fat32-32k', expect: 'FAT32', recipe: { fatBits: 32, sizeMiB: 2100, sectorsPerCluster: 64, ...standardTree({ manyFiles: 300, clusterBytes: 32768, bigFileSize: 200_000 }) } },
];

function listing(vol: FatVolume): string[] {
  return [...vol.walk()].map((w) => (w.entry.isDirectory ? `${w.path}/` : w.path));
}

for (const { name, recipe, expect } of IMAGES) {
  t.test(name, (t) => {
    const img = buildFatImage(name, recipe);
    const src = new FileByteSource(img);
    t.teardown(() => src.close());
    const vol = openFat(src);
    const fsck = fsckFat(img);
    const mi = minfo(img);
    const g = vol.geometry;

    t.test('FAT type and geometry agree with fsck.fat and minfo', async (t) => {
      t.equal(g.type, expect);
      t.equal(g.countOfClusters, fsck.clusters, 'CountofClusters = fsck.fat data clusters');
      t.equal(g.type, `FAT${fsck.entryBits}`, 'type = fsck.fat entry width');
      t.equal(g.type, fatTypeForClusterCount(fsck.clusters), 'type follows the cluster-count rule');
      t.equal(g.bytesPerSector, mi.sectorSize);
      t.equal(g.sectorsPerCluster, mi.clusterSectors);
      t.equal(vol.bpb.BS_VolLab, mi.label);
      t.equal(vol.bpb.BS_FilSysType, mi.type);
      t.same(vol.problems, [], 'a freshly made volume has no boot-sector problems');
    });

    t.test('directory tree equals mdir -/ -b -a', async (t) => {
      t.same(listing(vol).sort(), mdirList(img).sort());
      for (const w of vol.walk()) {
        if (w.entry.isDirectory) t.same(vol.readDir(vol.dirRefOf(w.entry)).problems, [], `${w.path}: no problems`);
      }
      t.same(vol.readDir('root').problems, []);
      const root = vol.readDir('root');
      t.equal(root.volumeLabel, recipe.label ?? null, 'root volume-label entry (mkfs.vfat writes one only with -n)');
      t.notOk(root.entries.some((e) => e.isDotEntry), 'the root has no "." or ".."');
    });

    t.test('the many-files directory spans several clusters and lists them all', async (t) => {
      const many = vol.lookup('/many');
      t.equal(many?.kind, 'directory');
      if (!many?.entry) return;
      const entries = vol.readDir(vol.dirRefOf(many.entry)).entries;
      const files = recipe.files?.filter((f) => f.path.startsWith('/many/')) ?? [];
      t.equal(entries.filter((e) => !e.isDotEntry).length, files.length);
      t.same(entries.slice(0, 2).map((e) => e.name), ['.', '..']);
      // Long names of ~40 characters take 4 entries each (3 long + 1 short).
      t.ok(files.length * 4 * 32 > g.bytesPerCluster, 'more directory bytes than one cluster');
      t.ok(files.length * 4 < MAX_DIR_ENTRIES);
    });

    t.test('file contents equal mcopy out and what was written', async (t) => {
      const theirs = mcopyTree(img);
      t.equal(theirs.size, recipe.files?.length, 'mcopy -s extracts every file');
      for (const f of recipe.files ?? []) {
        const node = vol.lookup(f.path);
        if (!node?.entry) {
          t.fail(`${f.path} not found`);
          continue;
        }
        const ours = vol.readFile(node.entry);
        t.equal(node.entry.size, ours.length, `${f.path}: DIR_FileSize`);
        const want = sha256(fileContent(f));
        t.equal(sha256(ours), want, `${f.path}: content as written`);
        t.equal(theirs.get(f.path), want, `${f.path}: mcopy agrees`);
      }
    });

    t.test('readFileRange gives exactly the slice of the whole file (which mcopy agrees with), within bounds', async (t) => {
      const bpc = g.bytesPerCluster;
      for (const f of (recipe.files ?? []).slice(0, 12)) {
        const node = vol.lookup(f.path);
        if (!node?.entry) continue;
        const whole = vol.readFile(node.entry);
        const size = whole.length;
        // Offsets on and off cluster boundaries, spans inside one cluster and across several.
        const spans: [number, number][] = [[0, size], [0, Math.min(1, size)], [Math.min(bpc, size), Math.max(0, size - Math.min(bpc, size))], [size >> 1, size - (size >> 1)], [Math.max(0, bpc - 3), Math.min(7, Math.max(0, size - Math.max(0, bpc - 3)))], [size, 0]];
        for (const [o, n] of spans) {
          if (o + n > size) continue;
          t.same(Buffer.from(vol.readFileRange(node.entry, o, n)), Buffer.from(whole.subarray(o, o + n)), `${f.path}: ${n} bytes at ${o}`);
        }
        t.throws(() => vol.readFileRange(node.entry!, size, 1), /outside the file/, `${f.path}: a byte past the end is refused`);
        t.throws(() => vol.readFileRange(node.entry!, -1, 1), /outside the file/);
      }
    });

    t.test('case-insensitive lookup, both separators, stored names', async (t) => {
      const want = '\\EFI\\Boot\\bootaa64.efi';
      for (const p of ['\\EFI\\BOOT\\BOOTAA64.EFI', '/efi/boot/bootaa64.efi', 'EFI/Boot/BootAA64.efi', '\\\\EFI\\\\BOOT\\\\.\\BOOTAA64.EFI', '\\EFI\\debian\\..\\BOOT\\BOOTAA64.EFI']) {
        const n = vol.lookup(p);
        t.equal(n?.kind, 'file', p);
        t.equal(n?.storedPath, want, p);
      }
      const boot = vol.lookup('\\efi\\boot\\bootaa64.efi')?.entry;
      t.equal(boot?.shortName, 'BOOTAA64.EFI', '8.3 name as stored');
      t.equal(boot?.longName, null, 'no long name: case comes from DIR_NTRes');
      t.equal(boot?.ntRes, 0x18, 'DIR_NTRes lowercase base and extension');
      t.equal(vol.lookup('\\EFI\\DEBIAN\\bootaa64.efi')?.storedPath, '\\EFI\\debian\\BootAA64.EFI', 'mixed case kept in a long name');
      t.equal(vol.lookup('\\LONGFI~1.TXT')?.storedPath, '\\Long File Name.txt', 'an 8.3 alias finds the long-named file');
      t.equal(vol.lookup('\\ünïcødé FÏLE.TXT')?.storedPath, '\\Ünïcødé fïle.txt', 'Unicode case folding of long names');
      t.same(vol.lookup('\\EFI\\BOOT'), { kind: 'directory', entry: vol.lookup('/EFI/Boot')?.entry, storedPath: '\\EFI\\Boot' });
      t.equal(vol.lookup('\\')?.storedPath, '\\', 'root');
      t.equal(vol.lookup('\\')?.entry, null);
      t.equal(vol.lookup('\\EFI\\BOOT\\MISSING.EFI'), null);
      t.equal(vol.lookup('\\EFI\\BOOT\\BOOTAA64.EFI\\X'), null, 'a file is not a directory');
      t.equal(vol.lookup('/a/b/c/d/e/DEEP.TXT')?.storedPath, '\\a\\b\\c\\d\\e\\deep.txt');
      t.equal(vol.lookup('/empty dir')?.kind, 'directory');
      t.same(vol.readDir(vol.dirRefOf(vol.lookup('/empty dir')!.entry!)).entries.map((e) => e.name), ['.', '..']);
    });

    t.test('reads are capped by the caller', async (t) => {
      const big = vol.lookup('/big.bin')!.entry!;
      const all = fileContent(recipe.files!.find((f) => f.path === '/big.bin')!);
      for (const cap of [0, 1, 100, g.bytesPerCluster, g.bytesPerCluster + 1, 65536]) {
        const head = vol.readFile(big, cap);
        t.equal(head.length, Math.min(cap, all.length), `cap ${cap}`);
        t.equal(sha256(head), sha256(all.subarray(0, cap)), `first ${cap} bytes`);
      }
      t.equal(vol.readFile(vol.lookup('/empty.bin')!.entry!).length, 0);
    });

    t.end();
  });
}
