/**
 * Any firmware a user has: `vmspec boot --firmware IMAGE` alone, with
 * Debian's monolithic QEMU_EFI.fd (2 MiB, package qemu-efi-aarch64), loaded
 * as QEMU loads -bios. It boots; with no variable-store file the variables
 * are volatile, which the persistence clauses report as FAIL with the
 * reason, never as an error (FW-4 is STRONGLY RECOMMENDED, so the exit code
 * stays 0 once AAVMF's known DT-table deviation is waived). One real run
 * (two boots), shared.
 */
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmspec } from '../../cli/cli-runner.js';
import { repoRoot } from '../../fixtures/cache.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import { findQemu } from '../../../boot/qemu-run.js';
import { qemuUnder } from '../qemu-processes.js';

const QEMU_EFI = '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';
const skip = findQemu() === undefined ? 'qemu-system-aarch64 not found' : !existsSync(QEMU_EFI) ? `${QEMU_EFI} not found (scripts/install-system-packages.sh installs qemu-efi-aarch64)` : process.env.VMSPEC_SKIP_BOOT ? 'VMSPEC_SKIP_BOOT is set' : false;
const WAIVERS = join(repoRoot, 'waivers', 'known-firmware-deviations.yaml');

interface Results {
  exitCode: number;
  environment: { firmware: { code: string; varsTemplate?: string; description: string } };
  boot: { boots: { name: string; phase: string; failure: unknown; serial: { firmwareMessages: boolean; kernelMessages: boolean; collectorExit: number | null }; varsFileAfter: { nonceVariable: string; problem: string | null } }[] };
  results: { id: string; status: string; message: string }[];
}

t.test('--firmware QEMU_EFI.fd alone: boots; volatile variables fail the persistence clauses', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-single-fw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'results.json');
  const work = join(dir, 'work');
  mkdirSync(work);
  const before = sha256File(QEMU_EFI);
  const started = Date.now();
  const r = vmspec(['boot', '--firmware', QEMU_EFI, '--format', 'json', '-o', out, '--work-dir', work, '--waivers', WAIVERS]);
  t.comment(`vmspec boot --firmware ${QEMU_EFI}: exit ${r.status} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // FW-4 is STRONGLY RECOMMENDED: its failures show in the report, and (AAVMF's DT-table deviation waived) no MUST fails.
  t.equal(r.status, 0, 'exit 0: no error, no mandatory failure', { stderr: r.stderr });
  t.notMatch(r.stderr, /device requires|error/i, 'no QEMU size error, no error at all');
  const res = JSON.parse(readFileSync(out, 'utf8')) as Results;
  t.equal(res.environment.firmware.code, QEMU_EFI);
  t.notOk('varsTemplate' in res.environment.firmware, 'no variable-store template');
  t.match(res.environment.firmware.description, /without a variable store/);

  for (const b of res.boot.boots) {
    t.equal(b.failure, null, `${b.name} booted and gave evidence`);
    t.ok(b.serial.firmwareMessages && b.serial.kernelMessages && b.serial.collectorExit === 0, `${b.name}: firmware, kernel and collector on the UART`);
    t.match(b.varsFileAfter, { nonceVariable: 'no store', problem: /volatile/ });
  }
  const failing = res.results.filter((x) => x.status === 'fail').map((x) => x.id).sort();
  t.same(failing, ['V2-FW-VARS-PERSIST', 'V2-FW-VARS-PERSIST-HOST'], 'exactly the persistence clauses fail');
  t.match(res.results.find((x) => x.id === 'V2-FW-VARS-PERSIST-HOST')!.message, /no store/);
  t.equal(res.results.filter((x) => x.status === 'error').length, 0, 'no clause errors');
  for (const id of ['V2-FW-UEFI', 'V2-PLAT-GICV2', 'V2-PLAT-GICV3', 'V2-PLAT-UART-HOST']) t.equal(res.results.find((x) => x.id === id)?.status, 'pass', `${id} passes with this firmware`);

  t.equal(statSync(QEMU_EFI).size, 2 * 1024 * 1024, 'the firmware file is untouched (2 MiB)');
  t.equal(sha256File(QEMU_EFI), before);
  t.same(qemuUnder(dir), [], 'no QEMU left running');
  t.same(readdirSync(work), [], 'the work directory was removed');
});
