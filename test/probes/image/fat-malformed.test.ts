import { mkdtempSync, rmSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ParseError } from '../../../bytes/errors.js';
import { FileByteSource, type ByteSource } from '../../../bytes/byte-source.js';
import { openFat, type FatVolume } from '../../../probes/image/fat.js';
import { buildFatImage, mdirList, mtoolsEnv, PatchedByteSource, standardTree, type FatImageRecipe } from '../../fixtures/fat-builder.js';
import { run } from '../../fixtures/cache.js';

/**
 * Damaged FAT volumes: real images with bytes patched in memory. Every
 * failure must be a ParseError with an offset, never a RangeError, a
 * TypeError or a hang.
 */

const RECIPES: Record<'fat12' | 'fat16' | 'fat32', FatImageRecipe> = {
  fat12: { fatBits: 12, sizeMiB: 2, sectorsPerCluster: 1, ...standardTree({ manyFiles: 60, bigFileSize: 20_000, clusterBytes: 512 }) },
  fat16: { fatBits: 16, sizeMiB: 40, sectorsPerCluster: 4, ...standardTree({ manyFiles: 120 }) },
  fat32: { fatBits: 32, sizeMiB: 64, sectorsPerCluster: 1, ...standardTree({ manyFiles: 120, clusterBytes: 512 }) },
};

const sources: FileByteSource[] = [];
t.teardown(() => sources.forEach((s) => s.close()));

function base(kind: keyof typeof RECIPES): { img: string; src: FileByteSource; vol: FatVolume } {
  const img = buildFatImage(`malformed-${kind}`, RECIPES[kind]);
  const src = new FileByteSource(img);
  sources.push(src);
  return { img, src, vol: openFat(src) };
}

/** Write FAT entry `n` (first FAT copy) with the packing of the volume's type (fatgen103 §4). */
function setFatEntry(p: PatchedByteSource, vol: FatVolume, n: number, value: number): void {
  const off = vol.table.entryOffset(n);
  if (vol.geometry.type === 'FAT12') {
    const cur = p.read(off, 2);
    const w = (cur[0] ?? 0) | ((cur[1] ?? 0) << 8);
    const nw = n & 1 ? (w & 0x000f) | (value << 4) : (w & 0xf000) | (value & 0x0fff);
    p.u16(off, nw);
  } else if (vol.geometry.type === 'FAT16') p.u16(off, value);
  else p.u32(off, value);
}

/** The `t` a subtest callback receives (the last overload of t.test takes just the callback). */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

