import { guestRunStep, guestScript } from './guest-script.js';
import { inlineDefinition, type InlineDefinition } from './inline-definition.js';
import type { Artifact, Collection, MatrixCell } from './matrix.js';
import { slugify } from './names.js';
import { bundleVerdictStep, consoleVerdictStep } from './verdict-step.js';

/** What every job of one generation shares. */
export interface JobSettings {
  /** Built-in spec name (vmspec-v2), its id and version. */
  spec: { name: string; id: string; version: string };
  /** Requirement id -> LAVA test case name, in spec order. */
  cases: Map<string, string>;
  /** Base URL (ends with /) bundles and results go under, then runId/. */
  artifacts: string;
  runId: string;
  /** The blank evidence disk (with its header) every job copies. */
  evidenceDisk: string;
  /** probes/guest/collect.sh, carried on the evidence disk (in the guest script) so the guest runs exactly this version. */
  collector: string;
  /**
   * Container image with vmspec on PATH, for the verdict step. Console jobs
   * get one only with lavaUrl: the LAVA server as the worker's containers
   * reach it, where the step fetches the job's own log. Shell jobs with
   * lavaUrl judge the console frame of their log too (no artefact store).
   */
  verdict: { image: string; local: boolean; lavaUrl?: string };
  login: { prompts: string[]; username: string; password?: string; passwordPrompt: string; loginPrompt: string };
  cpu: string;
  memoryMiB: number;
  jobTimeoutMinutes: number;
  consoleFrame: boolean;
  toolVersion: string;
}

/** One generated job: its definition and what ties its results back to the matrix. */
export interface GeneratedJob {
  slug: string;
  fileName: string;
  /** How the evidence leaves the guest; console jobs carry the bundle in the LAVA job log only. */
  collects: Collection;
  /** Where the guest uploads the bundle and the verdict step the results (shell jobs without a LAVA URL only). */
  bundleUrl?: string;
  resultsUrl?: string;
  metadata: Record<string, string>;
  definition: LavaJob;
  /** The guest script the evidence disk carries for the collect definition (lava/evidence-disk.ts); none in a console job. */
  scripts?: { guest: string };
  /** The guest definition's one run step (shell jobs). */
  guestStep?: string;
  /** The verdict definition's one run step (console jobs: with --lava-url only). */
  verdictStep?: string;
}

/** The subset of LAVA's job schema these jobs use (lava_common.schemas). */
export interface LavaJob {
  device_type: 'qemu';
  job_name: string;
  timeouts: { job: Minutes; action: Minutes; connection: Minutes };
  priority: 'medium';
  visibility: 'public';
  tags?: string[];
  context: Record<string, string | number>;
  metadata: Record<string, string>;
  actions: Record<string, unknown>[];
}
type Minutes = { minutes: number };

/** The slug of a cell: image, firmware, GIC, description and hypervisor. */
export function cellSlug(c: MatrixCell): string {
  return slugify(`${c.image.name}-${c.firmware.name}-gicv${c.gic}-${c.acpi ? 'acpi' : 'dt'}-${c.hypervisor.name}`);
}

/** `-machine` value: GIC version always explicit; ACPI left at QEMU's default (on with firmware) or turned off. */
export function machineOption(c: MatrixCell): string {
  return `virt,gic-version=${c.gic}${c.acpi ? '' : ',acpi=off'}`;
}

function download(a: Artifact, imageArg: string, extra: Record<string, string> = {}): Record<string, string> {
  return { url: a.url, image_arg: imageArg, ...extra, ...(a.sha256 ? { sha256sum: a.sha256 } : {}) };
}

export function buildJob(cell: MatrixCell, s: JobSettings): GeneratedJob {
  return cell.image.collects === 'console' ? buildConsoleJob(cell, s) : buildShellJob(cell, s);
}

