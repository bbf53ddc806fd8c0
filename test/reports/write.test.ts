/**
 * Reports are written atomically (temp file + rename) — but never by
 * renaming over something that is not a regular file: `-o /dev/null` once
 * replaced the machine's /dev/null with a JSON file. A link is followed
 * and stays a link; a device or FIFO is written in place.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { writeAtomic } from '../../reports/write.js';

const dir = mkdtempSync(join(tmpdir(), 'vmspec-write-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a regular file is replaced whole, with no temp file left', async (t) => {
  const f = join(dir, 'sub', 'report.json');
  writeAtomic(f, 'one');
  writeAtomic(f, 'two');
  t.equal(readFileSync(f, 'utf8'), 'two');
  t.same(readdirSync(join(dir, 'sub')), ['report.json']);
});

t.test('a symlink is followed: the link survives, its target gets the report', async (t) => {
  const real = join(dir, 'real.txt');
  writeFileSync(real, 'old');
  const link = join(dir, 'link.txt');
  symlinkSync(real, link);
  writeAtomic(link, 'new');
  t.ok(lstatSync(link).isSymbolicLink(), 'still a link');
  t.equal(readFileSync(real, 'utf8'), 'new');
});

t.test('a character device is written to, never replaced (a link to /dev/null)', async (t) => {
  const link = join(dir, 'null');
  symlinkSync('/dev/null', link);
  writeAtomic(link, '{"a":1}');
  t.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still the device');
  t.ok(lstatSync(link).isSymbolicLink());
});

t.test('a FIFO is written to in place', async (t) => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('cat', [fifo]);
  let got = '';
  reader.stdout.on('data', (d: Buffer) => (got += d.toString()));
  const done = new Promise((r) => reader.on('close', r));
  writeAtomic(fifo, 'through the pipe');
  await done;
  t.equal(got, 'through the pipe');
  t.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
});
