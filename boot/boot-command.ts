import { existsSync } from 'node:fs';
import { UnsupportedError } from '../probes/errors.js';
import type { VarsFileFacts } from '../probes/host/facts.js';
import { finishReports, prepareReports } from '../reports/commands.js';
import type { ReportFormat } from '../reports/formats.js';
import { painter, safeTerminalText, useColour } from '../reports/style.js';
import { emitReport } from '../reports/write.js';
import { EXIT, type Selection } from '../runner/results.js';
import { loadSpecOrThrow } from '../runner/spec-load.js';
import { chooseAccelerator, qemuVersion } from './environment.js';
import { describeBoot, planBoots } from './plan.js';
import { findQemu } from './qemu-run.js';
import { BootCanceledError, BootFailedError, ImageNotCompliantError } from './errors.js';
import { runBoot } from './run.js';
import type { BootEnvironment, BootImage, GuestAgent, PhaseEvent } from './types.js';

/** Options of `vmspec boot` as commander hands them over. */
export interface BootFlags {
  reference?: string;
  sha256?: string;
  sha512?: string;
  sums?: string;
  allowUnverified?: boolean;
  firmware?: string;
  varsTemplate?: string;
  firmwareFeature?: string[];
  gic: '2' | '3' | 'both';
  /** undefined: the default, ACPI on. */
  acpi?: boolean;
  persistentVars: boolean;
  cloudInit: 'auto' | 'on' | 'off';
  hypervisor: 'qemu' | 'xen';
  dryRun?: boolean;
  qemu?: string;
  qemuArg?: string[];
  memory: string;
  cpus: string;
  timeout: string;
  accel: 'auto' | 'kvm' | 'tcg';
  force?: boolean;
  backing: 'follow' | 'refuse';
  keep?: boolean;
  workDir?: string;
  cacheDir?: string;
  format: 'text' | ReportFormat;
  output?: string;
  verbose?: boolean;
  report?: string[];
  waivers?: string;
  spec: string;
}

/** The pieces other modules provide (image obtaining, firmware selection, varstore, cloud-init seed, xl config). */
export interface BootParts {
  resolveImage(image: string | undefined, o: BootFlags, onProgress: (m: string) => void, signal: AbortSignal): Promise<BootImage & { cloudInit: boolean | null }>;
  resolveFirmware(o: BootFlags, qemu: string): Promise<BootEnvironment['firmware']>;
  varsFileFacts(varsPath: string, nonce: string): VarsFileFacts;
  cloudInitAgent(): GuestAgent;
  xlConfig(image: BootImage, o: BootFlags): string;
}

function positiveInt(name: string, v: string, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new UnsupportedError(`--${name} ${JSON.stringify(v)}: expected a whole number from 1 to ${max}`);
  return n;
}

