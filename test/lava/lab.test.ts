import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { referenceMatrix } from './reference-matrix.js';
import { LOGIN_VARIANT } from '../../boot/reference/build.js';

/**
 * The matrix through a real LAVA lab on this machine (scripts/lava-lab.sh):
 * the built-in reference × GICv2/GICv3 × ACPI/DT, submitted with lavacli,
 * results fetched from LAVA (test cases and job logs), judged with vmspec
 * verify --evidence, merged; each clause's verdict against `vmspec boot`
 * for the same cell. Then one shell job (the reference's login variant, GICv3 +
 * ACPI: LAVA logs in and runs the guest definition), its verdicts against the
 * console job and `vmspec boot` of that cell. Then the lab comes down while a
 * job runs, and no lab process (nor the job's lava-run and QEMU) is left.
 * Root only; installs LAVA's Debian packages (and docker.io) when missing.
 */

const ROOT = join(import.meta.dirname, '../..');
const VMSPEC = join(ROOT, 'bin/vmspec.js');
const LAB = join(ROOT, 'scripts/lava-lab.sh');
const RESULTS = join(ROOT, 'scripts/lava-results.sh');
const IDENTITY = process.env.VMSPEC_LAB_IDENTITY ?? 'vmspec-lab';
const skip = !process.env.VMSPEC_SLOW_TESTS
  ? 'set VMSPEC_SLOW_TESTS=1 to bring up a LAVA lab (with dockerd and the verdict image) and run a 4-cell matrix of console jobs and one shell job through it (about 15 min for the lab and jobs, plus 4 vmspec boots to compare; needs root)'
  : process.getuid?.() !== 0
    ? 'the LAVA lab needs root (VMSPEC_SLOW_TESTS is set)'
    : false;


interface Result { id: string; status: string; message?: string }
const resultsOf = (file: string): Result[] => (JSON.parse(readFileSync(file, 'utf8')) as { results: Result[] }).results;

/** Where lava-run keeps a job's files (its QEMU's disks): /var/lib/lava/dispatcher/tmp/JOB/. */
const DISPATCHER_TMP = '/var/lib/lava/dispatcher/tmp/';

/** Processes whose command line names a lab daemon (or our PostgreSQL cluster), or a LAVA job's QEMU. */
function labProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    const jobQemu = cmd.includes('qemu-system-aarch64') && cmd.includes(DISPATCHER_TMP);
    if (jobQemu || /lava_server\.wsgi|lava-scheduler|lava-publisher|lava-worker|lava-run|\/usr\/lib\/postgresql\/15\/bin\/postgres|dockerd|containerd|docker-init/.test(cmd)) found.push(`${pid} ${cmd.slice(0, 120)}`);
  }
  return found;
}

