/**
 * detectFilesystem against images made by the real tools (skipped, with the
 * reason, where a tool is not installed) and hand-written headers.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferByteSource, FileByteSource } from '../../../bytes/byte-source.js';
import { detectFilesystem } from '../../../probes/fs/detect.js';
import { cachedDir, run } from '../../fixtures/cache.js';
import { patch } from '../../fixtures/ext4-builder.js';

function have(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A sparse image of `sizeMiB` formatted by `format(path)`, cached per recipe. */
function image(name: string, sizeMiB: number, recipe: unknown, format: (path: string) => void): string {
  const dir = cachedDir(`detect-${name}`, { sizeMiB, recipe }, (tmp) => {
    const p = join(tmp, 'fs.img');
    writeFileSync(p, '');
    truncateSync(p, sizeMiB * 1024 * 1024);
    format(p);
  });
  return join(dir, 'fs.img');
}

function detectFile(path: string): string | null {
  const src = new FileByteSource(path);
  try {
    return detectFilesystem(src);
  } finally {
    src.close();
  }
}

interface Case {
  name: string;
  tool: string;
  /** Debian package that ships the tool, for the skip message. */
  pkg: string;
  sizeMiB: number;
  args: (path: string) => [string, string[]];
  want: string;
}

const cases: Case[] = [
  { name: 'ext2', tool: 'mkfs.ext2', pkg: 'e2fsprogs', sizeMiB: 16, args: (p) => ['mkfs.ext2', ['-q', '-F', p]], want: 'ext2' },
  { name: 'ext3', tool: 'mkfs.ext3', pkg: 'e2fsprogs', sizeMiB: 16, args: (p) => ['mkfs.ext3', ['-q', '-F', p]], want: 'ext3' },
  { name: 'ext4', tool: 'mkfs.ext4', pkg: 'e2fsprogs', sizeMiB: 16, args: (p) => ['mkfs.ext4', ['-q', '-F', p]], want: 'ext4' },
  { name: 'ext4-journal-dev', tool: 'mke2fs', pkg: 'e2fsprogs', sizeMiB: 16, args: (p) => ['mke2fs', ['-q', '-F', '-O', 'journal_dev', '-b', '4096', p]], want: 'jbd' },
  { name: 'xfs', tool: 'mkfs.xfs', pkg: 'xfsprogs', sizeMiB: 320, args: (p) => ['mkfs.xfs', ['-q', '-f', p]], want: 'xfs' },
  { name: 'btrfs', tool: 'mkfs.btrfs', pkg: 'btrfs-progs', sizeMiB: 128, args: (p) => ['mkfs.btrfs', ['-q', '-f', p]], want: 'btrfs' },
  { name: 'swap-4k', tool: 'mkswap', pkg: 'util-linux', sizeMiB: 8, args: (p) => ['mkswap', ['-p', '4096', p]], want: 'swap' },
  { name: 'swap-64k', tool: 'mkswap', pkg: 'util-linux', sizeMiB: 8, args: (p) => ['mkswap', ['-p', '65536', p]], want: 'swap' },
  { name: 'vfat-16', tool: 'mkfs.vfat', pkg: 'dosfstools', sizeMiB: 32, args: (p) => ['mkfs.vfat', ['-F', '16', p]], want: 'vfat' },
  { name: 'vfat-32', tool: 'mkfs.vfat', pkg: 'dosfstools', sizeMiB: 64, args: (p) => ['mkfs.vfat', ['-F', '32', p]], want: 'vfat' },
  {
    name: 'luks2',
    tool: 'cryptsetup',
    pkg: 'cryptsetup-bin',
    sizeMiB: 32,
    // pbkdf2 with few iterations: no Argon2 memory benchmark in tests.
    args: (p) => ['sh', ['-c', `printf pw | cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file - ${p}`]],
    want: 'crypto_LUKS',
  },
];

for (const c of cases) {
  t.test(`${c.name} (made by ${c.tool})`, { skip: have(c.tool) ? false : `${c.tool} not installed (Debian package ${c.pkg})` }, async (t) => {
    const img = image(c.name, c.sizeMiB, c.args('IMG'), (p) => {
      const [cmd, args] = c.args(p);
      run(cmd, args);
    });
    t.equal(detectFile(img), c.want);
  });
}

t.test('squashfs (made by mksquashfs)', { skip: have('mksquashfs') ? false : 'mksquashfs not installed (Debian package squashfs-tools)' }, async (t) => {
  const dir = cachedDir('detect-squashfs', { v: 1 }, (tmp) => {
    mkdirSync(join(tmp, 'src'));
    writeFileSync(join(tmp, 'src', 'hello'), 'hello\n');
    run('mksquashfs', [join(tmp, 'src'), join(tmp, 'fs.img'), '-noappend', '-quiet']);
  });
  t.equal(detectFile(join(dir, 'fs.img')), 'squashfs');
});

t.test('hand-written headers', async (t) => {
  const luks1 = new Uint8Array(4096);
  luks1.set([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe, 0x00, 0x01]); // "LUKS\xba\xbe", version 1
  t.equal(detectFilesystem(new BufferByteSource(luks1)), 'crypto_LUKS', 'LUKS1 phdr');

  // LVM2 label in sector 1, as pvcreate writes it: "LABELONE", sector, crc, offset, "LVM2 001".
  const lvm = new Uint8Array(1 << 20);
  const label = new TextEncoder().encode('LABELONE');
  lvm.set(label, 512);
  lvm.set([1, 0, 0, 0, 0, 0, 0, 0], 512 + 8);
  lvm.set([32, 0, 0, 0], 512 + 20);
  lvm.set(new TextEncoder().encode('LVM2 001'), 512 + 24);
  t.equal(detectFilesystem(new BufferByteSource(lvm)), 'LVM2_member');
  const notLvm = lvm.slice();
  notLvm.set(new TextEncoder().encode('XXXX 001'), 512 + 24);
  t.equal(detectFilesystem(new BufferByteSource(notLvm)), null, 'LABELONE of another type is not LVM2');

  const swap16k = new Uint8Array(32768);
  swap16k.set(new TextEncoder().encode('SWAPSPACE2'), 16384 - 10);
  t.equal(detectFilesystem(new BufferByteSource(swap16k)), 'swap', 'swap made for 16 KiB pages');

  t.equal(detectFilesystem(new BufferByteSource(new Uint8Array(1 << 20))), null, 'zeros');
  t.equal(detectFilesystem(new BufferByteSource(new Uint8Array(100))), null, 'tiny source: no read past its end');
  // An MBR: 0x55AA but no BPB, so not FAT.
  const mbr = new Uint8Array(1 << 20);
  mbr.set([0xeb, 0x63, 0x90], 0);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  mbr[446 + 4] = 0x83;
  t.equal(detectFilesystem(new BufferByteSource(mbr)), null, 'an MBR is not vfat');
});

t.test('ext magic with a patched feature set is classified like blkid', async (t) => {
  const base = image('ext2-patch', 16, 'mkfs.ext2', (p) => run('mkfs.ext2', ['-q', '-F', p]));
  const dir = t.testdir();
  const copy = join(dir, 'x.img');
  execFileSync('cp', ['--sparse=always', base, copy]);
  t.equal(detectFile(copy), 'ext2');
  patch(copy, 1024 + 0x5c, [0x04, 0, 0, 0]); // has_journal only → ext3
  t.equal(detectFile(copy), 'ext3');
  patch(copy, 1024 + 0x60, [0x42, 0, 0, 0]); // + extent → ext4
  t.equal(detectFile(copy), 'ext4');
});
