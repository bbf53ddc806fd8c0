/**
 * The host's reading of an instance's variable store (boot/vars-file.ts):
 * edk2-specific, so another firmware's layout is told apart from a damaged
 * or blank edk2 store, and V2-FW-VARS-PERSIST-HOST leaves it to the guest.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { varsFileFacts } from '../../boot/vars-file.js';

const AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd';

t.test('blank edk2 template, another firmware\'s layout, no file', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'vmspec-varsfile-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  if (existsSync(AAVMF_VARS)) t.match(varsFileFacts(AAVMF_VARS, 'N1'), { nonceVariable: 'absent', storeFormat: /blank/, layoutKnown: true, bootVariables: [] }, 'Debian\'s all-zero template: no boot option either');
  const other = join(d, 'other.fd');
  // Not an edk2 firmware volume: e.g. a U-Boot environment ("crc32 + key=value\0" pairs).
  const env = Buffer.alloc(64 * 1024, 0xff);
  env.write('\x12\x34\x56\x78bootcmd=run distro_bootcmd\0bootdelay=2\0\0', 0, 'latin1');
  writeFileSync(other, env);
  t.match(varsFileFacts(other, 'N1'), { nonceVariable: 'unreadable', layoutKnown: false, problem: /not "_FVH".*guest's own view/, bootVariables: null });
  t.match(varsFileFacts(join(d, 'missing.fd'), 'N1'), { nonceVariable: 'unreadable', layoutKnown: true, problem: /cannot read/ }, 'a missing file is no other layout');
});
