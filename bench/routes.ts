import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timingOf, type Measurement, type Unavailable } from './harness.js';

/**
 * A route: the commands one tool chain runs to answer a question, in order
 * (e.g. `sgdisk -v` then `mdir`). Timed as one unit, wall clock, output
 * discarded; each step must exit with one of `okExit`.
 */
export interface Route {
  name: string;
  steps: string[][];
  /** Exit codes that mean the step ran (vmspec verify: 0 pass, 1 a clause failed). Default [0]. */
  okExit?: number[];
  /** Receives the last step's standard output after every timed run (e.g. to read the run's own durationMs). */
  capture?: (stdout: string) => void;
  /** Extra environment for every step. */
  env?: Record<string, string>;
  /** Variables removed from the environment for every step (e.g. NODE_EXTRA_CA_CERTS, which makes every Node start load certificates). */
  envUnset?: string[];
  /** Set when the route cannot run here at all: measured as unavailable with this reason. */
  unavailable?: string;
}

/** The environment a route's steps run in. */
export function routeEnv(route: Pick<Route, 'env' | 'envUnset'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...route.env };
  for (const name of route.envUnset ?? []) delete env[name];
  return env;
}

function runStep(argv: string[], route: Route, keepStdout = false): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
    env: routeEnv(route),
  });
  if (r.error) return { status: null, stdout: '', stderr: r.error.message };
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr };
}

/** Run every step once; the first failure, in one line, or undefined. */
function failureOf(route: Route): string | undefined {
  for (const step of route.steps) {
    const r = runStep(step, route);
    if (r.status === null || !(route.okExit ?? [0]).includes(r.status)) {
      const why = r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.status}`;
      return `${step[0]} failed: ${why}`;
    }
  }
  return undefined;
}

/**
 * Time routes side by side: one untimed run each (warms the page cache and
 * checks the route works), then `rounds` rounds, each running every route
 * once in turn, so load from other processes falls on all of them alike.
 */
export function compareRoutes(routes: Route[], rounds: number): Map<string, Measurement> {
  const out = new Map<string, Measurement>();
  const live: Route[] = [];
  for (const r of routes) {
    const why = r.unavailable ?? failureOf(r);
    if (why) out.set(r.name, { unavailable: why });
    else live.push(r);
  }
  const samples = new Map<string, number[]>(live.map((r) => [r.name, []]));
  for (let i = 0; i < rounds; i++) {
    for (const r of live) {
      const t0 = performance.now();
      let last = '';
      r.steps.forEach((step, n) => {
        last = runStep(step, r, r.capture !== undefined && n === r.steps.length - 1).stdout;
      });
      samples.get(r.name)!.push(performance.now() - t0);
      r.capture?.(last);
    }
  }
  for (const r of live) out.set(r.name, timingOf(samples.get(r.name)!));
  return out;
}

let straceChecked: string | false | undefined;

/** Why strace cannot count bytes here, or false. */
export function straceUnavailable(): string | false {
  if (straceChecked === undefined) {
    const r = spawnSync('strace', ['-qq', '-e', 'trace=read', '-o', '/dev/null', '--', 'true'], { encoding: 'utf8' });
    straceChecked = r.error ? 'strace is not installed' : r.status !== 0 ? `strace does not run here: ${r.stderr.trim().split('\n').pop()}` : false;
  }
  return straceChecked;
}

const READ_LINE = /^(?:read|pread64|readv|preadv|preadv2)\(\d+<([^>]*)>,.*\)\s+=\s+(\d+)/;

/**
 * Bytes a route reads from one file, as the kernel saw them: every step runs
 * under `strace -f` (threads and children too) with file descriptors decoded
 * to paths (-y), and the results of read/pread/readv calls on that file are
 * summed. mmap'ed access would not show; none of these tools maps images.
 */
export function bytesReadFrom(route: Route, file: string): number | Unavailable {
  const no = route.unavailable ?? straceUnavailable();
  if (no) return { unavailable: no };
  const target = realpathSync(file);
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-bench-strace-'));
  try {
    let total = 0;
    route.steps.forEach((step, i) => {
      const prefix = join(dir, `step${i}`);
      const r = spawnSync('strace', ['-ff', '-qq', '-y', '-s', '0', '-e', 'trace=read,pread64,readv,preadv,preadv2', '-o', prefix, '--', ...step], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: routeEnv(route) });
      if (r.error || r.status === null || !(route.okExit ?? [0]).includes(r.status)) throw new Error(`strace ${step.join(' ')}: ${r.stderr.trim().split('\n').pop()}`);
      for (const f of readdirSync(dir).filter((n) => n.startsWith(`step${i}.`))) {
        for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
          const m = READ_LINE.exec(line);
          if (m && m[1] === target) total += Number(m[2]);
        }
      }
    });
    return total;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
