import type { DiskFormat } from '../probes/image/disk-format.js';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROBE_TABLE } from '../probes/table.js';
import { writeAtomic } from '../reports/write.js';
import { select, selects } from '../engine/select.js';
import { loadSpecOrThrow } from '../requirements/spec-load.js';
import { TOOL_VERSION } from '../package/version.js';
import type { Selection } from '../engine/results.js';
import { jobYaml } from './emit.js';
import { createShellJobEvidenceDisk } from './evidence-disk.js';
import { LavaJobError } from './errors.js';
import { builtInSpecName, checkRunId, generateJobs, newRunId } from './generate.js';
import type { GeneratedJob } from './job.js';
import { loadMatrix, WORKER_QEMU, type GicVersion, type Matrix } from './matrix.js';
import { artifactsBase, checkSha256, compressionOf, formatOf, workerUrl } from './sources.js';

const DEFAULT_PROMPT = 'root@[^ ]*:.*# ';

/** What `vmspec lava-job` is asked for: sources as typed (URLs or paths), numbers parsed. */
export interface LavaJobRequest {
  image?: string;
  imageSha256?: string;
  imageFormat?: DiskFormat;
  firmware?: string;
  firmwareSha256?: string;
  vars?: string;
  varsSha256?: string;
  gic?: '2' | '3' | 'both';
  acpi?: boolean;
  matrix?: string;
  spec: string;
  selection: Selection;
  /** Needed by shell jobs only (the guest uploads there); console jobs carry the bundle in the job log. */
  artifacts?: string;
  runId?: string;
  evidenceDisk?: string;
  output?: string;
  verdictImage: string;
  verdictImageLocal?: boolean;
  /** Console jobs: the LAVA server as the worker's containers reach it; adds the verdict step. */
  lavaUrl?: string;
  prompt?: string[];
  login: string;
  password?: string;
  cpu: string;
  memoryMiB: number;
  jobTimeoutMinutes: number;
  consoleFrame: boolean;
}

/** The one-cell-per-axis matrix the single-job options describe. */
export function matrixFromFlags(o: LavaJobRequest): Matrix {
  const missing = (['image', 'firmware', 'vars'] as const).filter((k) => !o[k]);
  if (missing.length) throw new LavaJobError(`missing ${missing.map((k) => `--${k}`).join(', ')}: give --image, --firmware and --vars, or a --matrix file`);
  const imageUrl = workerUrl(o.image!, '--image');
  const compression = compressionOf(imageUrl);
  const sha = (v: string | undefined, what: string) => (v ? { sha256: checkSha256(v, what) } : {});
  return {
    images: [{ name: 'image', url: imageUrl, format: o.imageFormat ?? formatOf(imageUrl), ...(compression ? { compression } : {}), ...sha(o.imageSha256, '--image-sha256') }],
    firmware: [{ name: 'firmware', code: { url: workerUrl(o.firmware!, '--firmware'), ...sha(o.firmwareSha256, '--firmware-sha256') }, vars: { url: workerUrl(o.vars!, '--vars'), ...sha(o.varsSha256, '--vars-sha256') } }],
    gic: o.gic === 'both' ? [2, 3] : [Number(o.gic ?? '3') as GicVersion],
    acpi: [o.acpi ?? true],
    hypervisors: [WORKER_QEMU],
  };
}

