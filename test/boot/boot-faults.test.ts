/**
 * Real hypervisor and firmware faults under `vmspec boot` (built CLI, real
 * QEMU, real firmware from Debian): a boot that cannot happen is a verdict,
 * the other boot still runs, the report is written, exit 1, nothing is left.
 *
 *   a hypervisor refusing gic-version=2 (a --qemu wrapper, as KVM on a GICv3-only host):
 *       fails exactly V2-PLAT-GICV2, with QEMU's message; the GICv3 boot is judged
 *   a truncated firmware (the first 512 KiB of QEMU_EFI.fd, padded to the 64 MiB pflash):
 *       QEMU starts, no OS ever does; fails exactly V2-FW-UEFI
 *
 * One run each, shared by all assertions on it. The shipped waiver file
 * waives AAVMF's known DT-table deviation, so only the fault's clauses fail.
 */
import t from 'tap';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { vmspec, type CliRun } from '../cli/cli-runner.js';
import { repoRoot } from '../fixtures/cache.js';
import { findQemu } from '../../boot/qemu-run.js';
import { realBootSkip } from '../fixtures/real-boot-skip.js';
import { qemuUnder } from './qemu-processes.js';

const QEMU = findQemu();
const QEMU_EFI = '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';
const { skip, fw: AAVMF } = realBootSkip();
const WAIVERS = join(repoRoot, 'waivers', 'known-firmware-deviations.yaml');
const REFUSAL = 'qemu-system-aarch64: gic-version=2 is not supported on this host (GICv3 without GICv2 compatibility)';

interface Failure { kind: string; reason: string; hypervisorMessage: string | null; serialTail: string }
interface Results {
  exitCode: number;
  warnings?: string[];
  boot: { workDir: string | null; boots: { name: string; gic: number; phase: string; exitCode: number | null; timedOut: boolean; durationMs: number; failure: Failure | null; evidence: unknown }[] };
  results: { id: string; status: string; message: string; observed: unknown; runs?: { run: string; status: string; message: string }[] }[];
}

const failing = (r: Results) => r.results.filter((x) => x.status === 'fail').map((x) => x.id).sort();
const result = (r: Results, id: string) => r.results.find((x) => x.id === id)!;

function validates(json: unknown): boolean {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schema', 'results.schema.json'), 'utf8')))(json) as boolean;
}

/** One `vmspec boot` into `dir/work`, its JSON report beside it. */
function boot(dir: string, args: string[]): { cli: CliRun; res: Results; workDir: string; ms: number } {
  const workDir = join(dir, 'work');
  mkdirSync(workDir);
  const out = join(dir, 'results.json');
  const started = Date.now();
  const cli = vmspec(['boot', '--format', 'json', '-o', out, '--work-dir', workDir, '--waivers', WAIVERS, ...args]);
  const ms = Date.now() - started;
  t.comment(`vmspec boot ${args.join(' ')}: exit ${cli.status} after ${(ms / 1000).toFixed(1)} s${cli.status === 1 ? '' : `\n${cli.stderr}`}`);
  return { cli, res: JSON.parse(readFileSync(out, 'utf8')) as Results, workDir, ms };
}

