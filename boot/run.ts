import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../probes/errors.js';
import type { HostBootFacts, HostBootRecord, VarsFileFacts } from '../probes/host/facts.js';
import { openSysroot } from '../probes/sysroot/open.js';
import { evaluateUnlessWaived } from '../runner/evaluate.js';
import { runResults, type Result, type RunResults, type Selection, type TargetInfo } from '../runner/results.js';
import { select } from '../runner/select.js';
import type { SpecSet } from '../runner/spec-load.js';
import { verify, type EvidenceInfo } from '../runner/verify.js';
import { isExpired, waiverMatchesId, type Waiver } from '../runner/waivers.js';
import { combineRuns, type CombinedResult, type LabelledRun } from './combine.js';
import { describeBoot, planBoots, type BootPlanOptions, type PlannedBoot } from './plan.js';
import { runQemu, type Firmware } from './qemu-run.js';
import { createEvidenceDisk } from './reference/evidence-disk.js';
import { readSerialLog, serialFacts, serialTail } from './serial-log.js';

/**
 * `vmspec boot`, after the image and firmware are found: static verify →
 * boot 1 (write) → boot 2 (check, same store) → evaluate every boot's
 * evidence plus the host's own record → one verdict per clause. QEMU is
 * always killed on cancel or timeout; the work directory is removed unless
 * kept (on a failed boot its serial logs are kept and named).
 */

export interface BootImage {
  path: string;
  format: 'raw' | 'qcow2';
  /** Where it came from: a path, a URL or `reference:NAME`. */
  source: string;
  sha256: string | null;
}

/** How the guest runs the collector: the built-in reference's /init, or cloud-init from a NoCloud seed. */
export type GuestAgent = { kind: 'reference-init' } | { kind: 'cloud-init'; seed: (dir: string, boot: PlannedBoot) => Promise<string> | string };

export interface BootEnvironment {
  hypervisor: string;
  qemu: { path: string; version: string };
  accelerator: 'kvm' | 'tcg';
  firmware: Firmware & { descriptor: string | null; description: string | null; version: string | null; codeSha256: string | null; features: string[] };
}

export interface BootRunOptions extends BootPlanOptions {
  spec: SpecSet;
  selection: Selection;
  waivers?: Waiver[];
  image: BootImage;
  agent: GuestAgent;
  env: BootEnvironment;
  /** Reads the persistence nonce back from an instance's variable-store file (edk2 varstore parser). */
  varsFileFacts: (varsPath: string, nonce: string) => VarsFileFacts;
  memoryMiB: number;
  cpus: number;
  timeoutMs: number;
  qemuArgs: string[];
  /** Boot even when a mandatory image clause fails. */
  force: boolean;
  /** qcow2 backing files: refuse (default; QEMU would open whatever path the image names) or follow. */
  backing?: 'follow' | 'refuse';
  /** Keep the work directory (vars copies, evidence disks, serial logs). */
  keep: boolean;
  workDir?: string;
  signal?: AbortSignal;
  onPhase?: (event: PhaseEvent) => void;
}

export type PhaseEvent = { phase: string; state: 'start' } | { phase: string; state: 'done' | 'failed'; ms: number; detail?: string };

export interface BootRecordOut extends HostBootRecord {
  serialLog: string;
  evidence: EvidenceInfo | null;
}

export interface BootRunResults extends RunResults {
  results: CombinedResult[];
  environment: Omit<BootEnvironment, 'firmware'> & { firmware: Omit<BootEnvironment['firmware'], 'code' | 'varsTemplate'> & { code: string; varsTemplate: string } };
  boot: { image: BootImage; nonce: string; workDir: string | null; boots: BootRecordOut[]; staticCheck: { mandatoryImageFailures: string[]; forced: boolean } };
  warnings?: string[];
}

/** A mandatory image clause failed: booting would test the hypervisor with a broken image. */
export class ImageNotCompliantError extends UnsupportedError {
  constructor(readonly failures: Result[]) {
    super(
      `the image fails ${failures.length} mandatory clause(s), so booting it would judge the hypervisor with a broken image:\n` +
        failures.map((f) => `  ${f.id} (${f.ref.label}): ${f.message}`).join('\n'),
      'fix the image (see `vmspec verify IMAGE`), or boot it anyway with --force',
    );
  }
}

/** A boot did not end with the collector's evidence: hang, crash or guest failure. */
export class BootFailedError extends UnsupportedError {
  constructor(message: string, readonly serialLog: string, tail: string) {
    super(`${message}\nserial log: ${serialLog}${tail ? `\nlast console lines:\n${tail.replace(/^/gm, '  | ')}` : ''}`, 'see the serial log; raise --timeout for a slow host, or run with --keep to keep the disks');
  }
}

