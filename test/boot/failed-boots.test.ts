/**
 * A boot that cannot happen is a verdict (boot/boot-outcome.ts,
 * boot/failed-boots.ts), judged on the real spec without booting: how each
 * ending is classified, what a failed boot blames given the other boots,
 * and the run it stands for. The real boots are in boot-faults.test.ts.
 */
import t from 'tap';
import { evaluateUnlessWaived } from '../../engine/evaluate.js';
import { select } from '../../engine/select.js';
import { loadSpecOrThrow } from '../../requirements/spec-load.js';
import { bootFailure } from '../../boot/boot-outcome.js';
import { combineRuns } from '../../boot/combine.js';
import { aspectsOf, blamedAspects, failedBootRun, PROVES, type BootOutcome } from '../../boot/failed-boots.js';
import type { BootFailure } from '../../probes/host/facts.js';

const QEMU_SAID = 'qemu-system-aarch64: gic-version=2 is not supported on this host';
const quiet = { bytes: 0, guestConsoleOnUart: false, collectorExit: null };
const firmwareOnly = { bytes: 900, guestConsoleOnUart: false, collectorExit: null };
const osUp = { bytes: 40_000, guestConsoleOnUart: true, collectorExit: null };

t.test('how a boot ended, from the host: QEMU exit, UART, bundle', async (t) => {
  t.match(bootFailure('boot 1', { exitCode: 1, signal: null, timedOut: false, output: `${QEMU_SAID}\n` }, quiet, '', false, 60_000), { kind: 'hypervisor-refused', hypervisorMessage: QEMU_SAID, reason: /^boot 1: the hypervisor refused this configuration \(QEMU exited with 1/ });
  t.match(bootFailure('boot 1', { exitCode: 1, signal: null, timedOut: false, output: 'qemu: fatal: trap' }, firmwareOnly, 'UEFI', false, 60_000), { kind: 'hypervisor-failed' });
  t.match(bootFailure('boot 1', { exitCode: 1, signal: null, timedOut: false, output: 'xl: domain reset', vmStarted: true }, quiet, '', false, 60_000), { kind: 'hypervisor-failed' }, 'a route that knows the VM ran (a Xen domain that reset, its firmware on the PV console): not a refusal, even with a silent UART');
  t.match(bootFailure('boot 1', { exitCode: null, signal: 'SIGTERM', timedOut: true, output: '' }, firmwareOnly, 'x', false, 20_000), { kind: 'no-os', hypervisorMessage: null, reason: /no power-off within 20 s .*never handed over to an OS loader/ });
  t.match(bootFailure('boot 1', { exitCode: 0, signal: null, timedOut: false, output: '' }, quiet, '', false, 20_000), { kind: 'no-os', reason: /powered off \(or reset\).*nothing at all was printed/ }, 'a firmware that resets under -no-reboot');
  t.match(bootFailure('boot 1', { exitCode: null, signal: 'SIGTERM', timedOut: true, output: '' }, osUp, '[ 1.0] x', false, 20_000), { kind: 'no-evidence' });
  t.equal(bootFailure('boot 1', { exitCode: 0, signal: null, timedOut: false, output: '' }, { ...osUp, collectorExit: 0 }, '', true, 20_000), null, 'the collector finished');
  t.equal(bootFailure('boot 1', { exitCode: 0, signal: null, timedOut: false, output: '' }, quiet, '', true, 20_000), null, 'console elsewhere, but the bundle is on the disk');
});

const failure = (kind: BootFailure['kind']): BootFailure => ({ kind, reason: `boot: ${kind}`, hypervisorMessage: kind.startsWith('hypervisor') ? QEMU_SAID : null, serialTail: kind === 'hypervisor-refused' ? '' : 'Shell> \nShell> ' });
const boot = (name: string, gic: 2 | 3, acpi: boolean, f: BootFailure | null): BootOutcome => ({ plan: { name, gic, acpi }, label: `${name} (${acpi ? 'ACPI' : 'DT'}, GICv${gic})`, failure: f });

t.test('what a failed boot blames depends on what the other boots showed', async (t) => {
  t.same(aspectsOf({ gic: 2, acpi: true }), ['GICv2', 'a GIC', 'ACPI', 'firmware']);
  const refused = boot('boot 1', 2, true, failure('hypervisor-refused'));
  t.same(blamedAspects(refused, [refused, boot('boot 2', 3, true, null)], false), ['GICv2'], 'ACPI and "a GIC" were shown by boot 2');
  const refusedDt = boot('boot 1', 2, false, failure('hypervisor-refused'));
  t.same(blamedAspects(refusedDt, [refusedDt, boot('boot 2', 3, true, null)], false), ['GICv2', 'device tree']);
  const both = [boot('boot 1', 2, true, failure('hypervisor-refused')), boot('boot 2', 3, true, failure('hypervisor-refused'))];
  t.same(blamedAspects(both[1]!, both, false), ['GICv3', 'a GIC', 'ACPI'], 'a refused machine option: every configuration tried');
  const noOs = [boot('boot 1', 2, true, failure('no-os')), boot('boot 2', 3, true, failure('no-os'))];
  t.same(blamedAspects(noOs[0]!, noOs, false), ['firmware'], 'a firmware that starts nothing: the firmware, not the GIC');
  t.same(blamedAspects(noOs[0]!, noOs, true), [], 'unless the image already failed a mandatory clause (--force)');
  const onlyV2 = [boot('boot 1', 2, true, failure('no-os')), boot('boot 2', 3, true, null)];
  t.same(blamedAspects(onlyV2[0]!, onlyV2, false), ['GICv2'], 'the same firmware booted a GICv3 VM: the GICv2 configuration is at fault');
  const noEvidence = boot('boot 1', 2, true, failure('no-evidence'));
  t.same(blamedAspects(noEvidence, [noEvidence], false), [], 'an OS started: nothing about the configuration is shown wrong');
});

t.test('the failed boot\'s run on the real v2 and v1 selections', async (t) => {
  for (const name of ['vmspec-v2', 'vmspec-v1']) {
    const spec = loadSpecOrThrow(name);
    const selected = select(spec.requirements, { profile: null, only: [], section: [], level: [], target: [], tags: [] });
    const ids = new Set(selected.map((r) => r.id));
    for (const id of Object.values(PROVES).flat()) if (id.startsWith(name === 'vmspec-v2' ? 'V2-' : 'V1-')) t.ok(ids.has(id), `${name}: ${id} exists`);
    const unjudged = await evaluateUnlessWaived(selected, {}, { waivers: undefined, scope: { target: { kind: 'boot', path: null, format: null, size: null, sha256: null }, hypervisor: 'QEMU' }, now: new Date() });
    const refused = boot('boot 1', 2, true, failure('hypervisor-refused'));
    const run = failedBootRun(refused, name === 'vmspec-v2' ? ['GICv2'] : ['a GIC'], unjudged);
    const blamed = (id: string) => id === (name === 'vmspec-v2' ? 'V2-PLAT-GICV2' : 'V1-PLAT-GIC');
    const failed = run.results.filter((r) => r.status === 'fail');
    t.same(failed.map((r) => r.id), name === 'vmspec-v2' ? ['V2-PLAT-GICV2'] : ['V1-PLAT-GIC'], `${name}: only the blamed clause fails`);
    t.match(failed[0]!.message, QEMU_SAID, 'with the hypervisor\'s own words');
    t.match(failed[0]!.observed, { boot: 'boot 1', failure: { kind: 'hypervisor-refused' } });
    const undecided = run.results.filter((r) => r.message.startsWith('undecided: boot: hypervisor-refused'));
    t.ok(undecided.length > 5 && undecided.every((r) => r.status === 'undecided'), `${name}: in-guest clauses are undecided, naming the boot`);
    t.notOk(run.results.some((r) => r.status === 'error'), 'never an error');
    // Combined with a run that judged a clause, that judgement wins over "undecided".
    const judged = { label: 'boot 2', results: unjudged.map((r) => (r.probe?.startsWith('evidence.') && !blamed(r.id) ? { ...r, status: 'pass' as const, message: 'inUse = GICv3' } : r)) };
    const combined = combineRuns(selected.map((r) => r.id), [run, judged]);
    const someEvidence = combined.find((r) => r.probe?.startsWith('evidence.') && !blamed(r.id))!;
    t.match(someEvidence, { status: 'pass', message: /^boot 2: inUse = GICv3/ });
    // Where no other boot decided the clause, the failed boot's "undecided" stands over a "not applicable".
    const notApplicable = { label: 'boot 2', results: unjudged.map((r) => (r.probe?.startsWith('evidence.') ? { ...r, status: 'skip' as const, message: 'not applicable: inUse is GICv3' } : r)) };
    const open = combineRuns(selected.map((r) => r.id), [run, notApplicable]).find((r) => r.probe?.startsWith('evidence.') && !blamed(r.id))!;
    t.match(open, { status: 'undecided', message: /undecided: boot: hypervisor-refused/ });
  }
});