/** Metadata every job carries (docs/scale.md, "What ties it together"). */
function commonMetadata(cell: MatrixCell, s: JobSettings, slug: string): Record<string, string> {
  return {
    'vmspec.cell': slug,
    'vmspec.image': cell.image.name,
    'vmspec.image-url': cell.image.url,
    ...(cell.image.sha256 ? { 'vmspec.image-sha256': cell.image.sha256 } : {}),
    'vmspec.firmware': cell.firmware.name,
    'vmspec.gic': String(cell.gic),
    'vmspec.acpi': String(cell.acpi),
    'vmspec.hypervisor': cell.hypervisor.name,
    'vmspec.spec': s.spec.id,
    'vmspec.spec-version': s.spec.version,
    'vmspec.run': s.runId,
    'vmspec.version': s.toolVersion,
  };
}

function jobName(cell: MatrixCell, s: JobSettings): string {
  return `vmspec ${s.spec.id} ${cell.image.name} ${cell.firmware.name} gicv${cell.gic} ${cell.acpi ? 'acpi' : 'dt'} ${cell.hypervisor.name}`.slice(0, 200);
}

function firmwareImages(cell: MatrixCell): Record<string, Record<string, string>> {
  return {
    firmware_code: download(cell.firmware.code, '-drive if=pflash,format=raw,unit=0,readonly=on,file={firmware_code}'),
    // LAVA downloads a fresh copy per job: each job starts from the pristine variable store.
    firmware_vars: download(cell.firmware.vars, '-drive if=pflash,format=raw,unit=1,file={firmware_vars}'),
    disk: download(cell.image, `-drive if=virtio,format=${cell.image.format},file={disk}`, cell.image.compression ? { compression: cell.image.compression } : {}),
  };
}

function hypervisorBoot(cell: MatrixCell): Record<string, unknown> {
  const d = cell.hypervisor.docker;
  return d ? { docker: { image: d.image, ...(d.binary ? { binary: d.binary } : {}), ...(d.local !== undefined ? { local: d.local } : {}) } } : {};
}

/**
 * Lines the console-collecting guest prints (boot/reference/init.sh and
 * collect.sh --console): LAVA test monitors turn them into test cases
 * without a shell. The monitor lower-cases a case id and turns every run
 * of non-word characters into "_".
 */
export const CONSOLE_MARKS = {
  start: 'vmspec-init: kernel',
  frameEnd: '-----END VMSPEC EVIDENCE-----',
  frame: '-----(?P<result>BEGIN) VMSPEC (?P<test_case_id>EVIDENCE) size=[0-9]+ sha256=[0-9a-f]{64}-----',
  collected: 'vmspec-init: collect.sh exited',
  done: '(?P<test_case_id>VMSPEC-DONE) rc=(?P<result>[0-9]+)',
  powerOff: 'reboot: Power down',
} as const;

/**
 * A job for an image without a login shell: boot, and let LAVA's test
 * monitors watch the console. The bundle travels in the job log as the
 * console frame; vmspec verify --evidence judges it wherever the log is
 * fetched (docs/scale.md).
 */
