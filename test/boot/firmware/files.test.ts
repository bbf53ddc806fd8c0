/**
 * Explicit firmware paths, the per-instance vars copy, version facts (dpkg
 * and sha256sum as oracles), and the Secure Boot policy checked against the
 * real firmware: the MS-enrolled descriptor's firmware refuses the
 * reference image's unsigned GRUB ("Access Denied"), which is why
 * secure-boot is excluded by default. That boot is cached.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../../../bytes/errors.js';
import { firmwareFromPaths } from '../../../boot/firmware/from-paths.js';
import { createInstanceVars, instanceVarsName } from '../../../boot/firmware/instance-vars.js';
import { firmwareVersion } from '../../../boot/firmware/version.js';
import { runnerFirmware } from '../../../boot/firmware/runner-firmware.js';
import { selectFirmware } from '../../../boot/firmware/select.js';
import { findQemu, runQemu } from '../../../boot/qemu-run.js';
import { buildReferenceImage } from '../../../boot/reference/build.js';
import { cacheRoot } from '../../fixtures/cache.js';

const AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd';
const AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd';
const noAavmf = existsSync(AAVMF_CODE) && existsSync(AAVMF_VARS) ? false : 'AAVMF not installed (apt-get install --no-install-recommends qemu-efi-aarch64)';

function tmp(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'vmspec-fwfiles-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('firmwareFromPaths', { skip: noAavmf }, async (t) => {
  const fw = firmwareFromPaths({ code: AAVMF_CODE, varsTemplate: AAVMF_VARS });
  t.match(fw, { code: { filename: AAVMF_CODE, format: 'raw' }, varsTemplate: { filename: AAVMF_VARS, format: 'raw' }, mode: 'split', features: [] });
  t.notOk('descriptorPath' in fw, 'no descriptor');
  t.same(runnerFirmware(fw), { code: AAVMF_CODE, varsTemplate: AAVMF_VARS, codeFormat: 'raw', varsFormat: 'raw' }, 'what boot/qemu-run.ts takes');
  const stateless = firmwareFromPaths({ code: AAVMF_CODE });
  t.equal(stateless.mode, 'stateless');
  t.throws(() => runnerFirmware(stateless), { name: 'UnsupportedError', message: /stateless-mode/ });

  const d = tmp(t);
  // A real qcow2 (qemu-img) is sniffed as qcow2.
  const q = join(d, 'vars.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', q, '64M']);
  t.equal(firmwareFromPaths({ code: AAVMF_CODE, varsTemplate: q }).varsTemplate?.format, 'qcow2', 'format sniffed from the file');
  t.match(runnerFirmware(firmwareFromPaths({ code: AAVMF_CODE, varsTemplate: q })), { varsFormat: 'qcow2', codeFormat: 'raw' }, 'QEMU is told the pflash formats');

  const err = t.throws(() => firmwareFromPaths({ code: join(d, 'nope.fd'), varsTemplate: 'relative.fd' })) as UnsupportedError;
  t.ok(err instanceof UnsupportedError);
  t.match(err.message, /--firmware .*nope\.fd does not exist; --vars-template relative\.fd is not an absolute path/, 'every problem, with the option it came from');
  t.match(err.hint, /--firmware CODE\.fd --vars-template VARS\.fd/);
  t.throws(() => firmwareFromPaths({ code: d }), { message: /is not a regular file/ });
  const empty = join(d, 'empty.fd');
  writeFileSync(empty, '');
  t.throws(() => firmwareFromPaths({ code: empty }), { message: /is empty/ });
});

t.test('createInstanceVars: a copy, never a link, never an overwrite unless asked', { skip: noAavmf }, async (t) => {
  const d = tmp(t);
  t.equal(instanceVarsName('vm1'), 'vm1_VARS.fd', 'libvirt\'s NAME_VARS.fd');
  t.equal(instanceVarsName('vm1', 'qcow2'), 'vm1_VARS.qcow2');
  t.throws(() => instanceVarsName('../etc/passwd'), { name: 'UnsupportedError' });
  const fw = firmwareFromPaths({ code: AAVMF_CODE, varsTemplate: AAVMF_VARS });
  const dest = join(d, instanceVarsName('vm1'));
  const out = createInstanceVars(fw, dest);
  t.same(out, { filename: dest, format: 'raw' });
  const st = lstatSync(dest);
  t.ok(st.isFile() && !st.isSymbolicLink(), 'a regular file');
  t.not(st.ino, statSync(AAVMF_VARS).ino, 'not a hard link to the template');
  t.equal(st.size, statSync(AAVMF_VARS).size);
  execFileSync('cmp', [dest, AAVMF_VARS]); // throws when they differ
  t.pass('cmp: identical content');
  const cpSparse = join(d, 'cp-sparse.fd');
  execFileSync('cp', ['--sparse=always', AAVMF_VARS, cpSparse]);
  // Each 4 KiB block cp keeps is at most one 64 KiB block of ours: the template's zeros cost no disk.
  t.ok(st.blocks <= statSync(cpSparse).blocks * 16, `holes where the template is zeros (${st.blocks * 512} bytes allocated, cp --sparse=always: ${statSync(cpSparse).blocks * 512})`);

  writeFileSync(dest, 'instance state');
  t.throws(() => createInstanceVars(fw, dest), { name: 'UnsupportedError', message: /already exists/ });
  t.equal(readFileSync(dest, 'utf8'), 'instance state', 'the existing store is untouched');
  createInstanceVars(fw, dest, { overwrite: true });
  t.equal(statSync(dest).size, statSync(AAVMF_VARS).size, 'replaced when told to');
  t.throws(() => createInstanceVars(firmwareFromPaths({ code: AAVMF_CODE }), join(d, 'x.fd')), { message: /has no nvram template/ });
  t.throws(() => createInstanceVars(fw, join(d, 'no', 'such', 'dir.fd')), { message: /cannot copy the vars template .*ENOENT/ });
});

t.test('firmwareVersion: dpkg and sha256sum agree', { skip: noAavmf }, async (t) => {
  const fw = firmwareFromPaths({ code: AAVMF_CODE, varsTemplate: AAVMF_VARS });
  const v = await firmwareVersion(fw);
  const sha = execFileSync('sha256sum', [AAVMF_CODE], { encoding: 'utf8' }).split(' ')[0];
  t.equal(v.codeSha256, sha, 'sha256 as sha256sum computes it');
  t.equal(v.codeBytes, statSync(AAVMF_CODE).size);
  let dpkg: string | undefined;
  try {
    dpkg = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'qemu-efi-aarch64'], { encoding: 'utf8' }).trim();
  } catch {
    dpkg = undefined;
  }
  if (dpkg) t.same(v.package, { name: 'qemu-efi-aarch64', version: dpkg }, 'the package dpkg says installed it');
  else t.equal(v.package, null);

  const d = tmp(t);
  const own = join(d, 'CODE.fd');
  writeFileSync(own, Buffer.alloc(4096, 1));
  const mine = await firmwareVersion(firmwareFromPaths({ code: own }));
  t.equal(mine.package, null, 'a file no package installed');
  t.match(mine.unknownReason, /not installed by a Debian package|dpkg-query is not available/);
});

t.test('the Secure Boot policy, against the real MS-enrolled firmware', { skip: noAavmf || (findQemu() === undefined ? 'qemu-system-aarch64 not installed' : false) || (process.env.VMSPEC_SKIP_BOOT ? 'VMSPEC_SKIP_BOOT is set' : false) }, async (t) => {
  let sb;
  try {
    sb = selectFirmware({ machine: 'virt-7.2', features: ['secure-boot', 'enrolled-keys'], modes: ['split'] }, { dirs: ['/usr/share/qemu/firmware'] });
  } catch (e) {
    if (e instanceof UnsupportedError) { t.comment(`skipped: no Secure Boot firmware with enrolled keys installed: ${e.message.split('\n')[0]}`); return; }
    throw e;
  }
  let image: string;
  try {
    image = (await buildReferenceImage()).image;
  } catch (e) {
    if (e instanceof UnsupportedError) { t.comment(`skipped: cannot build the reference image here: ${e.message}`); return; }
    throw e;
  }
  const code = (await firmwareVersion(sb)).codeSha256;
  const vars = (await firmwareVersion({ ...sb, code: sb.varsTemplate! })).codeSha256;
  const imageSha = execFileSync('sha256sum', [image], { encoding: 'utf8' }).split(' ')[0];
  // The boot's serial log is cached, keyed by the firmware and image contents.
  const key = createHash('sha256').update(JSON.stringify({ v: 1, code, vars, image: imageSha })).digest('hex').slice(0, 16);
  const cached = join(cacheRoot, `secure-boot-refusal-${key}.log`);
  if (!existsSync(cached)) {
    const work = tmp(t);
    const inst = createInstanceVars(sb, join(work, 'vm_VARS.fd')).filename;
    // The firmware gives up in seconds; nothing will power the VM off, so the timeout ends it.
    await runQemu({ image, vars: inst, firmware: runnerFirmware(sb), timeoutMs: 45_000, serialLog: join(work, 'serial.log') });
    mkdirSync(cacheRoot, { recursive: true });
    writeFileSync(`${cached}.tmp-${process.pid}`, readFileSync(join(work, 'serial.log')));
    renameSync(`${cached}.tmp-${process.pid}`, cached);
  }
  // eslint-disable-next-line no-control-regex
  const log = readFileSync(cached, 'latin1').replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '');
  t.match(log, /BdsDxe: failed to load Boot\d+ "UEFI Misc Device" .*: Access Denied/, 'the unsigned removable-media loader is refused');
  t.notMatch(log, /VMSPEC-DONE/, 'the guest never ran');
  t.ok(sb.features.includes('secure-boot'), `the descriptor (${sb.descriptorPath}) declares secure-boot: the default excludes it`);
});
