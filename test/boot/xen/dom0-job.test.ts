import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeDom0Job, JOB_MAGIC } from '../../../boot/xen/dom0-job.js';

/** The job disk dom0's /init unpacks with `cpio -i` (here: GNU cpio, the same newc format busybox reads). */

const work = mkdtempSync(join(tmpdir(), 'vmspec-xen-job-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const job = { name: 'vmspec-boot', timeoutSeconds: 300, xlConfig: 'name = "vmspec-boot"\n', kernel: Buffer.from('MZ kernel'), ramdisk: Buffer.from('initrd') };

t.test('cpio -i gives dom0 the job files', async (t) => {
  const bytes = encodeDom0Job(job);
  t.same(encodeDom0Job(job), bytes, 'deterministic');
  const dir = mkdtempSync(join(work, 'unpack-'));
  const r = spawnSync('cpio', ['-i', '-d', '--quiet'], { cwd: dir, input: Buffer.concat([bytes, Buffer.alloc(4096)]) });
  if (r.error) {
    t.comment('cpio is not installed (apt-get install cpio): unpacking not checked');
    return;
  }
  t.equal(r.status, 0, r.stderr.toString());
  t.equal(readFileSync(join(dir, 'vmspec-job'), 'utf8'), `${JOB_MAGIC}\nname=vmspec-boot\ntimeout=300\n`);
  t.equal(readFileSync(join(dir, 'xl.cfg'), 'utf8'), job.xlConfig);
  t.same(readFileSync(join(dir, 'kernel')), job.kernel);
  t.same(readFileSync(join(dir, 'ramdisk')), job.ramdisk);
});

t.test('without a ramdisk (a guest firmware as the kernel)', async (t) => {
  const { ramdisk: _r, ...fw } = job;
  const list = spawnSync('cpio', ['-t', '--quiet'], { input: encodeDom0Job(fw), encoding: 'utf8' });
  if (list.error) return;
  t.same(list.stdout.trim().split('\n').sort(), ['kernel', 'vmspec-job', 'xl.cfg']);
});

t.test('refusals', async (t) => {
  t.throws(() => encodeDom0Job({ ...job, name: 'a b' }), /domain name "a b"/);
  t.throws(() => encodeDom0Job({ ...job, name: '-x' }), /domain name/);
  t.throws(() => encodeDom0Job({ ...job, name: 'x\nname=evil' }), /domain name/, 'no second line smuggled into vmspec-job');
  t.throws(() => encodeDom0Job({ ...job, timeoutSeconds: 0 }), /timeout 0 s/);
  t.throws(() => encodeDom0Job({ ...job, timeoutSeconds: 1.5 }), /whole number/);
  t.throws(() => encodeDom0Job({ ...job, kernel: Buffer.alloc(0) }), /kernel is empty/);
});