function buildConsoleJob(cell: MatrixCell, s: JobSettings): GeneratedJob {
  const slug = cellSlug(cell);
  const metadata = { ...commonMetadata(cell, s, slug), 'vmspec.collects': 'console', 'vmspec.bundle': 'job log (console frame)' };
  const step = Math.min(30, s.jobTimeoutMinutes);
  const rc: Record<string, string> = { '0': 'pass' };
  for (let i = 1; i < 256; i++) rc[String(i)] = 'fail';
  // LAVA: with namespaces, every action names one ("common" may not be among them).
  const ns = s.verdict.lavaUrl ? { namespace: GUEST_NAMESPACE } : {};
  const definition: LavaJob = {
    device_type: 'qemu',
    job_name: jobName(cell, s),
    timeouts: { job: { minutes: s.jobTimeoutMinutes }, action: { minutes: step }, connection: { minutes: 2 } },
    priority: 'medium',
    visibility: 'public',
    ...(cell.hypervisor.tags?.length ? { tags: cell.hypervisor.tags } : {}),
    context: { arch: 'arm64', machine: machineOption(cell), cpu: s.cpu, memory: s.memoryMiB },
    metadata,
    actions: [
      { deploy: { ...ns, to: 'tmpfs', timeout: { minutes: Math.min(20, s.jobTimeoutMinutes) }, images: firmwareImages(cell) } },
      { boot: { ...ns, method: 'qemu', media: 'tmpfs', timeout: { minutes: step }, ...hypervisorBoot(cell) } },
      {
        test: {
          ...ns,
          timeout: { minutes: step },
          monitors: [
            { name: 'vmspec-frame', start: CONSOLE_MARKS.start, end: CONSOLE_MARKS.frameEnd, pattern: CONSOLE_MARKS.frame, fixupdict: { BEGIN: 'pass' } },
            { name: 'vmspec-collect', start: CONSOLE_MARKS.collected, end: CONSOLE_MARKS.powerOff, pattern: CONSOLE_MARKS.done, fixupdict: rc },
          ],
        },
      },
      ...(s.verdict.lavaUrl ? [consoleVerdictAction(slug, s, s.verdict.lavaUrl)] : []),
    ],
  };
  if (!s.verdict.lavaUrl) return { slug, fileName: `${slug}.yaml`, collects: 'console', metadata, definition };
  return { slug, fileName: `${slug}.yaml`, collects: 'console', metadata, definition, verdictStep: consoleStep(slug, s, s.verdict.lavaUrl) };
}

function consoleStep(slug: string, s: JobSettings, lavaUrl: string): string {
  return consoleVerdictStep({ lavaUrl, spec: s.spec.name, slug, cases: s.cases });
}

/** The namespaces of a console job with a verdict step (docs/scale.md). */
export const GUEST_NAMESPACE = 'vmspec-guest';
export const VERDICT_NAMESPACE = 'vmspec-verdicts';

/**
 * The verdict step of a console job: LAVA's docker test shell on the worker,
 * in its own namespace so the guest's deploy gets no test overlay (the guest
 * has no shell to run one; a qemu deploy would otherwise attach LAVA's
 * overlay disk to it).
 */
function consoleVerdictAction(slug: string, s: JobSettings, lavaUrl: string): Record<string, unknown> {
  const def = inlineDefinition('vmspec-verdicts', `vmspec: judge the console frame of this job's log with vmspec verify (${s.spec.id}), one test case per requirement`, [
    consoleStep(slug, s, lavaUrl),
  ]);
  return {
    test: {
      namespace: VERDICT_NAMESPACE,
      timeout: { minutes: Math.min(15, s.jobTimeoutMinutes) },
      docker: { image: s.verdict.image, ...(s.verdict.local ? { local: true } : {}) },
      definitions: [def],
    },
  };
}

