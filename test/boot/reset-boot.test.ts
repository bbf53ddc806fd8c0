/**
 * ARCH-4's reboot (V2-ARCH-PSCI-RESET-HOST): "Hypervisors must implement
 * support for PSCI v0.2 to be used by guests for secondary core boot and for
 * VM shutdown and reboot." Boot 2 of `vmspec boot` (the built-in reference
 * under QEMU) ends with the guest's reset; the host watches the VM start
 * again on the serial port (boot/reset-watch.ts).
 *
 *   passing: the default run, in test/boot/boot-command.test.ts (the reset
 *            restarts the VM, the host stops it there)
 *   failing: a hypervisor whose reset powers the VM off (`--qemu-arg
 *            -no-reboot`, QEMU's own option): fails exactly
 *            V2-ARCH-PSCI-RESET-HOST; everything else as in the default run
 *   undecided: routes that cannot watch a reset (Xen) and guests
 *            that are not asked for one (cloud-init), with the reason
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostBootFacts } from '../../boot/host-facts.js';
import { planBoots } from '../../boot/plan.js';
import { evidenceDiskHeader } from '../../boot/reference/evidence-disk.js';
import { resetNotExercised } from '../../boot/run.js';
import { nestedKvmRunner } from '../../boot/nested/kvm-runner.js';
import type { KvmHost } from '../../boot/nested/kvm-host.js';
import { xenRunner, type XenRoute } from '../../boot/xen/xen-runner.js';
import { evaluate } from '../../engine/evaluate.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { vmspec } from '../cli/cli-runner.js';
import { repoRoot } from '../fixtures/cache.js';
import { realBootSkip } from '../fixtures/real-boot-skip.js';
import { qemuUnder } from './qemu-processes.js';

const { skip } = realBootSkip();
const WAIVERS = join(repoRoot, 'waivers', 'known-firmware-deviations.yaml');
const clause = loadSpecOrThrow('vmspec-v2').requirements.find((r) => r.id === 'V2-ARCH-PSCI-RESET-HOST')!;

interface Results {
  exitCode: number;
  boot: { boots: { name: string; end: string; exitCode: number | null; timedOut: boolean; cleanExit: boolean; failure: unknown; reset: { requested: boolean; restarted: boolean; stoppedByHost: boolean } | null; varsFileAfter: { nonceVariable: string } }[] };
  results: { id: string; status: string; message: string }[];
}

t.test('a hypervisor whose reset powers the VM off (QEMU -no-reboot): V2-ARCH-PSCI-RESET-HOST fails, nothing else', { skip, timeout: 15 * 60 * 1000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-reset-boot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const work = join(dir, 'work');
  mkdirSync(work);
  const out = join(dir, 'results.json');
  const started = Date.now();
  const cli = vmspec(['boot', '--format', 'json', '-o', out, '--work-dir', work, '--waivers', WAIVERS, '--qemu-arg=-no-reboot']);
  t.comment(`vmspec boot --qemu-arg=-no-reboot: exit ${cli.status} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const res = JSON.parse(readFileSync(out, 'utf8')) as Results;
  t.same(res.results.filter((x) => x.status === 'fail').map((x) => x.id), ['V2-ARCH-PSCI-RESET-HOST'], 'only the reset clause fails (AAVMF\'s DT-table deviation is waived)');
  t.match(res.results.find((x) => x.id === 'V2-ARCH-PSCI-RESET-HOST')?.message, /reset\.vmRestarted differs .*found false, expected true/);
  for (const id of ['V2-ARCH-PSCI', 'V2-ARCH-PSCI-HOST', 'V2-FW-VARS-PERSIST', 'V2-FW-VARS-PERSIST-HOST', 'V2-PLAT-UART-HOST']) {
    t.equal(res.results.find((x) => x.id === id)?.status, 'pass', `${id} still passes: only the reset is broken`);
  }
  const [b1, b2] = res.boot.boots;
  t.match(b1, { end: 'poweroff', reset: null, cleanExit: true, failure: null });
  t.match(b2, { end: 'reset', exitCode: 0, timedOut: false, failure: null, reset: { requested: true, restarted: false, stoppedByHost: false } }, 'the guest asked; QEMU exited on the reset instead of restarting the VM');
  t.equal(b2?.varsFileAfter.nonceVariable, 'present', 'the check phase ran before the reset');
  t.equal(cli.status, 1);
  t.equal(res.exitCode, 1);
  t.same(readdirSync(work), [], 'the work directory is emptied');
  t.same(qemuUnder(work), [], 'no QEMU left');
});

t.test('where no boot exercises a reset, the clause is undecided with the reason, never passed or failed', async (t) => {
  const env = { hypervisor: 'QEMU 7.2 (TCG)', accelerator: 'tcg' as const };
  const judge = async (why: string | null) => (await evaluate([clause], { boot: hostBootFacts([], 'N1', env, [], why) }))[0]!;
  // The routes' own runners, never run here.
  const xen = resetNotExercised({ runner: xenRunner({} as XenRoute), agent: { kind: 'reference-init' } });
  const cloudInit = resetNotExercised({ agent: { kind: 'cloud-init', seed: () => '' } });
  t.equal(resetNotExercised({ agent: { kind: 'reference-init' } }), null, 'the reference under QEMU on this host exercises it');
  t.equal(resetNotExercised({ runner: nestedKvmRunner({ host: {} as KvmHost, l0Qemu: 'qemu-system-aarch64', hostGic: 3 }), agent: { kind: 'reference-init' } }), null, 'so does the nested KVM route, which watches the VM start again');
  for (const why of [xen, cloudInit]) {
    t.type(why, 'string');
    const r = await judge(why);
    t.equal(r.status, 'undecided', why!);
    t.match(r.message, /reset\.notExercised/);
  }
  t.match(xen, /route \(Xen\) does not watch/);
  t.match(cloudInit, /cloud-init/);
});

t.test('the plan asks boot 2\'s guest for the reset through the evidence-disk header', async (t) => {
  const plan = planBoots({ gic: 'both', acpi: true, persistentVars: true, exerciseReset: true });
  t.same(plan.map((b) => [b.name, b.phase, b.end ?? 'poweroff']), [['boot 1', 'write', 'poweroff'], ['boot 2', 'check', 'reset']]);
  t.same(planBoots({ gic: 'both', acpi: true, persistentVars: true }).map((b) => b.end ?? 'poweroff'), ['poweroff', 'poweroff'], 'not asked: every boot powers off');
  const text = (h: Uint8Array) => new TextDecoder().decode(h).replace(/\0+$/, '');
  t.equal(text(evidenceDiskHeader({ phase: 'check', nonce: 'N1', end: 'reset' })), 'VMSPEC-EVIDENCE-DISK 1\nphase=check\nnonce=N1\nend=reset\n');
  t.notMatch(text(evidenceDiskHeader({ phase: 'check', nonce: 'N1' })), /end=/, 'a power-off boot\'s header is as before');
});
