import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmspec } from './cli-runner.js';
import { lavaCommonMissing, lavaValidate } from '../lava/lava-validator.js';

/** `vmspec lava-job` end to end through the built CLI (run `npm run build` first). */

const work = mkdtempSync(join(tmpdir(), 'vmspec-lava-cli-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const lavaMissing = lavaCommonMissing();
const STORE = ['--artifacts', 'https://store.lab.example/vmspec'];
const SINGLE = ['--image', 'https://lab.example/debian.qcow2', '--firmware', 'https://lab.example/CODE.fd', '--vars', 'https://lab.example/VARS.fd'];

t.test('--help says what a job does', async (t) => {
  const r = vmspec(['lava-job', '--help']);
  t.equal(r.status, 0);
  for (const s of ['--image <url|path>', '--firmware <url|path>', '--vars <url|path>', '--gic <version>', '--no-acpi', '--matrix <file>', '--artifacts <url>', '--verdict-image', 'pflash unit 0', 'case per selected requirement', 'shell prompt of the booted image', 'lavacli jobs submit']) {
    t.ok(r.stdout.includes(s), `help mentions ${s}`);
  }
  t.ok(vmspec(['--help']).stdout.includes('lava-job'), 'listed in vmspec --help');
});

t.test('a matrix: one valid job per cell, an index, the evidence disk', async (t) => {
  const matrix = join(work, 'matrix.yaml');
  writeFileSync(matrix, `images:
  - { name: debian12, url: https://lab.example/debian-12-genericcloud-arm64.qcow2 }
  - { name: ubuntu, url: https://lab.example/ubuntu-24.04-arm64.img }
firmware:
  - { name: aavmf, code: { url: https://lab.example/AAVMF_CODE.fd }, vars: { url: https://lab.example/AAVMF_VARS.fd } }
gic: [2, 3]
acpi: [true, false]
`);
  const out = join(work, 'jobs');
  const r = vmspec(['lava-job', '--matrix', matrix, ...STORE, '--run-id', 'nightly-1', '--output', out]);
  t.equal(r.status, 0, r.stderr);
  const files = readdirSync(out).filter((f) => f.endsWith('.yaml')).sort();
  t.equal(files.length, 8, '2 x 1 x 2 x 2 jobs');
  t.same(r.stdout.trim().split('\n').sort(), files.map((f) => join(out, f)), 'stdout lists the job files (for a submit loop)');
  t.match(r.stderr, /8 LAVA job\(s\), \d+ requirement\(s\) each/);
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { run: string; jobs: { file: string; bundle: string; results: string; metadata: Record<string, string> }[]; requirements: string[] };
  t.equal(index.run, 'nightly-1');
  t.same(index.jobs.map((j) => j.file).sort(), files);
  const j = index.jobs.find((x) => x.file === 'ubuntu-aavmf-gicv2-dt-worker.yaml')!;
  t.equal(j.bundle, 'https://store.lab.example/vmspec/nightly-1/ubuntu-aavmf-gicv2-dt-worker.tar');
  t.match(j.metadata, { 'vmspec.image': 'ubuntu', 'vmspec.firmware': 'aavmf', 'vmspec.gic': '2', 'vmspec.acpi': 'false', 'vmspec.spec': 'vmspec-v2', 'vmspec.hypervisor': 'worker' });
  t.ok(index.requirements.length > 10 && index.requirements.every((id) => !id.startsWith('V2-IMG-')), 'default selection: the clauses in-guest evidence decides');
  const disk = join(out, 'evidence-disk.img');
  t.equal(statSync(disk).size, 32 * 1024 * 1024);
  t.equal(readFileSync(disk).subarray(0, 22).toString('latin1'), 'VMSPEC-EVIDENCE-DISK 1', 'the disk carries the header the guest step looks for');
  t.ok(readFileSync(join(out, files[0]!), 'utf8').includes(`url: file://${disk}`), 'jobs attach that disk');
  if (lavaMissing) t.comment(`not validated by LAVA: ${lavaMissing}`);
  else for (const v of lavaValidate(files.map((f) => join(out, f)))) t.ok(v.ok, `${v.path}: ${v.error ?? 'valid per LAVA'}`);
});

t.test('one job to standard output, with a selection', async (t) => {
  const r = vmspec(['lava-job', ...SINGLE, ...STORE, '--evidence-disk', 'https://lab.example/evidence.img', '--no-acpi', '--gic', '2', '--only', 'V2-PLAT-GICV2,V2-PLAT-UART']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /machine: virt,gic-version=2,acpi=off/);
  // The verdict step's last argument: the requirements it reports, in spec order.
  t.match(r.stdout, /^\s*- vmspec-lava-verdict bundle .* 'V2-PLAT-UART,V2-PLAT-GICV2' \|\| lava-test-case vmspec-verify --result fail$/m, 'only the selection is reported');
  if (lavaMissing) return t.comment(`not validated by LAVA: ${lavaMissing}`);
  const p = join(work, 'single.yaml');
  writeFileSync(p, r.stdout);
  t.ok(lavaValidate([p])[0]!.ok);
});

t.test('usage errors: exit 2, what is wrong and how to fix it', async (t) => {
  const cases: [string[], RegExp][] = [
    [['lava-job', ...SINGLE, '--output', join(work, 'x')], /give --lava-url URL \(the verdict step reads the bundle from the job log\) or --artifacts URL/],
    [['lava-job', ...SINGLE, '--lava-url', 'http://lava.lab/', '--no-console-frame', '--output', join(work, 'x')], /--no-console-frame with --lava-url: .* drop --no-console-frame/],
    [['lava-job', '--image', 'https://lab.example/a.img', ...STORE, '--output', join(work, 'x')], /missing --firmware, --vars/],
    [['lava-job', ...SINGLE, '--artifacts', 'ftp://store/x', '--output', join(work, 'x')], /--artifacts: LAVA cannot download ftp: URLs|--artifacts must be an http/],
    [['lava-job', ...SINGLE, ...STORE], /give --output DIR .* or --evidence-disk URL/],
    [['lava-job', ...SINGLE, ...STORE, '--gic', 'both', '--evidence-disk', 'https://x/e.img'], /the matrix gives 2 jobs; give --output DIR/],
    [['lava-job', ...SINGLE, ...STORE, '--spec', 'spec', '--output', join(work, 'x')], /--spec spec: lava-job needs a built-in spec name/],
    [['lava-job', ...SINGLE, ...STORE, '--image-sha256', 'abc', '--output', join(work, 'x')], /--image-sha256 "abc" is not a sha256/],
    [['lava-job', ...SINGLE, ...STORE, '--run-id', '../up', '--output', join(work, 'x')], /--run-id "\.\.\/up" must be/],
    [['lava-job', ...SINGLE, ...STORE, '--only', 'V2-NOPE', '--output', join(work, 'x')], /--only V2-NOPE: no requirement id matches/],
    [['lava-job', ...SINGLE, ...STORE, '--verdict-image', 'Bad Image', '--output', join(work, 'x')], /--verdict-image "Bad Image" is not a docker image name/],
    [['lava-job', '--matrix', join(work, 'm.yaml'), '--gic', '2', ...STORE, '--output', join(work, 'x')], /drop --gic or put them in the matrix file/],
  ];
  for (const [args, message] of cases) {
    const r = vmspec(args);
    t.equal(r.status, 2, `exit 2 for ${args.slice(1).join(' ')}`);
    t.match(r.stderr, message);
  }
  const bad = join(work, 'bad.yaml');
  writeFileSync(bad, 'images:\n  - { name: a, url: https://x/a.img }\nfirmware:\n  - { name: f, code: { url: https://x/c }, vars: { url: https://x/v } }\ngic: [3, 5]\n');
  const r = vmspec(['lava-job', '--matrix', bad, ...STORE, '--output', join(work, 'x')]);
  t.equal(r.status, 2);
  t.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:5:\\d+: gic\\.1: must be one of 2, 3`), 'file:line:column');
  t.equal(readdirSync(work).includes('x'), false, 'nothing written on a usage error');
});
