import { join } from 'node:path';
import type { GuestAgent } from '../types.js';
import { buildNoCloudSeed } from './seed.js';

/** The guest runs the collector through cloud-init: one NoCloud seed per boot, so its new instance-id makes cloud-init run again after the power cycle. */
export function cloudInitAgent(): GuestAgent {
  return {
    kind: 'cloud-init',
    seed: async (dir, boot) => (await buildNoCloudSeed({ outDir: join(dir, `${boot.name.replace(/\s+/g, '')}-seed`) })).path,
  };
}
