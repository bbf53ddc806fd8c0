/** parseDirBlock on hand-built blocks: the cases real tools rarely produce. */
import t from 'tap';
import { ParseError } from '../../../bytes/errors.js';
import { type Ext4DirEntry, parseDirBlock, recLenFromDisk } from '../../../probes/fs/ext4-directory.js';

/** Writes one ext4_dir_entry_2 at `off`. */
function dirent(b: Uint8Array, off: number, inode: number, recLen: number, name: string, type = 1): void {
  const v = new DataView(b.buffer, b.byteOffset);
  v.setUint32(off, inode, true);
  v.setUint16(off + 4, recLen, true);
  const n = new TextEncoder().encode(name);
  b[off + 6] = n.length;
  b[off + 7] = type;
  b.set(n, off + 8);
}

const ctx = (blockSize: number, hasFiletype = true) => ({ blockSize, hasFiletype, inodesCount: 1000, structure: 'test dir', base: 0 });
const parse = (b: Uint8Array, c = ctx(b.length)): Ext4DirEntry[] => {
  const out: Ext4DirEntry[] = [];
  parseDirBlock(b, c, out);
  return out;
};
const names = (es: Ext4DirEntry[]): string[] => es.map((e) => new TextDecoder().decode(e.name));

t.test('rec_len encoding for 64 KiB blocks (e2fsprogs ext2fs_get_rec_len)', async (t) => {
  t.equal(recLenFromDisk(12, 4096), 12);
  t.equal(recLenFromDisk(0, 65536), 65536, '0 means the whole block');
  t.equal(recLenFromDisk(65535, 65536), 65536, 'EXT4_MAX_REC_LEN means the whole block');
  t.equal(recLenFromDisk(65532, 65536), 65532);
  t.equal(recLenFromDisk(0xfffc | 1, 65536), 0x1fffc & 0xffff | 0x10000, 'low bits carry bit 16');
  t.equal(recLenFromDisk(0, 4096), 0, 'below 64 KiB, 0 is just 0 (and rejected by the parser)');
});

t.test('a 64 KiB htree interior block (fake entry spanning the block, rec_len stored as 0) is skipped', async (t) => {
  const b = new Uint8Array(65536);
  dirent(b, 0, 0, 0, '', 0); // dx_node: inode 0, rec_len covers all
  t.same(parse(b), []);
  dirent(b, 0, 0, 65535, '', 0);
  t.same(parse(b), []);
});

t.test('linear block with a metadata_csum tail', async (t) => {
  const b = new Uint8Array(1024);
  dirent(b, 0, 2, 12, '.', 2);
  dirent(b, 12, 2, 12, '..', 2);
  dirent(b, 24, 15, 1024 - 24 - 12, 'hello', 1);
  dirent(b, 1024 - 12, 0, 12, '', 0xde); // ext4_dir_entry_tail
  t.same(names(parse(b)), ['.', '..', 'hello']);
  t.equal(parse(b)[2]!.file_type, 1);
});

t.test('dx_root: "." then ".." whose rec_len hides the index', async (t) => {
  const b = new Uint8Array(4096);
  dirent(b, 0, 2, 12, '.', 2);
  dirent(b, 12, 2, 4096 - 12, '..', 2);
  b.fill(0xab, 24 + 8); // dx_root_info, counts, entries: garbage to a linear reader
  t.same(names(parse(b)), ['.', '..']);
});

t.test('without the filetype feature the type byte is not a type', async (t) => {
  const b = new Uint8Array(1024);
  dirent(b, 0, 12, 1024, 'x', 0);
  t.equal(parse(b, ctx(1024, false))[0]!.file_type, 0);
});

t.test('damage is a ParseError with the entry offset', async (t) => {
  const cases: [string, (b: Uint8Array) => void, RegExp][] = [
    ['rec_len 0', (b) => dirent(b, 0, 12, 0, 'x'), /at offset 4: rec_len 0 is smaller than the minimal/],
    ['rec_len 8', (b) => dirent(b, 0, 12, 8, 'x'), /rec_len 8 is smaller/],
    ['unaligned', (b) => dirent(b, 0, 12, 14, 'x'), /not a multiple of 4/],
    ['name too long for rec_len', (b) => dirent(b, 0, 12, 12, 'abcdefgh'), /too small for name_len 8/],
    ['overrun', (b) => dirent(b, 0, 12, 2048, 'x'), /runs past the end of the 1024-byte block/],
    ['inode out of range', (b) => dirent(b, 0, 5000, 1024, 'x'), /names inode 5000, beyond s_inodes_count 1000/],
    ['empty name', (b) => dirent(b, 0, 12, 1024, ''), /empty name/],
    ['slash in name', (b) => dirent(b, 0, 12, 1024, 'a/b'), /'\/' or NUL/],
    ['second entry overruns', (b) => { dirent(b, 0, 12, 12, 'a'); dirent(b, 12, 13, 1020, 'b'); }, /at offset 16: rec_len 1020 runs past/],
  ];
  for (const [what, build, re] of cases) {
    const b = new Uint8Array(1024);
    build(b);
    t.throws(() => parse(b), ParseError, what);
    t.throws(() => parse(b), re, what);
  }
});