export async function bootAction(image: string | undefined, o: BootFlags, selection: Selection, parts: BootParts): Promise<void> {
  const memoryMiB = positiveInt('memory', o.memory, 1024 * 1024);
  const cpus = positiveInt('cpus', o.cpus, 512);
  const timeoutMs = positiveInt('timeout', o.timeout, 24 * 3600) * 1000;
  if (image !== undefined && o.reference !== undefined) throw new UnsupportedError('give an IMAGE (path or URL) or --reference NAME, not both');
  const prepared = prepareReports(o);
  const spec = loadSpecOrThrow(o.spec);

  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => controller.abort(sig);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = await phaseProgress();
  try {
    const obtained = await parts.resolveImage(image, o, (m) => progress({ phase: `obtain: ${m}`, state: 'start' }), controller.signal);
    progress({ phase: 'obtain', state: 'done', ms: 0, detail: `${obtained.source} (${obtained.format})` });
    if (o.hypervisor === 'xen') {
      if (!o.dryRun) throw new UnsupportedError('--hypervisor xen only prints the xl domain configuration (add --dry-run): Xen cannot run on this host', 'see docs/xen.md for the procedure on a Xen host');
      process.stdout.write(parts.xlConfig(obtained, o));
      return;
    }
    const qemu = o.qemu ?? findQemu();
    if (qemu === undefined || !existsSync(qemu)) throw new UnsupportedError(`QEMU not found${o.qemu ? ` at ${o.qemu}` : ' (qemu-system-aarch64 on PATH)'}`, 'apt-get install --no-install-recommends qemu-system-arm, or give --qemu PATH');
    const accelerator = chooseAccelerator(o.accel);
    const version = await qemuVersion(qemu);
    const firmware = await parts.resolveFirmware(o, qemu);
    const agent: GuestAgent = useCloudInit(o.cloudInit, obtained) ? parts.cloudInitAgent() : { kind: 'reference-init' };
    const env: BootEnvironment = { hypervisor: `QEMU ${version.split(' ')[0]} (${accelerator.toUpperCase()})`, qemu: { path: qemu, version }, accelerator, firmware };
    if (o.dryRun) {
      process.stdout.write(dryRunText(obtained, env, agent, o));
      return;
    }
    const run = await runBoot({
      spec, selection, ...(prepared.waivers ? { waivers: prepared.waivers } : {}),
      image: obtained, agent, env, varsFileFacts: parts.varsFileFacts,
      gic: o.gic, acpi: o.acpi !== false, persistentVars: o.persistentVars,
      memoryMiB, cpus, timeoutMs, qemuArgs: o.qemuArg ?? [],
      force: o.force ?? false, keep: o.keep ?? false, backing: o.backing,
      ...(o.workDir ? { workDir: o.workDir } : {}),
      signal: controller.signal,
      onPhase: progress,
    });
    const finished = await finishReports(run, prepared, spec);
    const content = o.format === 'text'
      ? (await import('../reports/text.js')).renderText(finished, { colour: !o.output && useColour(), verbose: o.verbose ?? false })
      : (await import('../reports/render.js')).render(finished, o.format, spec);
    emitReport(content, o.output);
    if (run.boot.workDir) process.stderr.write(`kept: ${run.boot.workDir}\n`);
    process.exitCode = finished.exitCode;
  } catch (e) {
    const say = (m: string) => process.stderr.write(`vmspec boot: ${safeTerminalText(m)}\n`);
    if (e instanceof BootCanceledError) {
      say(e.message);
      process.exitCode = e.signalName === 'SIGTERM' ? 143 : 130;
      return;
    }
    if (controller.signal.aborted) {
      const sig = String(controller.signal.reason);
      say(`interrupted by ${sig} while obtaining or preparing: nothing was left running`);
      process.exitCode = sig === 'SIGTERM' ? 143 : 130;
      return;
    }
    if (e instanceof ImageNotCompliantError) {
      say(`${e.message}\n(${e.hint})`);
      process.exitCode = EXIT.failed;
      return;
    }
    if (e instanceof BootFailedError) {
      say(`${e.message}\n(${e.hint})`);
      process.exitCode = EXIT.probeError;
      return;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** cloud-init for images that have it; the built-in reference runs the collector from its own /init. */
function useCloudInit(mode: BootFlags['cloudInit'], image: { cloudInit: boolean | null; source: string }): boolean {
  if (mode === 'on') return true;
  if (mode === 'off') return false;
  if (image.cloudInit === null) {
    throw new UnsupportedError(
      `cannot tell how to run the evidence collector in ${image.source}: it is not the built-in reference and no cloud-init was found in its root filesystem`,
      'use --cloud-init on if it has cloud-init (NoCloud), or run probes/guest/collect.sh in the guest yourself and use `vmspec verify --evidence`',
    );
  }
  return image.cloudInit;
}

function dryRunText(image: BootImage, env: BootEnvironment, agent: GuestAgent, o: BootFlags): string {
  return [
    `image:       ${image.source} (${image.format}${image.sha256 ? `, sha256 ${image.sha256}` : ''})`,
    `             ${image.path}`,
    `hypervisor:  ${env.hypervisor}: ${env.qemu.path}`,
    `firmware:    ${env.firmware.code}${env.firmware.descriptor ? ` (from ${env.firmware.descriptor})` : ''}`,
    `vars:        a copy of ${env.firmware.varsTemplate} per VM instance`,
    `collector:   ${agent.kind === 'cloud-init' ? 'cloud-init NoCloud seed (CIDATA) runs collect.sh' : 'the reference image\'s /init runs collect.sh'}`,
    `boots:       ${planBoots({ gic: o.gic, acpi: o.acpi !== false, persistentVars: o.persistentVars }).map((b) => `${describeBoot(b)} ${b.phase}s the test variable${b.vars === 'same' ? ' (same variable store)' : b.vars === 'fresh' ? ' (fresh variable store)' : ''}`).join('; ')}`,
    '',
  ].join('\n');
}

/** Phases on stderr with elapsed times: a spinner on a terminal, nothing otherwise (CI logs stay clean). */
async function phaseProgress(): Promise<(e: PhaseEvent) => void> {
  if (!process.stderr.isTTY) return () => {};
  const { default: ora } = await import('ora');
  const paint = painter(useColour());
  let spinner: ReturnType<typeof ora> | undefined;
  return (e) => {
    if (e.state === 'start') {
      if (spinner?.isSpinning) spinner.text = e.phase;
      else spinner = ora({ stream: process.stderr, text: e.phase }).start();
      return;
    }
    const line = `${e.phase}${e.detail ? `: ${e.detail}` : ''} ${paint('dim', `(${(e.ms / 1000).toFixed(1)} s)`)}`;
    if (e.state === 'done') spinner?.succeed(line);
    else spinner?.fail(line);
    spinner = undefined;
  };
}
