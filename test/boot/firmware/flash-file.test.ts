/**
 * Flash files for QEMU virt: a raw image smaller than the 64 MiB pflash is
 * padded in a copy (the original never written), a larger one refused; a
 * single image without a store goes to QEMU as -bios. Real files: Debian's
 * QEMU_EFI.fd (2 MiB) and AAVMF_CODE.fd (64 MiB).
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flashSized, padToFlash, VIRT_PFLASH_BYTES } from '../../../boot/firmware/flash-file.js';
import { firmwareFromPaths } from '../../../boot/firmware/from-paths.js';
import { runnerFirmwareOrBios } from '../../../boot/firmware/runner-firmware.js';
import { qemuArgv } from '../../../boot/qemu-run.js';

const QEMU_EFI = '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';
const AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd';
const skip = existsSync(QEMU_EFI) && existsSync(AAVMF_CODE) ? false : 'qemu-efi-aarch64 not installed (scripts/install-system-packages.sh)';

t.test('a small raw image is padded in a copy; a full-size one is used in place; a larger one is refused', { skip }, async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'vmspec-flash-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const copy = join(d, 'CODE.fd');
  t.equal(flashSized(QEMU_EFI, () => copy), copy);
  t.equal(statSync(copy).size, VIRT_PFLASH_BYTES, 'padded to the virt pflash size');
  const head = readFileSync(copy).subarray(0, 2 * 1024 * 1024);
  t.ok(head.equals(readFileSync(QEMU_EFI)), 'the image itself at offset 0');
  t.equal(readFileSync(copy).subarray(2 * 1024 * 1024).some((b) => b !== 0), false, 'then zeros');
  t.equal(statSync(QEMU_EFI).size, 2 * 1024 * 1024, 'the original is untouched');
  t.equal(flashSized(AAVMF_CODE, () => t.fail('no copy') as never), AAVMF_CODE, 'a 64 MiB image is used as it is');
  const big = join(d, 'big.fd');
  writeFileSync(big, '');
  padToFlash(big);
  t.equal(statSync(big).size, VIRT_PFLASH_BYTES, 'an empty vars file becomes a blank 64 MiB store');
  writeFileSync(big, Buffer.alloc(VIRT_PFLASH_BYTES + 1));
  t.throws(() => padToFlash(big), { name: 'UnsupportedError', message: /more than the 67108864-byte pflash/ });
});

t.test('a single image without a store runs as -bios', { skip }, async (t) => {
  const fw = runnerFirmwareOrBios(firmwareFromPaths({ code: QEMU_EFI }));
  t.same(fw, { code: QEMU_EFI, codeFormat: 'raw' });
  const argv = qemuArgv({ image: '/x.img', timeoutMs: 1, serialLog: '/s.log' }, fw);
  t.equal(argv[argv.indexOf('-bios') + 1], QEMU_EFI);
  t.notOk(argv.some((a) => a.startsWith('if=pflash')), 'no pflash drive: flash 1 stays in memory (volatile variables)');
  const split = runnerFirmwareOrBios(firmwareFromPaths({ code: AAVMF_CODE, varsTemplate: '/usr/share/AAVMF/AAVMF_VARS.fd' }));
  const argv2 = qemuArgv({ image: '/x.img', vars: '/v.fd', timeoutMs: 1, serialLog: '/s.log' }, split);
  t.notOk(argv2.includes('-bios'));
  t.equal(argv2.filter((a) => a.startsWith('if=pflash')).length, 2, 'split: code and the machine\'s own store');
});