t.test('a LAVA lab on this machine runs the reference matrix end to end', { skip, timeout: 4 * 3600_000 }, async (t) => {
  const before = labProcesses();
  t.same(before, [], 'no lab runs before the test (else it could not prove down stops everything)');
  const work = mkdtempSync(join(tmpdir(), 'vmspec-lab-'));
  const LAB_DIR = join(work, 'lab-state');
  const env = { ...process.env, VMSPEC_LAB_DIR: LAB_DIR };
  t.teardown(() => {
    spawnSync(LAB, ['down'], { env, stdio: 'inherit' });
    rmSync(work, { recursive: true, force: true });
  });

  const image = execFileSync('node', [VMSPEC, 'reference', 'build'], { encoding: 'utf8' }).trim();
  const loginImage = execFileSync('node', [VMSPEC, 'reference', 'build', '--login'], { encoding: 'utf8' }).trim();
  const up = spawnSync(LAB, ['up'], { env, encoding: 'utf8' });
  t.equal(up.status, 0, `lava-lab.sh up: ${up.stderr.slice(-2000)}`);
  t.equal(spawnSync(LAB, ['status'], { env }).status, 0, 'status: every daemon runs, the device is registered');
  // Shell jobs' test overlays: libguestfs's appliance, as LAVA's apply-overlay-guest launches it.
  t.match(readFileSync(join(LAB_DIR, 'logs/guestfs-check.log'), 'utf8'), /appliance up, ext4 written and read back/, 'libguestfs can build LAVA\'s overlay disks');
  t.match(readFileSync('/etc/lava-server/dispatcher.d/vmspec-lab-worker/env.yaml', 'utf8'), /LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg'/, 'lava-run gets the backend settings that were checked');

  writeFileSync(join(work, 'matrix.yaml'), referenceMatrix(image));
  // The verdict step: LAVA's docker test shell runs the verdict image lava-lab.sh built, which reads the job's log from this server.
  execFileSync('node', [VMSPEC, 'lava-job', '--matrix', join(work, 'matrix.yaml'), '--output', join(work, 'jobs'), '--memory', '1024', '--timeout', '60',
    '--lava-url', 'http://127.0.0.1:8000/', '--verdict-image', 'vmspec:latest', '--verdict-image-local']);
  const index = JSON.parse(readFileSync(join(work, 'jobs/index.json'), 'utf8')) as { requirements: string[]; jobs: { slug: string }[] };
  t.equal(index.jobs.length, 4);

  const run = spawnSync(RESULTS, [join(work, 'jobs'), join(work, 'out')], { env, encoding: 'utf8' });
  t.equal(run.status, 0, `every job Complete and judged: ${run.stderr.slice(-2000)}`);

  for (const { slug } of index.jobs) {
    // LAVA's own test cases: the frame was on the console, the collector exited 0.
    const cases = parse(readFileSync(join(work, 'out', `${slug}.lava.yaml`), 'utf8')) as { suite: string; name: string; result: string }[];
    const result = (suite: string, name: string) => cases.find((c) => c.suite.endsWith(suite) && c.name === name)?.result;
    t.equal(result('vmspec-frame', 'evidence'), 'pass', `${slug}: LAVA saw the evidence frame`);
    t.equal(result('vmspec-collect', 'vmspec_done'), 'pass', `${slug}: collect.sh exited 0`);
    t.equal(result('lava', 'job'), 'pass', `${slug}: LAVA job passed`);
    const lava = resultsOf(join(work, 'out', `${slug}.json`));
    t.same(lava.map((r) => r.id).sort(), [...index.requirements].sort(), `${slug}: every selected requirement judged`);
    t.notOk(lava.some((r) => r.status === 'error'), `${slug}: no requirement errored`);
    // LAVA's own test cases per requirement (the docker verdict step) equal vmspec verify --evidence on the same frame.
    t.equal(result('vmspec-verdicts', 'vmspec-fetch-log'), 'pass', `${slug}: the verdict step found the frame in the job's log`);
    t.equal(result('vmspec-verdicts', 'vmspec-verify'), 'pass', `${slug}: vmspec verify ran in the verdict image`);
    const lavaStatus: Record<string, string> = { pass: 'pass', fail: 'fail', skip: 'skip', manual: 'skip', waived: 'skip' };
    const perRequirement = cases.filter((c) => c.suite.endsWith('_vmspec-verdicts') && !c.name.startsWith('vmspec-')).map((c) => [c.name, c.result]).sort();
    const expected = lava.map((r) => [r.id.toLowerCase(), lavaStatus[r.status] ?? 'unknown']).sort();
    t.same(perRequirement, expected, `${slug}: LAVA test cases per requirement = vmspec verify --evidence on the same frame`);
    t.ok(perRequirement.some(([, r]) => r === 'pass') && perRequirement.some(([, r]) => r === 'fail'), `${slug}: both pass and fail reached LAVA`);

    // LAVA kept the verdict definition's result whole: its metadata (the inline definition, lava/verdict-step.ts)
    // is under the 4096 bytes lava_results_app/dbutils.py keeps, so no "Result metadata is too long" anywhere.
    const job = parse(readFileSync(join(work, 'jobs', `${slug}.yaml`), 'utf8')) as { actions: { test?: { definitions?: { name: string; repository: { run: { steps: string[] } } }[] } }[] };
    const verdictSteps = job.actions.flatMap((a) => a.test?.definitions ?? []).find((d) => d.name === 'vmspec-verdicts')!.repository.run.steps;
    const defResult = cases.find((c) => c.suite === 'lava' && /^\d+_vmspec-verdicts$/.test(c.name)) as { result: string; metadata?: { repository?: { run?: { steps?: string[] } } } } | undefined;
    t.equal(defResult?.result, 'pass', `${slug}: LAVA's result for the verdict definition`);
    t.same(defResult?.metadata?.repository?.run?.steps, verdictSteps, `${slug}: its metadata keeps the whole inline definition (not stripped)`);
    const id = readFileSync(join(work, 'out', `${slug}.job`), 'utf8').trim();
    const shown = spawnSync('lavacli', ['-i', IDENTITY, 'jobs', 'show', '--yaml', id], { env, encoding: 'utf8' });
    t.equal(shown.status, 0, `lavacli jobs show ${id}: ${shown.stderr}`);
    const failure = (parse(shown.stdout) as { failure_comment?: string | null }).failure_comment ?? '';
    t.notMatch(failure, /Result metadata is too long/, `${slug}: job ${id} has no "Result metadata is too long" comment`);
    t.notMatch(readFileSync(join(work, 'out', `${slug}.lava.yaml`), 'utf8'), /too long/, `${slug}: no test result mentions metadata too long`);
  }

  const merged = JSON.parse(execFileSync('node', [VMSPEC, 'report', 'merge', '--format', 'json', ...index.jobs.map((j) => join(work, 'out', `${j.slug}.json`))], { encoding: 'utf8' })) as Record<string, unknown>;
  const text = JSON.stringify(merged);
  for (const { slug } of index.jobs) t.ok(text.includes(slug), `merged report has the column ${slug}`);
  for (const id of index.requirements) t.ok(text.includes(id), `merged report has the row ${id}`);

  // The same cells through vmspec's own QEMU runner: the same verdict per clause,
  // except what only the host or a second boot after a power cycle shows (V2-FW-VARS-PERSIST,
  // the -HOST clauses), named by the LAVA side's message.
  for (const { slug } of index.jobs) {
    const gic = slug.includes('gicv2') ? '2' : '3';
    const acpi = slug.includes('-acpi-') ? '--acpi' : '--no-acpi';
    const out = join(work, `${slug}.boot.json`);
    spawnSync('node', [VMSPEC, 'boot', '--gic', gic, acpi, '--format', 'json', '-o', out], { stdio: 'inherit' });
    t.ok(existsSync(out), `${slug}: vmspec boot wrote its results`);
    const boot = new Map(resultsOf(out).map((r) => [r.id, r.status]));
    for (const r of resultsOf(join(work, 'out', `${slug}.json`))) {
      const hostOnly = /needs the host side of a boot|persistence\.phase is null/.test(r.message ?? '');
      if (hostOnly) t.not(r.status, 'fail', `${slug} ${r.id}: host-only clause, not judged from one LAVA boot`);
      else t.equal(r.status, boot.get(r.id), `${slug} ${r.id}: LAVA ${r.status}, vmspec boot ${boot.get(r.id)}`);
    }
  }

  // A shell job: the login variant of the reference (GICv3, ACPI). LAVA logs in (auto-login), mounts
  // its overlay, runs the guest definition (collect.sh from the evidence disk, the bundle framed on the
  // console); the verdict step judges the frame from the job's log, as for the console jobs.
  const shellCell = 'reference-login-aavmf-gicv3-acpi';
  writeFileSync(join(work, 'login-matrix.yaml'), `images:
  - { name: reference-login, url: ${loginImage} }
firmware:
  - name: aavmf
    code: { url: /usr/share/AAVMF/AAVMF_CODE.fd }
    vars: { url: /usr/share/AAVMF/AAVMF_VARS.fd }
gic: [3]
acpi: [true]
`);
  execFileSync('node', [VMSPEC, 'lava-job', '--matrix', join(work, 'login-matrix.yaml'), '--output', join(work, 'shell-jobs'), '--memory', '1024', '--timeout', '60',
    '--login', LOGIN_VARIANT.username, '--password', LOGIN_VARIANT.password, '--prompt', LOGIN_VARIANT.prompt,
    '--lava-url', 'http://127.0.0.1:8000/', '--verdict-image', 'vmspec:latest', '--verdict-image-local']);
  const shellIndex = JSON.parse(readFileSync(join(work, 'shell-jobs/index.json'), 'utf8')) as { requirements: string[]; jobs: { slug: string; collects: string }[] };
  t.equal(shellIndex.jobs.length, 1);
  const shellSlug = shellIndex.jobs[0]!.slug;
  t.ok(shellSlug.startsWith(shellCell), `the shell cell: ${shellSlug}`);
  t.same(shellIndex.requirements, index.requirements, 'the same selection as the console jobs');
  const shellRun = spawnSync(RESULTS, [join(work, 'shell-jobs'), join(work, 'shell-out')], { env, encoding: 'utf8' });
  t.equal(shellRun.status, 0, `the shell job Complete and judged: ${shellRun.stderr.slice(-2000)}`);
  const shellCases = parse(readFileSync(join(work, 'shell-out', `${shellSlug}.lava.yaml`), 'utf8')) as { suite: string; name: string; result: string }[];
  const shellResult = (suite: string, name: string) => shellCases.find((c) => c.suite.endsWith(suite) && c.name === name)?.result;
  for (const [suite, name, why] of [
    ['lava', 'apply-overlay-guest', 'LAVA built its test overlay (libguestfs)'],
    ['lava', 'login-action', 'LAVA logged in (kernel banner, login:, Password:, the prompt)'],
    ['vmspec-collect', 'vmspec-collect', 'the guest definition ran collect.sh from the evidence disk (through the mounted overlay)'],
    ['vmspec-collect', 'vmspec-evidence-disk', 'the bundle reached the evidence disk'],
    ['vmspec-verdicts', 'vmspec-fetch-log', 'the verdict step found the frame in the job\'s log'],
    ['vmspec-verdicts', 'vmspec-verify', 'vmspec verify ran in the verdict image'],
    ['lava', 'job', 'LAVA job passed'],
  ] as const) t.equal(shellResult(suite, name), 'pass', `${shellSlug}: ${why}`);
  const shellJson = resultsOf(join(work, 'shell-out', `${shellSlug}.json`));
  const lavaStatus: Record<string, string> = { pass: 'pass', fail: 'fail', skip: 'skip', manual: 'skip', waived: 'skip' };
  t.same(
    shellCases.filter((c) => c.suite.endsWith('_vmspec-verdicts') && !c.name.startsWith('vmspec-')).map((c) => [c.name, c.result]).sort(),
    shellJson.map((r) => [r.id.toLowerCase(), lavaStatus[r.status] ?? 'unknown']).sort(),
    `${shellSlug}: LAVA test cases per requirement = vmspec verify --evidence on the same frame`,
  );
  // The same cell as a console job and under vmspec boot: the same verdict per clause, but for what only
  // the host or a power cycle shows (named by the message, as above).
  const consoleSlug = index.jobs.find((j) => j.slug.startsWith('reference-aavmf-gicv3-acpi'))!.slug;
  const consoleStatus = new Map(resultsOf(join(work, 'out', `${consoleSlug}.json`)).map((r) => [r.id, r.status]));
  const bootStatus = new Map(resultsOf(join(work, `${consoleSlug}.boot.json`)).map((r) => [r.id, r.status]));
  for (const r of shellJson) {
    t.equal(r.status, consoleStatus.get(r.id), `${shellSlug} ${r.id}: shell job ${r.status}, console job ${consoleStatus.get(r.id)}`);
    const hostOnly = /needs the host side of a boot|persistence\.phase is null/.test(r.message ?? '');
    if (hostOnly) t.not(r.status, 'fail', `${shellSlug} ${r.id}: host-only clause, not judged from one LAVA boot`);
    else t.equal(r.status, bootStatus.get(r.id), `${shellSlug} ${r.id}: shell job ${r.status}, vmspec boot ${bootStatus.get(r.id)}`);
  }
  const mergedAll = execFileSync('node', [VMSPEC, 'report', 'merge', '--format', 'json', ...index.jobs.map((j) => join(work, 'out', `${j.slug}.json`)), join(work, 'shell-out', `${shellSlug}.json`)], { encoding: 'utf8' });
  t.ok(mergedAll.includes(shellSlug), 'the merged report has the shell cell\'s column');

  // down while a job runs: lava-worker starts lava-run in its own process group (os.setpgrp) and
  // lava-run starts QEMU in its own session, so killing the worker's group alone left both running
  // (seen here: job 31). down stops the recorded daemons' descendants too.
  const running = spawnSync('lavacli', ['-i', IDENTITY, 'jobs', 'submit', join(work, 'shell-jobs', `${shellSlug}.yaml`)], { env, encoding: 'utf8' });
  t.equal(running.status, 0, `a job to interrupt submitted: ${running.stderr}`);
  let jobRunning = false;
  for (let i = 0; i < 120 && !jobRunning; i++) {
    const now = labProcesses();
    jobRunning = now.some((p) => p.includes('qemu-system-aarch64')) && now.some((p) => p.includes('lava-run'));
    if (!jobRunning) spawnSync('sleep', ['5']);
  }
  t.ok(jobRunning, `job ${running.stdout.trim()}: its lava-run and QEMU run when down starts`);
  const down = spawnSync(LAB, ['down'], { env, encoding: 'utf8' });
  t.equal(down.status, 0, 'lava-lab.sh down');
  t.same(labProcesses(), [], 'no lab process is left (dockerd and containerd, the running job\'s lava-run and QEMU included)');
  t.notOk(existsSync('/run/docker.sock') && spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0, 'no docker daemon answers after down');
});