function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'vmspec-boot-faults-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('a hypervisor that refuses a GICv2: V2-PLAT-GICV2 fails with its words, the GICv3 boot is judged', { skip }, async (t) => {
  const dir = scratch();
  const wrapper = join(dir, 'qemu-without-gicv2');
  writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do case "$a" in *gic-version=2*) echo "${REFUSAL}" >&2; exit 1;; esac; done\nexec ${QEMU} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const { cli, res, workDir } = boot(dir, ['--qemu', wrapper]);

  t.equal(cli.status, 1, 'exit 1: a MUST clause failed');
  t.equal(res.exitCode, 1);
  t.ok(validates(res), 'the report validates against schema/results.schema.json');
  t.match(cli.stderr, /boot 1 \(ACPI, GICv2\): the hypervisor refused this configuration/);
  t.match(cli.stderr, REFUSAL, 'QEMU\'s words on stderr');

  t.same(failing(res), ['V2-PLAT-GICV2'], 'only the GICv2 clause fails');
  const gicv2 = result(res, 'V2-PLAT-GICV2');
  t.match(gicv2.message, REFUSAL, 'with QEMU\'s message in the result');
  t.match(gicv2.observed, { boot: 'boot 1', failure: { kind: 'hypervisor-refused', hypervisorMessage: REFUSAL } });
  t.equal(result(res, 'V2-PLAT-GICV3').status, 'pass', 'the GICv3 boot still ran and is judged');
  t.equal(result(res, 'V2-HW-ACPI-COMPLETE').status, 'pass', 'ACPI is shown by boot 2: not blamed on the refusal');

  const [b1, b2] = res.boot.boots;
  t.match(b1, { name: 'boot 1', gic: 2, exitCode: 1, timedOut: false, evidence: null, failure: { kind: 'hypervisor-refused', serialTail: '' } });
  t.match(b2, { name: 'boot 2', gic: 3, exitCode: 0, failure: null, phase: 'write' }, 'boot 2 writes the variable boot 1 never wrote');
  t.ok(res.warnings?.some((w) => /instead of checking it/.test(w)), 'the warning says persistence is not judged');
  t.equal(result(res, 'V2-FW-VARS-PERSIST').status, 'undecided', 'persistence is not judged from a variable nobody wrote: undecided (the write boot failed)');
  t.equal(result(res, 'V2-FW-VARS-PERSIST-HOST').status, 'undecided', 'the host cannot judge a persistence test that did not happen (persistence.checked is a needs)');

  t.same(qemuUnder(dir), [], 'no QEMU left running');
  t.same(readdirSync(workDir), [], 'the run\'s work directory was removed');
});

t.test('a firmware that never starts an OS: V2-FW-UEFI fails, QEMU stopped, nothing left', { skip: skip || (AAVMF === undefined ? 'AAVMF not found' : false) }, async (t) => {
  const dir = scratch();
  // Real firmware cut short: SEC starts and prints its banner, then finds no DXE core.
  const truncated = join(dir, 'truncated-QEMU_EFI.fd');
  const fd = openSync(QEMU_EFI, 'r');
  const head = Buffer.alloc(512 * 1024);
  readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  writeFileSync(truncated, head);
  const { cli, res, workDir } = boot(dir, ['--firmware', truncated, '--vars-template', AAVMF!.varsTemplate, '--timeout', '20']);

  t.equal(cli.status, 1, 'exit 1');
  t.ok(validates(res), 'the report validates');
  t.same(failing(res), ['V2-FW-UEFI'], 'only the firmware clause fails');
  t.match(result(res, 'V2-FW-UEFI').message, /never handed over to an OS loader.*no boot of this run started an operating system/);
  t.match(result(res, 'V2-FW-UEFI').message, /Last lines on the UART: UEFI firmware/, 'the serial tail as evidence');
  for (const id of ['V2-PLAT-GICV2', 'V2-PLAT-GICV3', 'V2-HW-ACPI-COMPLETE']) {
    t.equal(result(res, id).status, 'undecided', `${id} is undecided, not failed: the hypervisor refused nothing`);
    t.match(result(res, id).message, /undecided: boot \d/);
  }
  t.equal(result(res, 'V2-PLAT-UART-HOST').status, 'undecided', 'the UART is not judged without an OS');
  for (const b of res.boot.boots) t.match(b, { timedOut: true, failure: { kind: 'no-os' } }, `${b.name}: timed out without an OS`);
  t.notMatch(JSON.stringify(res.boot.boots.map((b) => b.failure?.hypervisorMessage)), /terminating on signal/, 'our own stop is not quoted as the hypervisor\'s words');
  t.match(readFileSync(truncated).length, 512 * 1024, 'the firmware file itself was not padded in place');
  t.same(qemuUnder(dir), [], 'no QEMU left running');
  t.same(readdirSync(workDir), [], 'the work directory, with its padded code copy, was removed');
});
