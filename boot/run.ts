import { randomBytes } from 'node:crypto';
import { evaluateUnlessWaived } from '../engine/evaluate.js';
import { select } from '../engine/select.js';
import { bootRunResults } from './boot-results.js';
import { combineRuns, type LabelledRun } from './combine.js';
import { throwIfCanceled } from './errors.js';
import { checkImage, evaluateEvidence } from './evaluate-boots.js';
import { blamedAspects, failedBootRun, type BootOutcome } from './failed-boots.js';
import { hostBootFacts } from './host-facts.js';
import { phaseTimer } from './phase-timer.js';
import { configuredVm, planBoots } from './plan.js';
import { discoverBoot } from './discovery.js';
import type { DiscoveryRecord } from '../probes/host/facts.js';
import { runBoots, type FinishedBoot } from './run-boots.js';
import type { BootRecordOut, BootRunOptions, BootRunResults } from './types.js';
import { WorkDir } from './work-dir.js';
import { NO_GUEST_FIRMWARE } from './xen/domu-boot.js';
import { monotonicMs } from '../engine/clock.js';

/**
 * `vmspec boot`, after the image and firmware are found: static verify →
 * boot 1 (write) → boot 2 (check, same store) → evaluate every boot's
 * evidence plus the host's own record → one verdict per clause. A boot that
 * could not happen (refused, no OS, no evidence) is a verdict too
 * (boot/failed-boots.ts), and the next boot still runs. QEMU is always
 * killed on cancel or timeout; the work directory is removed unless kept.
 */
export async function runBoot(o: BootRunOptions): Promise<BootRunResults> {
  const startedAt = new Date();
  const startedMs = monotonicMs();
  const phase = phaseTimer(o.onPhase);

  // 1. The image alone; a failing mandatory image clause stops here (ImageNotCompliantError) unless --force.
  const image = await checkImage(o, phase);
  throwIfCanceled(o.signal);
  const selected = select(o.spec.requirements, o.selection);
  const nonce = `N${randomBytes(8).toString('hex')}`;
  const work = new WorkDir(o.workDir);
  let succeeded = false;
  try {
    // 2. The planned boots, each one's evidence evaluated as soon as it has powered off.
    // A failed boot's run is made once every boot has ended: what it blames depends on what the others showed.
    const ended: { boot: FinishedBoot; run: LabelledRun | null }[] = [];
    const bootWarnings: string[] = [];
    const discovery: DiscoveryRecord[] = [];
    const vm = configuredVm({ cpus: o.cpus, memoryMiB: o.memoryMiB, cloudInitSeed: o.agent.kind === 'cloud-init', ...(o.guestDisks ? { disks: o.guestDisks } : {}) });
    const reset = resetNotExercised(o);
    for await (const boot of runBoots(planBoots({ ...o, exerciseReset: reset === null }), o, { nonce, work, phase })) {
      bootWarnings.push(...boot.warnings);
      if (boot.record.failure) {
        bootWarnings.push(`${boot.record.failure.reason} (see boot.boots[].failure)`);
        ended.push({ boot, run: null });
        continue;
      }
      const evidence = await evaluateEvidence(boot, o, phase);
      boot.record.evidence = evidence.info;
      ended.push({ boot, run: evidence.run });
      discovery.push(discoverBoot(boot.plan, boot.evidenceDisk, vm));
      throwIfCanceled(o.signal);
    }
    const boots: BootRecordOut[] = ended.map((e) => e.boot.record);
    const outcomes: BootOutcome[] = ended.map(({ boot }) => ({ plan: boot.plan, label: boot.label, failure: boot.record.failure }));
    const scope = { target: image.run.target, hypervisor: o.env.hypervisor };
    // The selection judged on nothing (every evidence clause "needs" skips, waivers applied): what a failed boot's run starts from.
    const unjudged = ended.some((e) => e.run === null) ? await evaluateUnlessWaived(selected, {}, { waivers: o.waivers, scope, now: startedAt }) : [];
    const evidenceRuns: LabelledRun[] = ended.map((e, i) => e.run ?? failedBootRun(outcomes[i]!, blamedAspects(outcomes[i]!, outcomes, image.mandatoryFailures.length > 0), unjudged));

    // 3. The host's own record of the boots.
    const fw = o.env.firmware;
    const template = fw.description === NO_GUEST_FIRMWARE ? 'no UEFI firmware' : fw.varsTemplate === undefined ? 'no store' : o.varsFileFacts(fw.varsTemplate, nonce);
    const host = hostBootFacts(boots, nonce, o.env, discovery, reset, template);

    // 4. The host's record judged by the host.boot clauses.
    const hostResults = await phase('evaluate', () =>
      evaluateUnlessWaived(selected, { boot: host }, { waivers: o.waivers, scope, now: startedAt }));

    // 5. One verdict per clause from the image run, each boot's evidence run and the host run.
    throwIfCanceled(o.signal);
    const results = combineRuns(selected.map((r) => r.id), [{ label: 'image', results: image.run.results }, ...evidenceRuns, { label: 'host', results: hostResults }]);
    succeeded = true;
    return bootRunResults(o, { startedAt, startedMs, image, results, nonce, workDir: work.path, boots, bootWarnings });
  } finally {
    work.cleanup({ keep: o.keep, succeeded });
  }
}

/**
 * Why no boot of this run exercises a guest reset, or null when boot 2 does:
 * it needs a guest told to reset (the reference's init) and a host that
 * watches the VM start again (QEMU on this host, boot/qemu-run.ts; the nested
 * KVM route); other routes (Xen) end every boot with a power-off, and the
 * reset clause is undecided.
 */
export function resetNotExercised(o: Pick<BootRunOptions, 'runner' | 'agent'>): string | null {
  if (o.runner !== undefined && o.runner.watchesReset !== true) return 'this hypervisor route (Xen) does not watch the VM start again after a reset, so no boot asks the guest for one';
  if (o.agent.kind !== 'reference-init') return 'the guest runs the collector through cloud-init, which vmspec does not ask for a reset; the built-in reference image\'s init exercises it';
  return null;
}
