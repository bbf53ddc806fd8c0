import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/cache.js';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI (bin/vmspec.js → dist/) as a user would, without a TTY. */
export function vmspec(args: string[], opts: { bin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', opts.bin ?? 'vmspec.js'), ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...opts.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
