import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realBootSkip } from '../../fixtures/real-boot-skip.js';
import { vmspec } from '../../cli/cli-runner.js';

/**
 * v1's host-side clauses (FW-4's variable in the instance's store, PLAT-4's
 * console on the host's serial log, PLAT-2's configured VM against what the
 * guest found), judged by `vmspec boot --spec vmspec-v1` on the built-in
 * reference under real QEMU and AAVMF: a persistent store passes them all;
 * a store that is not kept (--no-persistent-vars) fails the variable one.
 * Two runs of two boots each (about 2 minutes per run here).
 */

const { skip } = realBootSkip();
const HOST = ['V1-FW-VARS-PERSIST-HOST', 'V1-PLAT-CONSOLE-HOST', 'V1-PLAT-DISCOVERABLE'];

interface Results { exitCode: number; results: { id: string; status: string; message: string }[] }

function boot(extra: string[]): Results {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-v1-host-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'results.json');
  vmspec(['boot', '--spec', 'vmspec-v1', '--only', HOST.join(','), '--format', 'json', '-o', out, '--work-dir', dir, ...extra]);
  return JSON.parse(readFileSync(out, 'utf8')) as Results;
}
const status = (r: Results, id: string) => r.results.find((x) => x.id === id);

t.test('a persistent store: every v1 host clause passes', { skip }, async (t) => {
  const r = boot([]);
  for (const id of HOST) t.equal(status(r, id)?.status, 'pass', `${id} passes`);
  t.equal(r.exitCode, 0);
});

t.test('a store that is not kept: exactly the variable clause fails', { skip }, async (t) => {
  const r = boot(['--no-persistent-vars']);
  t.match(status(r, 'V1-FW-VARS-PERSIST-HOST'), { status: 'fail', message: /stillInStoreAfterCheck|writtenToStore/ });
  t.equal(status(r, 'V1-PLAT-CONSOLE-HOST')?.status, 'pass');
  t.equal(status(r, 'V1-PLAT-DISCOVERABLE')?.status, 'pass');
  t.equal(r.exitCode, 0, 'FW-4 is STRONGLY RECOMMENDED: not a MUST');
});
