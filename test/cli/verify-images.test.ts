import t from 'tap';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGptDisk, mbrDisk, toQcow2, sha256File } from '../fixtures/disk-builder.js';
import { efiBinaries } from '../fixtures/efi-binaries.js';
import { buildFatImage, type FatFileSpec } from '../fixtures/fat-builder.js';
import { GptEditor } from '../probes/image/gpt-edit.js';
import { validator } from '../../requirements/schemas.js';
import type { RunResults } from '../../engine/results.js';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../fixtures/cache.js';
import { vmspec } from './cli-runner.js';

const efi = efiBinaries();
const BOOT = '/EFI/BOOT/BOOTAA64.EFI';

function esp(name: string, files: FatFileSpec[], fatBits: 16 | 32 = 32): string {
  const dirs = ['/EFI', '/EFI/BOOT'];
  return buildFatImage(`cli-${name}`, { fatBits, sizeMiB: fatBits === 32 ? 40 : 32, sectorsPerCluster: 1, label: 'ESP', dirs, files });
}

function disk(espFat: string, espType = 'EF00'): string {
  return buildGptDisk([
    { type: '8300', sizeMiB: 4, name: 'data' },
    { type: espType, sizeMiB: 48, name: 'EFI system', contentFile: espFat },
    { type: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', sizeMiB: 8, name: 'root' },
  ], { label: 'cli-disk' });
}

const goodEsp = esp('good', [{ path: BOOT, from: efi.grubaa64 }]);
const good = disk(goodEsp);

function verifyJson(t: Tap, image: string, extra: string[] = []): RunResults {
  const r = vmspec(['verify', image, '--format', 'json', '--target', 'image', ...extra]);
  t.equal(r.stderr, '', 'nothing on stderr');
  const run = JSON.parse(r.stdout) as RunResults;
  const validate = validator('results');
  t.ok(validate(run), `results JSON is schema-valid ${JSON.stringify(validate.errors ?? [])}`);
  t.equal(r.status, run.exitCode, 'process exit code matches the JSON');
  return run;
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const failing = (run: RunResults) => run.results.filter((r) => r.status === 'fail').map((r) => r.id).sort();
const errored = (run: RunResults) => run.results.filter((r) => r.status === 'error').map((r) => `${r.id}: ${r.message}`);

t.test('a compliant raw image passes every automated image clause', async (t) => {
  const run = verifyJson(t, good);
  t.equal(run.exitCode, 0);
  t.same(failing(run), []);
  t.same(errored(run), []);
  const pass = run.results.filter((r) => r.status === 'pass').map((r) => r.id);
  for (const id of ['V2-IMG-GPT', 'V2-IMG-GPT-BACKUP', 'V2-IMG-GPT-PMBR', 'V2-IMG-GPT-LAYOUT', 'V2-IMG-ESP-TYPE', 'V2-IMG-ESP-FAT32', 'V2-IMG-ESP-BOOT-FILE', 'V2-IMG-BOOTAA64-UEFI-APP', 'V2-IMG-BOOTAA64-PATH', 'V2-FW-VARS-NOT-IN-IMAGE']) {
    t.ok(pass.includes(id), `${id} passes`);
  }
  t.match(run.results.find((r) => r.id === 'V2-IMG-BOOTARM-PATH'), { status: 'skip', message: /not applicable/ });
  t.match(run.target, { kind: 'image', format: 'raw', path: good });
  const esp = run.results.find((r) => r.id === 'V2-IMG-ESP-FAT32')!;
  t.match(esp.observed, { partition: 2, filesystem: { type: 'FAT32' } }, 'evidence: ESP found as partition 2 by type GUID');
});

t.test('qcow2 (compressed and v2) gives the same verdicts as raw, and the image is not modified', async (t) => {
  const rawRun = verifyJson(t, good);
  for (const opts of [{ compressed: true }, { compat: '0.10' as const }]) {
    const q = toQcow2(good, opts);
    const before = sha256File(q);
    const run = verifyJson(t, q, ['--sha256']);
    t.equal(run.target.format, 'qcow2');
    t.equal(run.target.sha256, before, '--sha256 records the file hash');
    t.same(run.results.map((r) => [r.id, r.status]), rawRun.results.map((r) => [r.id, r.status]).map(([id, s]) => [id, s]), `${JSON.stringify(opts)}: same verdicts`);
    t.equal(sha256File(q), before, 'image unchanged');
  }
});

t.test('each broken image fails exactly its clause', async (t) => {
  const cases: { name: string; image: () => string; fails: string[] }[] = [
    { name: 'ESP is FAT16', image: () => disk(esp('fat16', [{ path: BOOT, from: efi.grubaa64 }], 16)), fails: ['V2-IMG-ESP-FAT32'] },
    { name: 'no BOOTAA64.EFI', image: () => disk(esp('noboot', [{ path: '/EFI/BOOT/README.TXT', text: 'hello' }])), fails: ['V2-IMG-ESP-BOOT-FILE'] },
    { name: 'x86-64 loader at BOOTAA64.EFI', image: () => disk(esp('x64', [{ path: BOOT, from: efi.grubx64 }])), fails: ['V2-IMG-BOOTAA64-PATH'] },
    { name: 'text file at BOOTAA64.EFI', image: () => disk(esp('text', [{ path: BOOT, from: efi.text }])), fails: ['V2-IMG-BOOTAA64-UEFI-APP'] },
    { name: 'AArch64 loader at BOOTARM.EFI', image: () => disk(esp('armwrong', [{ path: BOOT, from: efi.grubaa64 }, { path: '/EFI/BOOT/BOOTARM.EFI', from: efi.grubaa64 }])), fails: ['V2-IMG-BOOTARM-PATH'] },
    { name: 'NvVars on the ESP', image: () => disk(esp('nvvars', [{ path: BOOT, from: efi.grubaa64 }, { path: '/NvVars', size: 4096 }])), fails: ['V2-FW-VARS-NOT-IN-IMAGE'] },
  ];
  for (const c of cases) {
    const run = verifyJson(t, c.image());
    t.same(failing(run), c.fails, `${c.name}: fails ${c.fails.join(', ')}`);
    t.same(errored(run), [], `${c.name}: no probe errors`);
    t.equal(run.exitCode, 1, `${c.name}: exit 1`);
  }
});

t.test('a 32-bit ARM loader at BOOTARM.EFI passes the BOOTARM clauses', async (t) => {
  const run = verifyJson(t, disk(esp('armok', [{ path: BOOT, from: efi.grubaa64 }, { path: '/EFI/BOOT/BOOTARM.EFI', from: efi.arm32 }])));
  t.equal(run.results.find((r) => r.id === 'V2-IMG-BOOTARM-PATH')!.status, 'pass');
  t.equal(run.results.find((r) => r.id === 'V2-IMG-BOOTARM-UEFI-APP')!.status, 'pass');
  t.same(failing(run), []);
});

t.test('ESP with the wrong type GUID is not an ESP', async (t) => {
  const run = verifyJson(t, disk(goodEsp, '0700'));
  t.same(failing(run), ['V2-IMG-ESP-BOOT-FILE', 'V2-IMG-ESP-TYPE'], 'no ESP: type clause and "on the ESP" clause fail');
});

t.test('an MBR-only disk fails GPT and ESP clauses', async (t) => {
  const run = verifyJson(t, mbrDisk([{ type: 'ef', sizeMiB: 16 }]));
  t.ok(failing(run).includes('V2-IMG-GPT'));
  t.ok(failing(run).includes('V2-IMG-ESP-TYPE'));
  for (const id of ['V2-IMG-GPT-BACKUP', 'V2-IMG-GPT-PMBR', 'V2-IMG-GPT-LAYOUT']) {
    t.equal(run.results.find((r) => r.id === id)!.status, 'skip', `${id} not applicable without a GPT`);
  }
});

t.test('GPT damage is attributed to the right clause', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const edit = (name: string, fn: (g: GptEditor) => void): string => {
    const g = GptEditor.load(good);
    fn(g);
    const p = join(dir, `${name}.img`);
    writeFileSync(p, g.buf);
    return p;
  };
  // Backup header destroyed: only the backup clause fails.
  const noBackup = edit('nobackup', (g) => g.buf.fill(0, g.header(g.lastLba), g.header(g.lastLba) + 512));
  t.same(failing(verifyJson(t, noBackup)), ['V2-IMG-GPT-BACKUP']);
  // Primary header CRC wrong.
  const badCrc = edit('badcrc', (g) => g.buf.writeUInt32LE(0xdeadbeef, g.header(1) + 16));
  t.ok(failing(verifyJson(t, badCrc)).includes('V2-IMG-GPT'));
  // Protective MBR wiped.
  const noPmbr = edit('nopmbr', (g) => g.buf.fill(0, 446, 512));
  t.same(failing(verifyJson(t, noPmbr)), ['V2-IMG-GPT-PMBR']);
  // Partition 3 made to overlap partition 2 (both headers resealed).
  const overlap = edit('overlap', (g) => {
    for (const lba of [1, g.lastLba]) {
      const p2 = g.entryOffset(lba, 2);
      const p3 = g.entryOffset(lba, 3);
      g.buf.writeBigUInt64LE(g.buf.readBigUInt64LE(p2 + 40) - 10n, p3 + 32);
    }
    g.sealBoth();
  });
  t.same(failing(verifyJson(t, overlap)), ['V2-IMG-GPT-LAYOUT']);
});

t.test('text output: one line per clause, grouped by section, summary last', async (t) => {
  const r = vmspec(['verify', good]);
  t.equal(r.status, 4, 'the root partition holds no filesystem: the guest clauses are undecided');
  t.match(r.stdout, /^vmspec \d+\.\d+\.\d+ · VM System Specification for ARM Processors 2\.0 \(vmspec-v2\) · image /);
  t.match(r.stdout, /\nVM Image Format \(p3\)\n  PASS   V2-IMG-CONTAINER/);
  t.notMatch(r.stdout, /V2-ARCH-PSCI/, 'a clause only a running guest decides is not selected by default');
  t.match(r.stdout, /\n {2}UNDECIDED V2-GUEST-GICV3 /);
  t.match(r.stdout, /\nSummary: \d+ pass, 0 fail, \d+ skip, 0 error, 0 waived, \d+ manual, 11 undecided — exit 4/);
  t.notMatch(r.stdout, /\x1b\[/, 'no colour when not a TTY');
  const coloured = vmspec(['verify', good], { env: { FORCE_COLOR: '1' } });
  t.match(coloured.stdout, /\x1b\[32mPASS/, 'FORCE_COLOR colours');
  const noColour = vmspec(['verify', good], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
  t.notMatch(noColour.stdout, /\x1b\[/, 'NO_COLOR wins');
});

t.test('--output writes atomically; vmspec-verify is the same command', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-out-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'nested', 'run.json');
  const r = vmspec(['verify', good, '--format', 'json', '--output', out]);
  t.equal(r.status, 4, 'undecided guest clauses (empty root partition)');
  t.equal(r.stdout, '');
  const viaAlias = vmspec([good, '--format', 'json'], { bin: 'vmspec-verify.js' });
  t.equal(viaAlias.status, 4);
  t.same(JSON.parse(viaAlias.stdout).summary, JSON.parse((await import('node:fs')).readFileSync(out, 'utf8')).summary);
});

t.test('bad input is a usage error (exit 2) with a clear message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-bad-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = vmspec(['verify', join(dir, 'nope.img')]);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /^vmspec: .*nope\.img/);
  const vmdk = join(dir, 'x.vmdk');
  writeFileSync(vmdk, Buffer.concat([Buffer.from('KDMV'), Buffer.alloc(1020)]));
  const refused = vmspec(['verify', vmdk]);
  t.equal(refused.status, 2);
  t.match(refused.stderr, /vmdk/i);
  t.notMatch(refused.stderr, /at .*\.js:\d+/, 'no stack trace');
  t.equal(vmspec(['verify']).status, 2, 'missing argument');
  t.equal(vmspec(['verify', good, '--format', 'xml']).status, 2, 'bad format');
  t.equal(vmspec(['verify', good, '--only', 'V2-NOPE']).status, 2, 'selection that matches nothing');
  t.equal(vmspec(['frobnicate']).status, 2, 'unknown command');
  const tiny = join(dir, 'tiny.img');
  copyFileSync(efi.text, tiny);
  const run = vmspec(['verify', tiny, '--format', 'json']);
  t.equal(run.status, 1, 'a tiny garbage file is judged, not crashed on');
  t.match(JSON.parse(run.stdout).results.find((r: { id: string }) => r.id === 'V2-IMG-GPT'), { status: 'fail' });
});

t.test('help, version and spec commands', async (t) => {
  const help = vmspec(['--help']);
  t.equal(help.status, 0);
  for (const word of ['verify', 'spec', 'Exit codes:', 'NO_COLOR']) t.match(help.stdout, word);
  const vhelp = vmspec(['verify', '--help']);
  for (const opt of ['--spec', '--profile', '--only', '--section', '--level', '--target', '--tags', '--format', '--output']) t.match(vhelp.stdout, opt);
  t.match(vmspec(['--version']).stdout, /^\d+\.\d+\.\d+\n$/);
  const lint = vmspec(['spec', 'lint']);
  t.equal(lint.status, 0, lint.stderr);
  t.match(lint.stdout, /vmspec-v2 2\.0, \d+ requirements, clean/);
  t.match(lint.stdout, /vmspec-v1 1\.0, \d+ requirements, clean/);
  const list = JSON.parse(vmspec(['spec', 'list', '--format', 'json', '--spec', 'vmspec-v1']).stdout) as { id: string; ref: { label: string } }[];
  t.ok(list.length > 20 && list.every((r) => r.id.startsWith('V1-') && r.ref.label));
  const show = vmspec(['spec', 'show', 'v2-img-esp-type']);
  t.equal(show.status, 0);
  t.match(show.stdout, /clause: +IMG-5 — VM Image Format, p3/);
  t.match(show.stdout, /C12A7328-F81F-11D2-BA4B-00A0C93EC93B/);
  t.equal(vmspec(['spec', 'show', 'V2-NOPE']).status, 2);
  t.equal(vmspec(['verify', good, '--spec', 'vmspec-v1', '--format', 'json']).status, 4, 'v1 selectable (its guest clauses undecided too: empty root partition)');
  // A reader that stops early (`| head`) must not produce a stack trace.
  const piped = spawnSync('bash', ['-c', `node ${join(repoRoot, 'bin', 'vmspec.js')} spec list | head -n 1`], { encoding: 'utf8' });
  t.equal(piped.stdout.split('\n').length, 2, 'one line read');
  t.notMatch(piped.stderr, /EPIPE|at .*\.js/, 'no error on a closed pipe');
});
