/**
 * cli/stdout.ts writes reports with writeSync on fd 1. Proven here on the
 * outputs a user gives it: a pipe whose reader is slow and whose write end
 * is non-blocking (writeSync meets EAGAIN; process.stdout takes over and
 * nothing is lost), a reader that stops early (a quiet end), and a redirect
 * for in-process runs.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/cache.js';
import { redirectStdout, writeStdout } from '../../cli/stdout.js';

const bin = join(repoRoot, 'bin', 'vmspec.js');

t.test('a full, non-blocking pipe loses nothing', async (t) => {
  // Python makes the pipe, sets its write end O_NONBLOCK, and reads only after the writer has filled it.
  const script = [
    'import os, subprocess, sys, time',
    'r, w = os.pipe()',
    'os.set_blocking(w, False)',
    'p = subprocess.Popen(sys.argv[1:], stdout=w)',
    'os.close(w)',
    'time.sleep(1.5)',
    'data = b""',
    'while True:',
    '    chunk = os.read(r, 65536)',
    '    if not chunk: break',
    '    data += chunk',
    'sys.stdout.buffer.write(bytes([p.wait()]) + data)',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', script, process.execPath, bin, 'spec', 'list', '--format', 'json'], { maxBuffer: 64 * 1024 * 1024 });
  t.equal(r.status, 0, r.stderr.toString());
  t.equal(r.stdout[0], 0, 'vmspec exited 0');
  const text = r.stdout.subarray(1).toString('utf8');
  t.ok(text.length > 128 * 1024 || Buffer.byteLength(text) > 64 * 1024, `more than a pipe holds (${Buffer.byteLength(text)} bytes)`);
  const list = JSON.parse(text) as { id: string }[];
  t.ok(list.length > 50 && list.every((x) => typeof x.id === 'string'), 'the whole JSON arrived, in order');
});

t.test('a reader that stops early ends the output quietly', async (t) => {
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" spec list --format json | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  t.equal(r.stdout.trim(), '0', 'exit 0');
  t.notMatch(r.stderr, /EPIPE|Error|at .*\.js/, 'no error, no stack trace');
});

t.test('redirectStdout captures what a command writes, until undone', async (t) => {
  let got = '';
  redirectStdout((s) => (got += s));
  try {
    writeStdout('one ');
    writeStdout('two\n');
  } finally {
    redirectStdout(undefined);
  }
  t.equal(got, 'one two\n');
});