function buildShellJob(cell: MatrixCell, s: JobSettings): GeneratedJob {
  const slug = cellSlug(cell);
  const guest = guestScript(s.collector);
  // With --lava-url the bundle travels in the job log (the console frame) and
  // the verdict step reads it there, as a console job's does: no store.
  const lavaUrl = s.verdict.lavaUrl;
  if (lavaUrl && !s.consoleFrame) throw new Error('shell jobs with a LAVA URL read the bundle from the console frame: do not turn the frame off');
  const base = `${s.artifacts}${encodeURIComponent(s.runId)}/`;
  const urls = lavaUrl ? undefined : { bundleUrl: `${base}${slug}.tar`, resultsUrl: `${base}${slug}.json` };
  const metadata: Record<string, string> = {
    ...commonMetadata(cell, s, slug),
    ...(urls ? { 'vmspec.bundle': urls.bundleUrl, 'vmspec.results': urls.resultsUrl } : { 'vmspec.bundle': 'job log (console frame)' }),
  };
  const guestStep = guestRunStep(Buffer.byteLength(guest), urls?.bundleUrl ?? '', s.consoleFrame);
  const verdictStep = urls ? bundleVerdictStep({ ...urls, spec: s.spec.name, slug, cases: s.cases }) : consoleStep(slug, s, lavaUrl!);
  // One line: the collector and the guest script travel on the evidence disk (LAVA's result metadata cap, docs/scale.md).
  const guestDef: InlineDefinition = inlineDefinition('vmspec-collect', 'vmspec: collect the evidence bundle in the guest, keep it on the evidence disk, upload it', [guestStep]);
  const verdictDef: InlineDefinition = inlineDefinition('vmspec-verdicts', `vmspec: judge the ${urls ? 'bundle' : 'console frame of this job\'s log'} with vmspec verify (${s.spec.id}), one test case per requirement`, [verdictStep]);

  const boot: Record<string, unknown> = {
    method: 'qemu',
    media: 'tmpfs',
    timeout: { minutes: Math.min(20, s.jobTimeoutMinutes) },
    prompts: s.login.prompts,
    auto_login: {
      login_prompt: s.login.loginPrompt,
      username: s.login.username,
      ...(s.login.password !== undefined ? { password_prompt: s.login.passwordPrompt, password: s.login.password } : {}),
    },
    ...(cell.hypervisor.docker
      ? { docker: { image: cell.hypervisor.docker.image, ...(cell.hypervisor.docker.binary ? { binary: cell.hypervisor.docker.binary } : {}), ...(cell.hypervisor.docker.local !== undefined ? { local: cell.hypervisor.docker.local } : {}) } }
      : {}),
  };
  const image = cell.image;
  const definition: LavaJob = {
    device_type: 'qemu',
    job_name: `vmspec ${s.spec.id} ${image.name} ${cell.firmware.name} gicv${cell.gic} ${cell.acpi ? 'acpi' : 'dt'} ${cell.hypervisor.name}`.slice(0, 200),
    timeouts: { job: { minutes: s.jobTimeoutMinutes }, action: { minutes: Math.min(20, s.jobTimeoutMinutes) }, connection: { minutes: 2 } },
    priority: 'medium',
    visibility: 'public',
    ...(cell.hypervisor.tags?.length ? { tags: cell.hypervisor.tags } : {}),
    context: {
      arch: 'arm64',
      machine: machineOption(cell),
      cpu: s.cpu,
      memory: s.memoryMiB,
      // virt has no IDE bus: LAVA's test-shell disk (lava-guest.qcow2) goes on virtio.
      guestfs_interface: 'virtio',
      // The guest uploads the bundle: user-mode networking reaches the lab's store through the worker.
      netdevice: 'user',
    },
    metadata,
    actions: [
      {
        deploy: {
          to: 'tmpfs',
          timeout: { minutes: Math.min(20, s.jobTimeoutMinutes) },
          images: {
            firmware_code: download(cell.firmware.code, '-drive if=pflash,format=raw,unit=0,readonly=on,file={firmware_code}'),
            // LAVA downloads a fresh copy per job: each job starts from the pristine variable store.
            firmware_vars: download(cell.firmware.vars, '-drive if=pflash,format=raw,unit=1,file={firmware_vars}'),
            disk: download(image, `-drive if=virtio,format=${image.format},file={disk}`, image.compression ? { compression: image.compression } : {}),
            evidence: download({ url: s.evidenceDisk }, '-drive if=virtio,format=raw,file={evidence}'),
          },
        },
      },
      { boot },
      { test: { timeout: { minutes: Math.min(30, s.jobTimeoutMinutes) }, definitions: [guestDef] } },
      {
        test: {
          timeout: { minutes: Math.min(15, s.jobTimeoutMinutes) },
          docker: { image: s.verdict.image, ...(s.verdict.local ? { local: true } : {}) },
          definitions: [verdictDef],
        },
      },
    ],
  };
  return { slug, fileName: `${slug}.yaml`, collects: 'shell', ...urls, metadata, definition, scripts: { guest }, guestStep, verdictStep };
}
