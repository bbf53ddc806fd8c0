import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dom0InitPath } from '../../../boot/xen/xen-host.js';
import { JOB_MAGIC } from '../../../boot/xen/dom0-job.js';
import { END_REASONS } from '../../../boot/xen/end-line.js';

/** dom0's /init: POSIX sh for busybox, and the job and end-line formats the host side reads and writes. */

const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

t.test('shellcheck -s sh is clean', { skip: which('shellcheck') ? false : 'shellcheck is not installed (apt-get install shellcheck)' }, async (t) => {
  const r = spawnSync('shellcheck', ['-s', 'sh', dom0InitPath()], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout);
});

t.test('it reads the job dom0-job.ts writes and prints the end line end-line.ts reads', async (t) => {
  const init = readFileSync(dom0InitPath(), 'utf8');
  t.ok(init.includes(`= "${JOB_MAGIC}" ]`), 'checks the job magic');
  t.match(init, /echo "VMSPEC-XEN-END reason=\$1 domid=\$domid seconds=\$\(\(now - started\)\)"/);
  // Every xl shutdown reason code it maps (libxl_shutdown_reason 0-5) is a reason the parser accepts.
  const mapped = [...init.matchAll(/^\s+[0-5]\) end ([a-z_]+) ;;$/gm)].map((m) => m[1]);
  t.same(mapped, ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset']);
  for (const r of mapped) t.ok((END_REASONS as readonly string[]).includes(r as string), `${r} is an end reason`);
});
