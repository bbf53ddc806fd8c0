import t from 'tap';
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { copyFileSparse, isAllZero, writeNonZeroBlocks } from '../../bytes/sparse-copy.js';
import { run } from '../fixtures/cache.js';

const MiB = 1024 * 1024;

/** Bytes the filesystem really holds for `path` (st_blocks is in 512-byte units). */
const allocated = (path: string): number => statSync(path).blocks * 512;

/** A sparse file made by the real tools: truncate for the size, dd for data islands. */
function islands(path: string, sizeMiB: number, at: number[]): void {
  run('truncate', ['-s', `${sizeMiB}M`, path]);
  for (const off of at) run('dd', ['if=/dev/urandom', `of=${path}`, 'bs=4096', 'count=3', `seek=${off / 4096}`, 'conv=notrunc', 'status=none']);
}

t.test('a sparse file copies byte-identical, its holes kept (cp --sparse=always as oracle)', async (t) => {
  const dir = t.testdir({});
  const src = join(dir, 'src.img');
  islands(src, 64, [0, 5 * MiB + 4096, 63 * MiB]);
  const ours = join(dir, 'ours.img');
  const theirs = join(dir, 'cp.img');
  t.equal(copyFileSparse(src, ours), 64 * MiB, 'returns the bytes copied');
  run('cp', ['--sparse=always', src, theirs]);
  t.equal(statSync(ours).size, statSync(src).size, 'same size');
  t.equal(run('sha256sum', [ours]).split(' ')[0], run('sha256sum', [src]).split(' ')[0], 'same bytes');
  t.ok(allocated(ours) <= 3 * 64 * 1024 + 64 * 1024, `at most the data's 64 KiB blocks are allocated (${allocated(ours)} bytes)`);
  t.ok(allocated(ours) <= allocated(theirs) + 4 * 64 * 1024, `no worse than cp --sparse=always (${allocated(theirs)} bytes) by more than the block rounding`);
});

t.test('zeros written as data become holes too; a file that ends in zeros keeps its size', async (t) => {
  const dir = t.testdir({});
  const src = join(dir, 'zeros-then-data-then-zeros.bin');
  const data = Buffer.alloc(9 * MiB + 123);
  data.fill(0xa5, 2 * MiB, 2 * MiB + 10);
  writeFileSync(src, data);
  t.ok(allocated(src) >= data.length, 'the source really holds its zeros');
  const dest = join(dir, 'dest.bin');
  copyFileSparse(src, dest);
  t.same(readFileSync(dest), data, 'byte-identical, including the unaligned tail');
  t.ok(allocated(dest) <= 64 * 1024, `one block allocated (${allocated(dest)} bytes)`);
});

t.test('a file without zero blocks is copied whole; an empty file stays empty', async (t) => {
  const dir = t.testdir({});
  const src = join(dir, 'full.bin');
  const data = Buffer.alloc(5 * MiB + 7);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 1) % 251 || 1;
  writeFileSync(src, data);
  copyFileSparse(src, join(dir, 'full-copy.bin'));
  t.same(readFileSync(join(dir, 'full-copy.bin')), data);
  writeFileSync(join(dir, 'empty'), '');
  t.equal(copyFileSparse(join(dir, 'empty'), join(dir, 'empty-copy')), 0);
  t.equal(statSync(join(dir, 'empty-copy')).size, 0);
});

t.test('exclusive refuses an existing destination and leaves it alone; otherwise it is replaced', async (t) => {
  const dir = t.testdir({ src: 'new', dest: 'old, longer content' });
  t.throws(() => copyFileSparse(join(dir, 'src'), join(dir, 'dest'), { exclusive: true }), { code: 'EEXIST' });
  t.equal(readFileSync(join(dir, 'dest'), 'utf8'), 'old, longer content');
  copyFileSparse(join(dir, 'src'), join(dir, 'dest'));
  t.equal(readFileSync(join(dir, 'dest'), 'utf8'), 'new', 'replaced and truncated to the source');
  t.throws(() => copyFileSparse(join(dir, 'missing'), join(dir, 'other')), { code: 'ENOENT' });
});

t.test('isAllZero looks at every byte, across block boundaries', async (t) => {
  const buf = Buffer.alloc(200 * 1024);
  t.ok(isAllZero(buf));
  t.ok(isAllZero(new Uint8Array(0)));
  for (const at of [0, 64 * 1024 - 1, 64 * 1024, buf.length - 1]) {
    buf[at] = 1;
    t.notOk(isAllZero(buf), `a byte at ${at}`);
    buf[at] = 0;
  }
});

t.test('the copy is read, never written: the source is unchanged', async (t) => {
  const dir = t.testdir({});
  const src = join(dir, 'src');
  islands(src, 4, [MiB]);
  const before = run('sha256sum', [src]);
  const mtime = statSync(src).mtimeMs;
  const fd = openSync(join(dir, 'dest'), 'w');
  writeSync(fd, 'x');
  closeSync(fd);
  copyFileSparse(src, join(dir, 'dest'));
  t.equal(run('sha256sum', [src]), before);
  t.equal(statSync(src).mtimeMs, mtime);
});

t.test('writeNonZeroBlocks puts a file into a truncated one at an offset, its zeros left as holes', async (t) => {
  const dir = t.testdir({});
  const src = join(dir, 'part.img');
  islands(src, 8, [0, 7 * MiB]);
  const disk = join(dir, 'disk.img');
  run('truncate', ['-s', '16M', disk]);
  const at = 3 * MiB + 512; // not block-aligned: every byte lands where it belongs
  const from = openSync(src, 'r');
  const to = openSync(disk, 'r+');
  try {
    t.equal(writeNonZeroBlocks(from, to, at), 8 * MiB, 'returns the bytes read');
    const part = Buffer.alloc(8 * MiB);
    t.equal(readSync(to, part, 0, part.length, at), part.length);
    t.same(part, readFileSync(src), 'the partition reads back as the source');
  } finally {
    closeSync(from);
    closeSync(to);
  }
  t.equal(statSync(disk).size, 16 * MiB, 'the disk keeps its size');
  const whole = readFileSync(disk);
  t.ok(isAllZero(whole.subarray(0, at)) && isAllZero(whole.subarray(at + 8 * MiB)), 'nothing written outside the range');
  t.ok(allocated(disk) <= 4 * 64 * 1024, `only the data's blocks are allocated (${allocated(disk)} bytes)`);
});
