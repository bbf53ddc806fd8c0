import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { packageRoot, specRoot } from '../package/paths.js';
import type { Requirement } from '../requirements/requirement.js';
import type { SpecSet } from '../requirements/spec-load.js';
import { LavaJobError } from './errors.js';
import { buildJob, type GeneratedJob, type JobSettings } from './job.js';
import { expandMatrix, type Matrix } from './matrix.js';
import { testCaseNames } from './names.js';

export const COLLECTOR_PATH = join(packageRoot, 'probes', 'guest', 'collect.sh');

/** Run ids go into URLs and metadata: a safe, short token. */
export function checkRunId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) throw new LavaJobError(`--run-id "${id.slice(0, 80)}" must be 1-64 letters, digits, dots, underscores or hyphens, starting with a letter or digit`);
  return id;
}

/** A fresh run id: UTC time plus randomness, so two generations never share upload URLs. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
}

/**
 * The verdict container has only vmspec's built-in specs, so the spec must
 * be named, not a directory of this machine.
 */
export function builtInSpecName(name: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name) || !existsSync(join(specRoot, name, 'spec.yaml'))) {
    throw new LavaJobError(`--spec ${name}: lava-job needs a built-in spec name (e.g. vmspec-v2), because the verdict container judges with its own copy of vmspec's specs`);
  }
  return name;
}

export interface GenerateInput {
  matrix: Matrix;
  specName: string;
  spec: SpecSet;
  requirements: Requirement[];
  settings: Omit<JobSettings, 'spec' | 'cases' | 'collector'>;
}

/** Every job of the matrix, or a usage error before anything is written. */
export function generateJobs(input: GenerateInput): GeneratedJob[] {
  if (!input.requirements.length) throw new LavaJobError('the selection leaves no requirement to judge; widen --only/--profile/--target');
  const cases = testCaseNames(input.requirements.map((r) => r.id));
  const collector = readFileSync(COLLECTOR_PATH, 'utf8');
  const settings: JobSettings = {
    ...input.settings,
    spec: { name: input.specName, id: input.spec.id, version: input.spec.version },
    cases,
    collector,
  };
  const jobs = expandMatrix(input.matrix).map((cell) => buildJob(cell, settings));
  const seen = new Map<string, string>();
  for (const j of jobs) {
    const other = seen.get(j.slug);
    if (other) throw new LavaJobError(`two matrix cells get the same job name "${j.slug}" (${other} and ${j.definition.job_name}); make the image, firmware and hypervisor names differ in more than punctuation`);
    seen.set(j.slug, j.definition.job_name);
  }
  return jobs;
}
