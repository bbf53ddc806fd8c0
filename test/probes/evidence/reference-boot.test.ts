/**
 * End to end through the CLI: boot the reference image (boot/reference,
 * built from Debian arm64 packages and cached) under QEMU TCG with the real
 * AAVMF firmware, let its /init run collect.sh onto an evidence disk, and
 * judge that disk with `vmspec verify --evidence DISK --format json`:
 *
 *   boot 1  ACPI, GICv2 (QEMU default), VARS copy A, phase write   ┐ in parallel
 *   boot 3  DT (acpi=off), GICv3, FRESH VARS copy B, phase check   ┘ (2 cores)
 *   boot 2  ACPI, VARS copy A again (a full power cycle), phase check
 *
 * The other engineer's test/guest/reference-boot.test.ts checks the bundle
 * contents; it keeps its bundles in a temporary directory it deletes, so
 * this test boots its own (same builder, same QEMU runner, no edits to
 * theirs). Skipped, with the reason, without qemu-system-aarch64 or AAVMF,
 * when VMSPEC_SKIP_BOOT is set, or when the image cannot be built here.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReferenceImage } from '../../../boot/reference/build.js';
import { createEvidenceDisk, type Phase } from '../../../boot/reference/evidence-disk.js';
import { copyVars, runQemu } from '../../../boot/qemu-run.js';
import { validator } from '../../../requirements/schemas.js';
import type { RunResults } from '../../../engine/results.js';
import { vmspec } from '../../cli/cli-runner.js';
import { referenceBootSkip } from '../../fixtures/real-boot-skip.js';

const BOOT_TIMEOUT_MS = 240_000;
type Run = RunResults & { warnings?: string[]; evidence?: { integrity: { ok: boolean; checked: number } } };

const here = await referenceBootSkip({ onProgress: (m) => t.comment(`reference image: ${m}`) });
const fw = here.fw;
const skip = here.skip;
const ref = here.ref;

t.test('vmspec verify --evidence on bundles from real QEMU boots', { skip }, async (t) => {
  const image = (ref as ReferenceImage).image;
  const firmware = fw as NonNullable<typeof fw>;
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-evidence-boot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const nonce = `E${randomBytes(6).toString('hex')}`;
  const varsA = copyVars(firmware, join(dir, 'vars-a.fd'));
  const varsB = copyVars(firmware, join(dir, 'vars-b.fd'));

  const boot = async (tag: string, opts: { acpi: boolean; gic?: 2 | 3; vars: string; phase: Phase }): Promise<string> => {
    const disk = join(dir, `${tag}-evidence.img`);
    createEvidenceDisk(disk, { phase: opts.phase, nonce });
    const r = await runQemu({
      image, vars: opts.vars, firmware, evidenceDisk: disk, acpi: opts.acpi, ...(opts.gic ? { gic: opts.gic } : {}),
      timeoutMs: BOOT_TIMEOUT_MS, serialLog: join(dir, `${tag}-serial.log`),
    });
    t.comment(`${tag}: QEMU exit ${r.exitCode} after ${r.durationMs} ms`);
    t.equal(r.exitCode, 0, `${tag}: the guest collected and powered off`, { output: r.output });
    return disk;
  };
  const [b1, b3] = await Promise.all([
    boot('boot1-acpi-write', { acpi: true, vars: varsA, phase: 'write' }),
    boot('boot3-dt-gicv3-fresh-check', { acpi: false, gic: 3, vars: varsB, phase: 'check' }),
  ]);
  const b2 = await boot('boot2-acpi-check', { acpi: true, vars: varsA, phase: 'check' });

  const verify = (disk: string, extra: string[] = []): Run => {
    const r = vmspec(['verify', '--evidence', disk, '--format', 'json', ...extra]);
    t.equal(r.stderr, '', 'nothing on stderr');
    const run = JSON.parse(r.stdout) as Run;
    t.ok(validator('results')(run), 'schema-valid results');
    t.equal(r.status, run.exitCode);
    t.match(run.target, { kind: 'evidence', format: 'bundle tar' }, 'the evidence disk is read in place as a tar');
    t.match(run.evidence?.integrity, { ok: true }, 'the bundle matches its manifest');
    t.equal(run.warnings, undefined);
    t.same(run.results.filter((x) => x.status === 'error').map((x) => `${x.id}: ${x.message}`), [], 'no probe errors');
    return run;
  };
  const status = (run: Run, id: string) => run.results.find((r) => r.id === id)?.status;
  const fails = (run: Run) => run.results.filter((r) => r.status === 'fail').map((r) => r.id).sort();

  const r1 = verify(b1);
  t.same(fails(r1), ['V2-HW-DT-TABLE-GUID'], 'boot 1 (ACPI): only the DT configuration table is missing (edk2 installs it only with acpi=off)');
  for (const id of ['V2-ARCH-FW-EL1', 'V2-ARCH-ACPI-SBBR', 'V2-ARCH-PSCI', 'V2-FW-UEFI', 'V2-FW-UEFI-2-6', 'V2-FW-RTC', 'V2-HW-UEFI-CONFIG-TABLE', 'V2-HW-ACPI-TABLE-GUID', 'V2-HW-ACPI-COMPLETE', 'V2-PLAT-UART', 'V2-PLAT-GICV2', 'V2-PLAT-VIRTUAL-TIMER', 'V2-PLAT-HOTPLUG-BUS']) {
    t.equal(status(r1, id), 'pass', `boot 1: ${id} passes`);
  }
  t.equal(status(r1, 'V2-FW-VARS-PERSIST'), 'skip', 'boot 1: the write phase is not judged');
  t.equal(status(r1, 'V2-PLAT-GICV3'), 'skip');

  const r2 = verify(b2);
  t.equal(status(r2, 'V2-FW-VARS-PERSIST'), 'pass', 'boot 2: the variable survived the power cycle');
  t.same(fails(r2), ['V2-HW-DT-TABLE-GUID']);

  const r3 = verify(b3);
  t.same(fails(r3), ['V2-FW-VARS-PERSIST', 'V2-HW-ACPI-TABLE-GUID'], 'boot 3 (DT, fresh store): no ACPI entry, and the variable is not there');
  for (const id of ['V2-HW-DT-TABLE-GUID', 'V2-HW-DT-COMPLETE', 'V2-PLAT-GICV3', 'V2-PLAT-UART', 'V2-FW-RTC', 'V2-ARCH-PSCI']) t.equal(status(r3, id), 'pass', `boot 3: ${id} passes`);
  t.match(r3.results.find((r) => r.id === 'V2-FW-VARS-PERSIST'), { message: /found "absent", expected "present"/, observed: { persistence: { phase: 'check', nonce, inEvidence: false } } });

  const v1 = verify(b3, ['--spec', 'vmspec-v1']);
  t.same(fails(v1), ['V1-FW-VARS-PERSIST'], 'v1 asks for the DT only: the DT boot passes all but persistence');
});