/** Run fn; pass if it throws a ParseError matching `re` (and with an offset when `withOffset`). */
function throwsParse(t: TapTest, fn: () => unknown, re: RegExp, msg: string, withOffset = true): ParseError | undefined {
  try {
    fn();
    t.fail(`${msg}: did not throw`);
  } catch (e) {
    if (!(e instanceof ParseError)) {
      t.fail(`${msg}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      return undefined;
    }
    t.match(e.message, re, msg);
    if (withOffset) t.ok(e.offset >= 0, `${msg}: has an offset (${e.offset})`);
    return e;
  }
  return undefined;
}

for (const kind of ['fat12', 'fat16', 'fat32'] as const) {
  t.test(kind, (t) => {
    const { img, src, vol } = base(kind);
    const g = vol.geometry;
    const boot = vol.lookup('/EFI/Boot/bootaa64.efi')!.entry!;
    const bootClusters = [...vol.table.chain(boot.firstCluster, 1000, 'boot')];
    const manyDir = vol.lookup('/many')!.entry!;
    const patched = () => new PatchedByteSource(src);

    t.test('truncated volumes', async (t) => {
      for (const size of [0, 100, 511]) {
        throwsParse(t, () => openFat(new PatchedByteSource(src, 'short', size)), /smaller than one 512-byte sector/, `${size} bytes`);
      }
      // Cut inside the FAT: the boot sector opens, the cut is a problem, reads fail cleanly.
      const cut = g.fatOffset + 700;
      const short = openFat(new PatchedByteSource(src, 'cut', cut));
      t.match(short.problems.join('\n'), /holds only/, 'reported as a problem');
      throwsParse(t, () => short.readFile(short.lookup('/EFI/Boot/bootaa64.efi')?.entry ?? boot), /past the end/, 'file read past the cut');
      // Cut in the data area: the root reads, the big file's tail does not.
      const big = vol.lookup('/big.bin')!.entry!;
      const tail = [...vol.table.chain(big.firstCluster, 10_000, 'big')].at(-1)!;
      const dataCut = openFat(new PatchedByteSource(src, 'cut', vol.clusterOffset(tail)));
      t.ok(dataCut.lookup('/big.bin'), 'lookup still works');
      throwsParse(t, () => dataCut.readFile(big), /lies past the end/, 'last cluster beyond the cut');
      t.equal(dataCut.readFile(big, 512).length, 512, 'the head still reads');
    });

    t.test('cluster chain cycles', async (t) => {
      t.ok(bootClusters.length >= 3, 'the boot file spans several clusters');
      const [c0, c1, c2] = bootClusters as [number, number, number];
      const loopBack = patched();
      setFatEntry(loopBack, vol, c2, c0);
      const e = throwsParse(t, () => openFat(loopBack).readFile(boot), /revisits cluster/, 'chain loops to its head');
      t.equal(e?.structure, 'FAT');
      const self = patched();
      setFatEntry(self, vol, c1, c1);
      throwsParse(t, () => openFat(self).readFile(boot), /revisits cluster/, 'cluster links to itself');
      // A directory whose first (full) cluster links back to itself.
      const dirLoop = patched();
      const manyFirst = manyDir.firstCluster;
      setFatEntry(dirLoop, vol, manyFirst, manyFirst);
      throwsParse(t, () => openFat(dirLoop).lookup('/many/x'), /revisits cluster/, 'directory chain loops');
      // A directory entry leading back to an ancestor: the tree walk refuses it.
      const treeLoop = patched();
      const bootDir = vol.lookup('/EFI/Boot')!.entry!;
      const efi = vol.lookup('/EFI')!.entry!;
      treeLoop.u16(bootDir.offset + 26, efi.firstCluster & 0xffff);
      if (kind === 'fat32') treeLoop.u16(bootDir.offset + 20, efi.firstCluster >>> 16);
      throwsParse(t, () => [...openFat(treeLoop).walk()], /already visited/, 'subdirectory pointing at its parent');
    });

    t.test('bad links inside a chain', async (t) => {
      const [c0] = bootClusters as [number];
      const bad = kind === 'fat12' ? 0xff7 : kind === 'fat16' ? 0xfff7 : 0x0ffffff7;
      for (const [value, re] of [[0, /free value/], [bad, /bad value/], [1, /reserved value/], [g.countOfClusters + 2, /reserved value/]] as const) {
        const p = patched();
        setFatEntry(p, vol, c0, value);
        const e = throwsParse(t, () => openFat(p).readFile(boot), re, `link to 0x${value.toString(16)}`);
        t.equal(e?.offset, vol.table.entryOffset(c0), 'offset names the FAT entry');
      }
      if (kind === 'fat32') {
        // fatgen103 §4: the high 4 bits of a FAT32 entry are reserved and must be ignored.
        const high = patched();
        setFatEntry(high, vol, c0, (bootClusters[1]! | 0xf0000000) >>> 0);
        t.same(openFat(high).readFile(boot), vol.readFile(boot), 'reserved high bits ignored');
      }
      const early = patched();
      setFatEntry(early, vol, c0, 0x0ffffff8 & (kind === 'fat12' ? 0xfff : kind === 'fat16' ? 0xffff : 0x0fffffff));
      throwsParse(t, () => openFat(early).readFile(boot), /chain ends after 1 clusters/, 'end-of-chain before DIR_FileSize is covered');
      t.equal(openFat(early).readFile(boot, g.bytesPerCluster).length, g.bytesPerCluster, 'what the short chain covers still reads');
      // One volume, reads in any order: the chain is followed once and kept, its damage met again on every read past it.
      const [, c1] = bootClusters as [number, number];
      const broken = patched();
      setFatEntry(broken, vol, c1, 0);
      const one = openFat(broken);
      const bpc = g.bytesPerCluster;
      t.same(one.readFileRange(boot, bpc, 10), vol.readFileRange(boot, bpc, 10), 'a range before the damage reads');
      const first = throwsParse(t, () => one.readFileRange(boot, 2 * bpc, 10), /free value/, 'a range past it fails');
      const again = throwsParse(t, () => one.readFileRange(boot, 2 * bpc + 1, 1), /free value/, 'and fails again, the same way');
      t.equal(again?.offset, first?.offset, 'at the same FAT entry');
      t.same(one.readFileRange(boot, 0, 2 * bpc), vol.readFileRange(boot, 0, 2 * bpc), 'what lies before it still reads after');
    });

    t.test('directory entries pointing out of range', async (t) => {
      for (const cluster of [0, 1, g.countOfClusters + 2, kind === 'fat32' ? 0x0ffffff0 : 0xfff0]) {
        const p = patched().u16(boot.offset + 26, cluster & 0xffff);
        if (kind === 'fat32') p.u16(boot.offset + 20, cluster >>> 16);
        const e = throwsParse(t, () => openFat(p).readFile(openFat(p).lookup('/EFI/Boot/bootaa64.efi')!.entry!), /outside 2\.\./, `DIR_FstClusLO ${cluster}`);
        t.equal(e?.offset, boot.offset, 'offset names the directory entry');
      }
      if (kind === 'fat32') {
        const hi = patched().u16(boot.offset + 20, 0xffff);
        throwsParse(t, () => openFat(hi).readFile(openFat(hi).lookup('/EFI/Boot/bootaa64.efi')!.entry!), /outside 2\.\./, 'DIR_FstClusHI 0xFFFF');
      }
      const dirOut = patched().u16(manyDir.offset + 26, 0xfff0);
      if (kind === 'fat32') dirOut.u16(manyDir.offset + 20, 0x0fff);
      const de = throwsParse(t, () => openFat(dirOut).lookup('/many/x'), /outside 2\.\./, 'subdirectory cluster out of range');
      t.equal(de?.offset, manyDir.offset, 'offset names the directory entry');
      const noCluster = patched().u16(manyDir.offset + 26, 0);
      if (kind === 'fat32') noCluster.u16(manyDir.offset + 20, 0);
      throwsParse(t, () => openFat(noCluster).lookup('/many/x'), /has no first cluster/, 'subdirectory with cluster 0');
      const huge = patched().u32(boot.offset + 28, 0xffffffff);
      const hv = openFat(huge);
      const hb = hv.lookup('/EFI/Boot/bootaa64.efi')!.entry!;
      t.equal(hb.size, 0xffffffff);
      t.equal(hv.readFile(hb, 1000).length, 1000, 'a capped read of a 4 GiB claim works');
      throwsParse(t, () => hv.readFile(hb, 4 * 1024 * 1024), /chain ends after/, 'reading further finds the chain too short');
    });

    t.test('absurd BPB values', async (t) => {
      const cases: [string, (p: PatchedByteSource) => unknown, RegExp, number][] = [
        ['BPB_BytsPerSec 0', (p) => p.u16(11, 0), /BPB_BytsPerSec 0/, 11],
        ['BPB_BytsPerSec 3', (p) => p.u16(11, 3), /BPB_BytsPerSec 3/, 11],
        ['BPB_BytsPerSec 256', (p) => p.u16(11, 256), /BPB_BytsPerSec 256/, 11],
        ['BPB_BytsPerSec 8192', (p) => p.u16(11, 8192), /BPB_BytsPerSec 8192/, 11],
        ['BPB_SecPerClus 0', (p) => p.patch(13, [0]), /BPB_SecPerClus 0/, 13],
        ['BPB_SecPerClus 3', (p) => p.patch(13, [3]), /BPB_SecPerClus 3/, 13],
        ['BPB_RsvdSecCnt 0', (p) => p.u16(14, 0), /BPB_RsvdSecCnt is 0/, 14],
        ['BPB_NumFATs 0', (p) => p.patch(16, [0]), /BPB_NumFATs is 0/, 16],
        ['no total sectors', (p) => p.u16(19, 0).u32(32, 0), /both 0/, 19],
        ['no FAT size', (p) => p.u16(22, 0).u32(36, 0), /BPB_FATSz16 and BPB_FATSz32 are both 0/, 22],
        ['FATs larger than the volume', (p) => (kind === 'fat32' ? p.u32(36, 0x7fffffff) : p.u16(22, 0xffff)), /leave no data area/, 14],
        ['FAT too small for its clusters', (p) => (kind === 'fat32' ? p.u32(36, 1) : p.u16(22, 1)), /cannot hold/, 22],
      ];
      if (kind === 'fat32') {
        cases.push(['BPB_RootClus 0', (p) => p.u32(44, 0), /BPB_RootClus 0 is outside/, 44]);
        cases.push(['BPB_RootClus huge', (p) => p.u32(44, 0x0fffffff), /BPB_RootClus 268435455 is outside/, 44]);
      }
      for (const [name, patch, re, offset] of cases) {
        const p = patched();
        patch(p);
        const e = throwsParse(t, () => openFat(p), re, name);
        t.equal(e?.offset, offset, `${name}: offset`);
      }
      // Damage that leaves the volume readable is reported, not thrown.
      const soft = patched().patch(0, [0, 0, 0]).patch(510, [0, 0]).patch(21, [0x12]);
      const sv = openFat(soft);
      t.match(sv.problems.join('\n'), /BS_jmpBoot/);
      t.match(sv.problems.join('\n'), /signature at offset 510/);
      t.match(sv.problems.join('\n'), /BPB_Media 0x12/);
      t.equal(sv.lookup('/EFI/Boot/bootaa64.efi')?.entry?.size, boot.size, 'still readable');
    });

    t.test('long-name damage falls back to the 8.3 name', async (t) => {
      const lfn = vol.lookup('/Long File Name.txt')!.entry!;
      t.equal(lfn.shortName, 'LONGFI~1.TXT');
      // Renaming the short entry (LONGFI~2) leaves every LDIR_Chksum naming the old one.
      const p = patched().patch(lfn.offset + 7, [0x32]);
      const v = openFat(p);
      const root = v.readDir('root');
      t.ok(root.entries.some((e) => e.name === 'LONGFI~2.TXT'), 'shown by its short name');
      t.match(root.problems.join('\n'), /LDIR_Chksum/);
      t.equal(v.lookup('/Long File Name.txt'), null, 'the long name no longer resolves');
      t.equal(v.lookup('/LONGFI~2.TXT')?.entry?.size, lfn.size);
      // One long-name entry's checksum changed: the sequence breaks there.
      const c = patched().patch(lfn.offset - 32 + 13, [0x00]);
      t.match(openFat(c).readDir('root').problems.join('\n'), /out of sequence/);
      t.ok(openFat(c).readDir('root').entries.some((e) => e.name === 'LONGFI~1.TXT'));
      // Break the ordinal sequence instead.
      const q = patched().patch(lfn.offset - 32, [0x05]);
      t.match(openFat(q).readDir('root').problems.join('\n'), /out of sequence|incomplete/);
    });

    t.test('deleted entries are skipped as mtools sees them', async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'vmspec-fat-del-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const copy = join(dir, 'fat.img');
      copyFileSparse(img, copy);
      run('mdel', ['-i', copy, '::/EFI/Boot/bootaa64.efi', '::/Long File Name.txt'], { env: mtoolsEnv });
      run('mrd', ['-i', copy, '::/empty dir'], { env: mtoolsEnv });
      const s = new FileByteSource(copy);
      t.teardown(() => s.close());
      const v = openFat(s);
      t.same([...v.walk()].map((w) => (w.entry.isDirectory ? `${w.path}/` : w.path)).sort(), mdirList(copy).sort());
      t.equal(v.lookup('/EFI/Boot/bootaa64.efi'), null);
      t.same(v.readDir('root').problems, [], 'deleted long names are not orphans');
    });

    t.test('random damage: only ParseErrors, always terminating', async (t) => {
      // Deterministic xorshift so a failure reproduces.
      let seed = 0x9e3779b9 ^ kind.length;
      const rnd = (n: number) => {
        seed ^= seed << 13; seed >>>= 0;
        seed ^= seed >>> 17;
        seed ^= seed << 5; seed >>>= 0;
        return seed % n;
      };
      // Aim at metadata: the BPB, the start of the FAT, and the directories' first clusters.
      const dirStart = (path: string) => vol.clusterOffset(vol.dirRefOf(vol.lookup(path)!.entry!) as number);
      const rootStart = g.type === 'FAT32' ? vol.clusterOffset(g.rootCluster) : g.rootDirOffset;
      const regions: [number, number][] = [
        [0, 90],
        [g.fatOffset, Math.min(g.fatBytes, 2048)],
        [rootStart, 1024],
        [dirStart('/EFI'), 256],
        [dirStart('/EFI/Boot'), 256],
        [dirStart('/many'), g.bytesPerCluster],
      ];
      const target = () => {
        const [start, len] = regions[rnd(regions.length)]!;
        return start + rnd(len);
      };
      let parseErrors = 0;
      let other = 0;
      for (let i = 0; i < 400; i++) {
        const p = patched();
        const flips = 1 + rnd(8);
        for (let k = 0; k < flips; k++) p.patch(target(), [rnd(256)]);
        try {
          const v = openFat(p as ByteSource);
          for (const w of v.walk()) if (!w.entry.isDirectory) v.readFile(w.entry, 64 * 1024);
        } catch (e) {
          if (e instanceof ParseError) parseErrors++;
          else {
            other++;
            t.fail(`iteration ${i}: ${(e as Error).name}: ${(e as Error).message}`);
          }
        }
      }
      t.equal(other, 0, `400 damaged volumes, ${parseErrors} ParseErrors, nothing else thrown`);
    });

    t.end();
  });
}
