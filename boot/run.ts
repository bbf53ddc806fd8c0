import { randomBytes } from 'node:crypto';
import { evaluateUnlessWaived } from '../engine/evaluate.js';
import { select } from '../engine/select.js';
import { bootRunResults } from './boot-results.js';
import { combineRuns, type LabelledRun } from './combine.js';
import { throwIfCanceled } from './errors.js';
import { checkImage, evaluateEvidence } from './evaluate-boots.js';
import { hostBootFacts } from './host-facts.js';
import { phaseTimer } from './phase-timer.js';
import { configuredVm, planBoots } from './plan.js';
import { discoverBoot } from './discovery.js';
import type { DiscoveryRecord } from '../probes/host/facts.js';
import { runBoots } from './run-boots.js';
import type { BootRecordOut, BootRunOptions, BootRunResults } from './types.js';
import { WorkDir } from './work-dir.js';

/**
 * `vmspec boot`, after the image and firmware are found: static verify →
 * boot 1 (write) → boot 2 (check, same store) → evaluate every boot's
 * evidence plus the host's own record → one verdict per clause. QEMU is
 * always killed on cancel or timeout; the work directory is removed unless
 * kept (on a failed boot its serial logs are kept and named).
 */
export async function runBoot(o: BootRunOptions): Promise<BootRunResults> {
  const startedAt = new Date();
  const startedMs = performance.now();
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
    const boots: BootRecordOut[] = [];
    const evidenceRuns: LabelledRun[] = [];
    const bootWarnings: string[] = [];
    const discovery: DiscoveryRecord[] = [];
    const vm = configuredVm({ cpus: o.cpus, memoryMiB: o.memoryMiB, cloudInitSeed: o.agent.kind === 'cloud-init' });
    for await (const boot of runBoots(planBoots(o), o, { nonce, work, phase })) {
      const evidence = await evaluateEvidence(boot, o, phase);
      boot.record.evidence = evidence.info;
      boots.push(boot.record);
      evidenceRuns.push(evidence.run);
      discovery.push(discoverBoot(boot.plan, boot.evidenceDisk, vm));
      if (boot.warning) bootWarnings.push(boot.warning);
      throwIfCanceled(o.signal);
    }

    // 3. The host's own record of the boots.
    const host = hostBootFacts(boots, nonce, o.env, discovery);

    // 4. The host's record judged by the host.boot clauses.
    const hostResults = await phase('evaluate', () =>
      evaluateUnlessWaived(selected, { boot: host }, { waivers: o.waivers, scope: { target: image.run.target, hypervisor: o.env.hypervisor }, now: startedAt }));

    // 5. One verdict per clause from the image run, each boot's evidence run and the host run.
    throwIfCanceled(o.signal);
    const results = combineRuns(selected.map((r) => r.id), [{ label: 'image', results: image.run.results }, ...evidenceRuns, { label: 'host', results: hostResults }]);
    succeeded = true;
    return bootRunResults(o, { startedAt, startedMs, image, results, nonce, workDir: work.path, boots, bootWarnings });
  } finally {
    work.cleanup({ keep: o.keep, succeeded });
  }
}
