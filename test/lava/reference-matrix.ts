import { generateJobs, type GenerateInput } from '../../lava/generate.js';
import type { GeneratedJob } from '../../lava/job.js';
import { parseMatrix } from '../../lava/matrix.js';
import type { SpecSet } from '../../requirements/spec-load.js';

/**
 * The matrix the lab runs (issue #16): the built-in reference (a console job),
 * AAVMF, GICv2 and GICv3, ACPI and DT; `more` adds image lines (e.g. a cloud
 * image with a login shell).
 */
export function referenceMatrix(image = '/srv/vmspec/reference.img', more: string[] = []): string {
  return `images:
  - { name: reference, url: ${image}, collects: console }
${more.map((l) => `  - ${l}\n`).join('')}firmware:
  - name: aavmf
    code: { url: /usr/share/AAVMF/AAVMF_CODE.fd }
    vars: { url: /usr/share/AAVMF/AAVMF_VARS.fd }
gic: [2, 3]
acpi: [true, false]
`;
}

type Settings = GenerateInput['settings'];

/** The jobs of a matrix for the evidence clauses of `spec` (or `requirements`), with lab settings a test overrides where it looks. */
export function labJobs(o: { matrix: string; specName: string; spec: SpecSet; requirements?: SpecSet['requirements']; settings?: Partial<Settings> }): GeneratedJob[] {
  return generateJobs({
    matrix: parseMatrix(o.matrix, 'matrix.yaml'),
    specName: o.specName,
    spec: o.spec,
    requirements: o.requirements ?? o.spec.requirements.filter((r) => r.probe?.startsWith('evidence.')),
    settings: {
      artifacts: '',
      runId: 'run-1',
      evidenceDisk: '',
      verdict: { image: 'vmspec:0.1.0', local: false },
      login: { prompts: ['# '], username: 'root', loginPrompt: 'login:', passwordPrompt: 'Password:' },
      cpu: 'cortex-a57',
      memoryMiB: 1024,
      jobTimeoutMinutes: 60,
      consoleFrame: true,
      toolVersion: '0.1.0',
      ...o.settings,
    },
  });
}
