import { Worker } from 'node:worker_threads';

/**
 * Catches the one failure a synchronous parser cannot report itself: an
 * endless loop. The fuzz loop publishes the running case in shared memory;
 * a worker thread (plain JS, so it needs no TypeScript loader) watches the
 * clock and, when one case outlives `hangMs`, writes the case to stderr
 * and to `reportFile` with a direct fd write (the blocked main thread
 * cannot relay output), then kills the process so the run fails loudly
 * instead of sitting until the tap timeout.
 */

const CASE_BYTES = 256 * 1024;

const WORKER = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { clock, len, text, hangMs, reportFile } = workerData;
const started = new Float64Array(clock);
const length = new Int32Array(len);
const bytes = new Uint8Array(text);
setInterval(() => {
  const t0 = started[0];
  if (t0 === 0 || Date.now() - t0 < hangMs) return;
  const json = Buffer.from(bytes.subarray(0, Atomics.load(length, 0))).toString('utf8');
  try { fs.mkdirSync(require('node:path').dirname(reportFile), { recursive: true }); fs.writeFileSync(reportFile, json); } catch {}
  fs.writeSync(2, '\\nfuzz watchdog: one case ran longer than ' + hangMs + ' ms (an endless loop?). Case: ' + json.slice(0, 2000)
    + '\\nSaved to ' + reportFile + ': copy it to test/fixtures/regressions/ (add "target" and "bug") to replay it.\\n');
  process.kill(process.pid, 'SIGKILL');
}, 200).unref();
`;

export class Watchdog {
  readonly #started = new Float64Array(new SharedArrayBuffer(8));
  readonly #length = new Int32Array(new SharedArrayBuffer(4));
  readonly #text = new Uint8Array(new SharedArrayBuffer(CASE_BYTES));
  readonly #worker: Worker;

  constructor(hangMs: number, reportFile: string) {
    this.#worker = new Worker(WORKER, {
      eval: true,
      // The test runner's loader flags are not needed by the plain-JS watcher.
      execArgv: [],
      workerData: { clock: this.#started.buffer, len: this.#length.buffer, text: this.#text.buffer, hangMs, reportFile },
    });
    this.#worker.unref();
  }

  /** Mark `caseJson` as running from now. */
  begin(caseJson: string): void {
    const enc = Buffer.from(caseJson.length > CASE_BYTES / 4 ? `${caseJson.slice(0, CASE_BYTES / 4)}…(cut)` : caseJson, 'utf8');
    const n = Math.min(enc.length, CASE_BYTES);
    this.#text.set(enc.subarray(0, n));
    Atomics.store(this.#length, 0, n);
    this.#started[0] = Date.now();
  }

  end(): void {
    this.#started[0] = 0;
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}