export class BootCanceledError extends Error {
  constructor(readonly signalName: string) {
    super(`interrupted by ${signalName}: QEMU was stopped and temporary files removed`);
  }
}

export async function runBoot(o: BootRunOptions): Promise<BootRunResults> {
  const startedAt = new Date();
  const t0 = performance.now();
  const phase = async <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    const s = performance.now();
    o.onPhase?.({ phase: name, state: 'start' });
    try {
      const v = await fn();
      o.onPhase?.({ phase: name, state: 'done', ms: Math.round(performance.now() - s), ...(detail ? { detail: detail(v) } : {}) });
      return v;
    } catch (e) {
      o.onPhase?.({ phase: name, state: 'failed', ms: Math.round(performance.now() - s) });
      throw e;
    }
  };

  // 1. Static verify: image clauses (and the guest clauses the image's root filesystem decides).
  const staticRun = await phase('verify image', () =>
    verify({ spec: o.spec, selection: o.selection, image: o.image.path, backing: o.backing ?? 'refuse', ...(o.waivers ? { waivers: o.waivers } : {}) }),
  (r) => `${r.summary.pass} pass, ${r.summary.fail} fail`);
  const imageFailures = staticRun.results.filter((r) => r.status === 'fail' && r.mandatory && r.target === 'image' && !waivedByFile(r.id, o.waivers));
  if (imageFailures.length && !o.force) throw new ImageNotCompliantError(imageFailures);

  const selected = select(o.spec.requirements, o.selection);
  const nonce = `N${randomBytes(8).toString('hex')}`;
  const dir = mkdtempSync(join(o.workDir ?? tmpdir(), 'vmspec-boot-'));
  let succeeded = false;
  let keepLogs = false;
  try {
    const plan = planBoots(o);
    const records: BootRecordOut[] = [];
    const evidenceRuns: LabelledRun[] = [];
    const bootWarnings: string[] = [];
    let vars = '';
    for (const [i, b] of plan.entries()) {
      if (o.signal?.aborted) throw new BootCanceledError(String(o.signal.reason ?? 'SIGINT'));
      const tag = `boot${i + 1}`;
      if (b.vars !== 'same') {
        vars = join(dir, `${tag}-VARS.fd`);
        copyFileSync(o.env.firmware.varsTemplate, vars);
      }
      const evidence = join(dir, `${tag}-evidence.img`);
      createEvidenceDisk(evidence, { phase: b.phase, nonce });
      const serialLog = join(dir, `${tag}-serial.log`);
      const seed = o.agent.kind === 'cloud-init' ? await o.agent.seed(dir, b) : undefined;
      const label = describeBoot(b);
      const run = await phase(label, () => runQemu({
        image: o.image.path,
        imageFormat: o.image.format,
        vars,
        firmware: o.env.firmware,
        evidenceDisk: evidence,
        ...(seed ? { readOnlyDisks: [seed] } : {}),
        acpi: b.acpi,
        gic: b.gic,
        accel: o.env.accelerator,
        memoryMiB: o.memoryMiB,
        smp: o.cpus,
        timeoutMs: o.timeoutMs,
        serialLog,
        qemu: o.env.qemu.path,
        extraArgs: o.qemuArgs,
        ...(o.signal ? { cancelSignal: o.signal } : {}),
      }), (r) => `QEMU exit ${r.exitCode ?? r.signal}`);
      if (run.canceled || o.signal?.aborted) throw new BootCanceledError(String(o.signal?.reason ?? 'SIGINT'));
      const log = readSerialLog(serialLog);
      const serial = serialFacts(log.text, log.bytes);
      const record: BootRecordOut = {
        name: b.name,
        acpi: b.acpi,
        gic: b.gic,
        phase: b.phase,
        varsStore: b.vars === 'new' ? 'new' : b.vars === 'same' ? 'same as the previous boot' : 'fresh copy',
        exitCode: run.exitCode,
        timedOut: run.timedOut,
        durationMs: run.durationMs,
        serial,
        varsFileAfter: o.varsFileFacts(vars, nonce),
        serialLog,
        evidence: null,
      };
      records.push(record);
      const tail = serialTail(log.text);
      if (run.timedOut) {
        keepLogs = true;
        throw new BootFailedError(`${label}: no power-off within ${Math.round(o.timeoutMs / 1000)} s; QEMU was stopped`, serialLog, tail);
      }
      if (run.exitCode !== 0) {
        keepLogs = true;
        const qemuSaid = run.output.trim().split('\n').slice(-5).join('\n');
        throw new BootFailedError(`${label}: QEMU exited with ${run.exitCode ?? run.signal}${qemuSaid ? `: ${qemuSaid}` : ''}`, serialLog, tail);
      }
      if (serial.collectorExit === null) {
        // The guest may keep its console off the UART (console=tty0): the evidence disk still tells.
        if (!holdsBundle(evidence)) {
          keepLogs = true;
          throw new BootFailedError(`${label}: the guest powered off without the collector's VMSPEC-DONE line on the serial log, and the evidence disk holds no bundle`, serialLog, tail);
        }
        bootWarnings.push(`${label}: the collector's VMSPEC-DONE line never reached the serial log (is the guest's console on another device?); its bundle on the evidence disk was used`);
      }
      const evidenceRun = await phase(`${b.name}: evaluate evidence`, () =>
        verify({ spec: o.spec, selection: o.selection, evidence, ...(o.waivers ? { waivers: o.waivers } : {}) }));
      record.evidence = { ...evidenceRun.evidence!, path: o.keep ? evidence : `${b.name} evidence disk (removed; --keep keeps it)` };
      evidenceRuns.push({ label, results: evidenceRun.results });
    }

    // The host's record, judged by the host.boot clauses.
    const write = records.find((r) => r.phase === 'write');
    const check = records.find((r) => r.phase === 'check');
    const host: HostBootFacts = {
      hypervisor: o.env.hypervisor,
      accelerator: o.env.accelerator,
      boots: records.map(({ serialLog: _s, evidence: _e, ...r }) => r),
      persistence: {
        nonce,
        checked: Boolean(write && check),
        writtenToStore: write?.varsFileAfter.nonceVariable ?? 'unreadable',
        stillInStoreAfterCheck: check ? check.varsFileAfter.nonceVariable : null,
      },
      serial: { everyBootOnUart: records.every((r) => r.serial.guestConsoleOnUart) },
    };
    const hostResults = await phase('evaluate', () =>
      evaluateUnlessWaived(selected, { boot: host }, { waivers: o.waivers, scope: { target: staticRun.target, hypervisor: o.env.hypervisor }, now: startedAt }));

    const results = combineRuns(selected.map((r) => r.id), [{ label: 'image', results: staticRun.results }, ...evidenceRuns, { label: 'host', results: hostResults }]);
    const target: TargetInfo & { hypervisor: string } = { ...staticRun.target, kind: 'boot', hypervisor: o.env.hypervisor };
    const { code, varsTemplate, ...fwRest } = o.env.firmware;
    const warnings = [...(staticRun.warnings ?? []), ...bootWarnings];
    if (imageFailures.length) warnings.push(`booted with --force although the image fails ${imageFailures.map((f) => f.id).join(', ')}`);
    succeeded = true;
    return {
      ...runResults({ spec: o.spec, selection: o.selection, target, startedAt, startedMs: t0, results }),
      environment: { hypervisor: o.env.hypervisor, qemu: o.env.qemu, accelerator: o.env.accelerator, firmware: { ...fwRest, code, varsTemplate } },
      boot: {
        image: o.image,
        nonce,
        workDir: o.keep ? dir : null,
        boots: records.map((r) => ({ ...r, serialLog: o.keep ? r.serialLog : `${r.name} serial log (removed; --keep keeps it)` })),
        staticCheck: { mandatoryImageFailures: imageFailures.map((f) => f.id), forced: imageFailures.length > 0 },
      },
      ...(warnings.length ? { warnings } : {}),
    };
  } finally {
    cleanup(dir, { keep: o.keep, keepLogs: keepLogs && !succeeded });
  }
}

/** The evidence disk starts with a bundle tar carrying its manifest (not just the blank disk's header). */
export function holdsBundle(disk: string): boolean {
  try {
    const s = openSysroot(disk);
    try {
      return s.manifest !== null && s.manifest !== undefined;
    } finally {
      s.close();
    }
  } catch {
    return false;
  }
}

/** An unexpired waiver covers the clause: the static check must not stop on it (the report shows it waived). */
function waivedByFile(id: string, waivers: Waiver[] | undefined): boolean {
  const now = new Date();
  return (waivers ?? []).some((w) => waiverMatchesId(w, id) && !isExpired(w, now));
}

/** Remove the work directory; after a failed boot keep only the serial logs (small, and what the user needs). */
function cleanup(dir: string, o: { keep: boolean; keepLogs: boolean }): void {
  if (o.keep) return;
  if (!o.keepLogs) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const name of safeList(dir)) {
    if (!name.endsWith('-serial.log')) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
