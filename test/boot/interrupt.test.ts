/**
 * Interrupting `vmspec boot` the way users and scripts do, with real QEMU
 * and real signals: vmspec is started by a plain `/bin/sh` script (output to
 * files, `kill` then `wait`) or by Python's subprocess with piped output, in
 * an environment without tap's preloads (NODE_OPTIONS, which tap's
 * processinfo adds back to every child's environment: hence `env -u`). Its
 * preload installs signal-exit listeners early and so once hid a bug: vmspec
 * died by the signal itself, printing nothing and leaving its files behind.
 *
 *   sh, SIGINT     while the image downloads (from a local http server that stalls)
 *   sh, SIGTERM    boot 1 running (its serial log has output)
 *   python, SIGINT boot 1 running, and SIGINT again 0.2 s later (during cleanup)
 *   python, SIGTERM  boot 1 has powered off (its evidence being evaluated, or boot 2 being set up)
 *
 * Each case: exit 130 / 143 as the driver sees it, vmspec's own message, no
 * report, no QEMU of the run alive, nothing left in --work-dir. One boot at most.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { repoRoot } from '../fixtures/cache.js';
import { findAavmf, findQemu } from '../../boot/qemu-run.js';
import { qemuUnder } from './qemu-processes.js';

const skip = findQemu() === undefined ? 'qemu-system-aarch64 not found' : findAavmf() === undefined ? 'AAVMF not found' : !existsSync('/usr/bin/python3') ? 'no /usr/bin/python3' : process.env.VMSPEC_SKIP_BOOT ? 'VMSPEC_SKIP_BOOT is set' : false;
const BIN = join(repoRoot, 'bin', 'vmspec.js');
const WAIT_MS = 300_000;

type Sig = 'SIGINT' | 'SIGTERM';
const EXIT: Record<Sig, number> = { SIGINT: 130, SIGTERM: 143 };

/** The environment of a user's shell: none of tap's preloads or settings. */
function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'NODE_OPTIONS' && !/^_?TAP/i.test(k)) env[k] = v;
  return env;
}

/** Prints vmspec's pid, waits for a line on stdin, signals it (twice with TWICE=1), waits, prints its exit status. */
const SH_DRIVER = `
"$NODE" "$BIN" boot $EXTRA --gic 3 --work-dir "$WORK" >"$LOGS/stdout" 2>"$LOGS/stderr" &
pid=$!
echo "pid=$pid"
read go
kill -s "$SIG" "$pid"
if [ -n "$TWICE" ]; then sleep 0.2; kill -s "$SIG" "$pid" 2>/dev/null; fi
wait "$pid"
echo "rc=$?"
`;

const PY_DRIVER = `
import json, os, signal, subprocess, sys, time
p = subprocess.Popen([os.environ["NODE"], os.environ["BIN"], "boot"] + os.environ.get("EXTRA", "").split() + ["--gic", "3", "--work-dir", os.environ["WORK"]],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
print("pid=%d" % p.pid, flush=True)
sys.stdin.readline()
sig = getattr(signal, os.environ["SIG"])
p.send_signal(sig)
if os.environ.get("TWICE"):
    time.sleep(0.2)
    if p.poll() is None:
        p.send_signal(sig)
out, err = p.communicate()
with open(os.path.join(os.environ["LOGS"], "stdout"), "wb") as f: f.write(out)
with open(os.path.join(os.environ["LOGS"], "stderr"), "wb") as f: f.write(err)
print("rc=%d" % p.returncode, flush=True)
`;

/** When to signal: a moment of the run, recognised from outside as a user could. */
type Moment = (pid: number, work: string) => boolean;

/**
 * An http server that sends the first MiB of an image and then stalls: vmspec
 * is obtaining the image from the moment the request arrives.
 */
