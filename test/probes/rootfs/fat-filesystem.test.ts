/**
 * The ESP as a ReadOnlyFilesystem (what the OS view mounts at /boot or
 * /efi), on FAT12/16/32 volumes made by mkfs.vfat and filled by mtools:
 * every file read through it is the file mcopy extracts, reads at offsets
 * cross cluster boundaries as the chain lays them, listings are mdir's,
 * names are found case-insensitively by long or 8.3 name, and a damaged
 * chain is a read error naming the file, never wrong bytes.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { openFat } from '../../../probes/image/fat.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { isReadError } from '../../../bytes/errors.js';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { FatFilesystem } from '../../../probes/rootfs/fat-filesystem.js';
import { buildFatImage, mcopyOut, mcopyTree, mdirList, PatchedByteSource, standardTree } from '../../fixtures/fat-builder.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

for (const fatBits of [12, 16, 32] as const) {
  t.test(`FAT${fatBits}: the tree as mtools sees it`, async (t) => {
    const img = buildFatImage(`fatfs-${fatBits}`, { fatBits, sizeMiB: fatBits === 32 ? 40 : 8, sectorsPerCluster: fatBits === 12 ? 4 : 1, label: 'ESP', ...standardTree({ manyFiles: 40 }) });
    const src = new FileByteSource(img);
    t.teardown(() => src.close());
    const fs = new FatFilesystem(openFat(src));
    const files = new Map<string, string>();
    const all: string[] = [];
    for (const e of walk(fs, '/')) {
      all.push(e.type === 'directory' ? `${e.path}/` : e.path);
      if (e.type === 'file') files.set(e.path, sha(fs.readFile(e.path, { maxBytes: 1 << 24 })));
    }
    t.same(files, mcopyTree(img), 'every file is the bytes mcopy extracts');
    t.same(all.sort(), mdirList(img).sort(), 'every path mdir lists, and no other');
    const big = mcopyOut(img, '/big.bin');
    for (const [off, len] of [[0, 10], [511, 3], [2047, 2], [4095, 8193], [big.length - 5, 100], [big.length, 10]] as const) {
      t.same(Buffer.from(fs.read('/big.bin', off, len)), big.subarray(off, off + len), `read(${off}, ${len})`);
    }
    t.equal(fs.stat('/efi/BOOT/BOOTAA64.EFI').size, 70_000, 'looked up case-insensitively');
    t.equal(fs.stat('/LONGFI~1.TXT').size, fs.stat('/Long File Name.txt').size, 'by its 8.3 alias too');
    t.throws(() => fs.readFile('/nope'), FsError);
    t.throws(() => fs.readlink('/UPPER.TXT'), { code: 'EINVAL' });
    t.throws(() => fs.readFile('/EFI'), { code: 'EISDIR' });
  });
}

t.test('a cluster chain cut short is a read error naming the file', async (t) => {
  const img = buildFatImage('fatfs-cut', { fatBits: 16, sizeMiB: 8, sectorsPerCluster: 1, files: [{ path: '/big.bin', size: 300_000 }] });
  const src = new FileByteSource(img);
  t.teardown(() => src.close());
  const vol = openFat(src);
  const entry = vol.lookup('/big.bin')!.entry!;
  // Mark the file's third cluster as end-of-chain (0xFFFF) in the FAT the reader uses.
  const third = [...vol.table.chain(entry.firstCluster, 3, 'big')][2]!;
  const fs = new FatFilesystem(openFat(new PatchedByteSource(src).u16(vol.table.entryOffset(third), 0xffff)));
  t.same(Buffer.from(fs.read('/big.bin', 0, 100)), mcopyOut(img, '/big.bin').subarray(0, 100), 'the intact start still reads');
  try {
    fs.readFile('/big.bin');
    t.fail('a short chain was read');
  } catch (e) {
    t.ok(isReadError(e), 'a read error');
    t.match((e as Error).message, /big\.bin.*cluster chain ends after 3 clusters/);
  }
});
