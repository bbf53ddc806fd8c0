import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestFile, sha256File } from '../../bytes/file-digest.js';
import { run } from '../fixtures/cache.js';

t.test('digests of a file larger than one chunk equal sha256sum and sha512sum', async (t) => {
  const path = join(t.testdir({}), 'data.bin');
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  writeFileSync(path, data);
  const seen: number[] = [];
  const got = await digestFile(path, ['sha256', 'sha512'], { onBytes: (n) => seen.push(n) });
  t.equal(got.digests.sha256, run('sha256sum', [path]).split(' ')[0]);
  t.equal(got.digests.sha512, run('sha512sum', [path]).split(' ')[0]);
  t.equal(got.bytes, data.length);
  t.equal(seen.at(-1), data.length, 'progress reaches the whole file');
  t.ok(seen.length > 1, 'streamed in chunks');
  t.equal(await sha256File(path), got.digests.sha256);
});

t.test('a missing file rejects', async (t) => {
  await t.rejects(sha256File('/nonexistent/vmspec-digest-test'), { code: 'ENOENT' });
});