async function stallingServer(t: Test): Promise<{ url: string; requested: () => boolean }> {
  let requested = false;
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    requested = true;
    res.writeHead(200, { 'content-length': String(64 << 20) });
    res.write(Buffer.alloc(1 << 20));
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/disk.img`, requested: () => requested };
}

/** A file of the run's instance directory (vmspec-boot-* under --work-dir). */
function instanceFile(work: string, name: string): string | undefined {
  const inst = readdirSync(work).find((d) => d.startsWith('vmspec-boot-'));
  return inst === undefined ? undefined : join(work, inst, name);
}

/** Boot 1's QEMU runs and the firmware has written to the serial log. */
const bootOneRunning: Moment = (_pid, work) => {
  const log = instanceFile(work, 'boot1-serial.log');
  return log !== undefined && existsSync(log) && statSync(log).size > 0 && qemuUnder(work).length > 0;
};

/** Boot 1's QEMU was seen and has exited, vmspec still runs: boot 1's evidence is being evaluated, or boot 2 set up. */
function bootOnePoweredOff(): Moment {
  let seen: number[] = [];
  return (_pid, work) => {
    if (seen.length === 0) {
      seen = qemuUnder(work);
      return false;
    }
    return seen.every((q) => !existsSync(`/proc/${q}`));
  };
}

interface Case {
  name: string;
  /** Serve the image from a stalling http server (the obtain phase). */
  download?: boolean;
  driver: 'sh' | 'python';
  sig: Sig;
  twice?: boolean;
  when?: Moment;
}

const cases: Case[] = [
  { name: 'sh, SIGINT while downloading the image', driver: 'sh', sig: 'SIGINT', download: true },
  { name: 'sh, SIGTERM during boot 1', driver: 'sh', sig: 'SIGTERM', when: bootOneRunning },
  { name: 'python pipes, SIGINT twice during boot 1', driver: 'python', sig: 'SIGINT', twice: true, when: bootOneRunning },
  { name: 'python pipes, SIGTERM after boot 1 powered off', driver: 'python', sig: 'SIGTERM', when: bootOnePoweredOff() },
];

for (const c of cases) {
  t.test(c.name, { skip }, async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'vmspec-interrupt-work-'));
    const logs = mkdtempSync(join(tmpdir(), 'vmspec-interrupt-logs-'));
    t.teardown(() => {
      for (const q of qemuUnder(work)) process.kill(q, 'SIGKILL');
      rmSync(work, { recursive: true, force: true });
      rmSync(logs, { recursive: true, force: true });
    });
    let when = c.when ?? (() => false);
    let extra = '';
    if (c.download) {
      const server = await stallingServer(t);
      const cache = mkdtempSync(join(tmpdir(), 'vmspec-interrupt-cache-'));
      t.teardown(() => rmSync(cache, { recursive: true, force: true }));
      extra = `${server.url} --sha256 ${'0'.repeat(64)} --cache-dir ${cache}`;
      when = server.requested;
    }
    const env = { ...plainEnv(), EXTRA: extra, NODE: process.execPath, BIN, WORK: work, LOGS: logs, SIG: c.sig.slice(3), ...(c.twice ? { TWICE: '1' } : {}) };
    if (c.driver === 'python') env.SIG = c.sig;
    // Through env -u: tap's processinfo puts its NODE_OPTIONS back into the env of every child this test spawns.
    const driverArgv = c.driver === 'sh' ? ['/bin/sh', '-c', SH_DRIVER] : ['/usr/bin/python3', '-c', PY_DRIVER];
    const driver = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', ...driverArgv], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: driver.stdout })[Symbol.asyncIterator]();
    const first = (await lines.next()).value as string;
    const pid = Number(/^pid=(\d+)$/.exec(first)?.[1]);
    t.ok(pid > 0, `vmspec started (${first})`);

    const deadline = Date.now() + WAIT_MS;
    let reached = false;
    while (Date.now() < deadline && existsSync(`/proc/${pid}`)) {
      try {
        if (when(pid, work)) {
          reached = true;
          break;
        }
      } catch {
        // a file or /proc entry vanished between looking and reading
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(reached, 'the moment to signal was reached while vmspec ran');
    const started = qemuUnder(work);
    driver.stdin.end('go\n');
    let rcLine = '';
    for (let l = await lines.next(); !l.done; l = await lines.next()) if (/^rc=/.test(l.value as string)) rcLine = l.value as string;
    const rc = Number(/^rc=(-?\d+)$/.exec(rcLine)?.[1]);

    // sh reports 128+n both for vmspec's own exit code and for a death by the signal; python tells them apart (-n).
    t.equal(rc, EXIT[c.sig], `exit ${EXIT[c.sig]} as ${c.driver} sees it`);
    const stderr = readFileSync(join(logs, 'stderr'), 'utf8');
    t.match(stderr, new RegExp(`^vmspec boot: interrupted by ${c.sig}`, 'm'), 'vmspec says it was interrupted');
    t.equal(readFileSync(join(logs, 'stdout'), 'utf8'), '', 'no report');
    t.same(started.filter((q) => existsSync(`/proc/${q}`)), [], 'the QEMU running at the signal is gone');
    t.same(qemuUnder(work), [], 'no QEMU of this run left');
    t.same(readdirSync(work), [], 'nothing left in --work-dir');
  });
}