function matrixOf(o: LavaJobRequest): Matrix {
  if (!o.matrix) return matrixFromFlags(o);
  const clash = (['image', 'imageSha256', 'imageFormat', 'firmware', 'firmwareSha256', 'vars', 'varsSha256', 'gic', 'acpi'] as const).filter((k) => o[k] !== undefined);
  if (clash.length) {
    const flag = (k: string) => `--${k === 'acpi' ? 'acpi/--no-acpi' : k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new LavaJobError(`--matrix lists the images, firmware, GIC and ACPI settings itself; drop ${clash.map(flag).join(', ')} or put them in the matrix file`);
  }
  return loadMatrix(o.matrix);
}

export async function runLavaJob(o: LavaJobRequest): Promise<void> {
  const specName = builtInSpecName(o.spec);
  const runId = o.runId !== undefined ? checkRunId(o.runId) : newRunId();
  const matrix = matrixOf(o);
  const shellJobs = matrix.images.some((i) => i.collects !== 'console');
  if (shellJobs && !o.artifacts && o.lavaUrl === undefined) throw new LavaJobError('give --lava-url URL (the verdict step reads the bundle from the job log) or --artifacts URL (the guest uploads the bundle there): images that LAVA logs into need one (only images with collects: console need neither)');
  if (shellJobs && o.lavaUrl !== undefined && !o.consoleFrame) throw new LavaJobError('--no-console-frame with --lava-url: shell jobs then carry the bundle in the job log only, as the console frame; drop --no-console-frame');
  // Console jobs upload nothing: the base only names where shell jobs would put theirs.
  const artifacts = o.artifacts ? artifactsBase(o.artifacts) : '';
  if (shellJobs && !o.output && !o.evidenceDisk) throw new LavaJobError('give --output DIR (the evidence disk is written there) or --evidence-disk URL');

  const spec = loadSpecOrThrow(specName);
  // By default, the clauses a guest's evidence decides: the rest would all be "needs a disk image" skips.
  const evidenceProbes = new Set(PROBE_TABLE.filter((p) => p.input === 'evidence').map((p) => p.name));
  const requirements = selects(o.selection)
    ? select(spec.requirements, o.selection)
    : spec.requirements.filter((r) => r.probe !== undefined && evidenceProbes.has(r.probe));

  const outDir = o.output ? resolve(o.output) : undefined;
  const evidenceDisk = o.evidenceDisk ? workerUrl(o.evidenceDisk, '--evidence-disk') : outDir ? pathToFileURL(join(outDir, 'evidence-disk.img')).href : '';
  const jobs = generateJobs({
    matrix,
    specName,
    spec,
    requirements,
    settings: {
      artifacts,
      runId,
      evidenceDisk,
      verdict: { image: checkDockerImage(o.verdictImage), local: o.verdictImageLocal ?? false, ...(o.lavaUrl !== undefined ? { lavaUrl: lavaServerUrl(o.lavaUrl) } : {}) },
      login: { prompts: o.prompt?.length ? o.prompt : [DEFAULT_PROMPT], username: o.login, ...(o.password !== undefined ? { password: o.password } : {}), loginPrompt: 'login:', passwordPrompt: 'Password:' },
      cpu: checkCpu(o.cpu),
      memoryMiB: o.memoryMiB,
      jobTimeoutMinutes: o.jobTimeoutMinutes,
      consoleFrame: o.consoleFrame,
      toolVersion: TOOL_VERSION,
    },
  });
  const header = (j: GeneratedJob) => `Generated by vmspec ${TOOL_VERSION} lava-job (run ${runId}): ${j.definition.job_name}\nSubmit: lavacli jobs submit FILE. Results: ${j.resultsUrl ?? 'the job log (console frame): scripts/lava-results.sh'}`;

  if (!outDir) {
    if (jobs.length !== 1) throw new LavaJobError(`the matrix gives ${jobs.length} jobs; give --output DIR to write them`);
    process.stdout.write(jobYaml(jobs[0]!.definition, header(jobs[0]!)));
    return;
  }
  mkdirSync(outDir, { recursive: true });
  // The shell jobs' guest script (the same for all of them) rides on the evidence disk.
  const guest = jobs.find((j) => j.scripts)?.scripts?.guest;
  if (guest && !o.evidenceDisk) createShellJobEvidenceDisk(join(outDir, 'evidence-disk.img'), guest);
  for (const j of jobs) writeAtomic(join(outDir, j.fileName), jobYaml(j.definition, header(j)));
  writeAtomic(join(outDir, 'index.json'), `${JSON.stringify({
    tool: { name: 'vmspec', version: TOOL_VERSION },
    run: runId,
    spec: { name: specName, id: spec.id, version: spec.version },
    artifacts,
    ...(shellJobs ? { evidenceDisk } : {}),
    requirements: requirements.map((r) => r.id),
    jobs: jobs.map((j) => ({ file: j.fileName, slug: j.slug, jobName: j.definition.job_name, collects: j.collects, ...(j.bundleUrl ? { bundle: j.bundleUrl, results: j.resultsUrl } : {}), metadata: j.metadata })),
  }, null, 2)}\n`);
  for (const j of jobs) process.stdout.write(`${join(outDir, j.fileName)}\n`);
  process.stderr.write(`vmspec: ${jobs.length} LAVA job(s), ${requirements.length} requirement(s) each, in ${outDir} (index.json ties jobs to bundles and results)\n`);
}

/** LAVA's own pattern for docker image names (lava_common.schemas.docker_image_format_pattern). */
function checkDockerImage(image: string): string {
  if (!/^[a-z0-9]+[a-z0-9._/:-]*[a-z0-9]+(:[a-zA-Z0-9_]+[a-zA-Z0-9._-]*)?$/.test(image)) {
    throw new LavaJobError(`--verdict-image "${image.slice(0, 80)}" is not a docker image name LAVA accepts (lower-case name[:tag])`);
  }
  return image;
}

/** --lava-url: an http(s) base URL, ending with /, that the job's shell can quote safely. */
function lavaServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new LavaJobError(`--lava-url "${text.slice(0, 80)}" is not a URL; give the LAVA server's address as the worker's containers reach it, e.g. http://lava.lab/`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LavaJobError(`--lava-url: ${url.protocol} is not http:// or https://`);
  if (url.search || url.hash || url.username || url.password) throw new LavaJobError('--lava-url takes the server\'s base URL only: no query, fragment or credentials (public jobs need no token)');
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** -cpu goes onto QEMU's command line through LAVA's template: one plain word. */
function checkCpu(cpu: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._,=+-]*$/.test(cpu)) throw new LavaJobError(`--cpu "${cpu.slice(0, 80)}" must be a QEMU CPU model (letters, digits, . _ , = + -)`);
  return cpu;
}
