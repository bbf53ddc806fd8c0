import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNoCloudSeed } from '../../../boot/cloud-init/seed.js';
import { createEvidenceDisk, EVIDENCE_DISK_MAGIC } from '../../../boot/reference/evidence-disk.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { extractConsoleBundle } from '../../../probes/sysroot/console.js';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import { readText } from '../../../probes/sysroot/types.js';
import { repoRoot } from '../../fixtures/cache.js';

/**
 * run.sh, the guest side of the NoCloud seed, run for real under dash and
 * busybox sh (the shells of Debian/Ubuntu cloud images and of minimal
 * guests) against a fake guest root and a raw evidence-disk file. The
 * oracle is the project's tar reader: the disk must hold a bundle whose
 * manifest verifies, with the phase and nonce the header asked for.
 */

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const busybox = which('busybox');
const work = mkdtempSync(join(tmpdir(), 'vmspec-run-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const seed = await buildNoCloudSeed({ outDir: join(work, 'seed'), instanceId: 'vmspec-run-test' });
const runSh = seed.files['vmspec/run.sh']?.path as string;

/** A PATH of busybox applets only, as in a minimal guest. */
function busyboxPath(): string {
  const dir = join(work, 'busybox-bin');
  if (!existsSync(dir)) {
    mkdirSync(dir);
    for (const a of execFileSync(busybox as string, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      symlinkSync(busybox as string, join(dir, a));
    }
  }
  return dir;
}

interface Shell {
  name: string;
  argv: string[];
  path?: string;
}

const shells: Shell[] = [];
if (which('dash')) shells.push({ name: 'dash', argv: ['dash'] });
if (busybox) shells.push({ name: 'busybox', argv: [busybox, 'sh'], path: busyboxPath() });

/** A guest as collect.sh sees it under --root: a few firmware, console and CPU facts. */
function fakeRoot(dir: string): string {
  const w = (p: string, data: string | Uint8Array): void => {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), data);
  };
  w('sys/firmware/acpi/tables/APIC', Buffer.from('APIC\x2c\x00\x00\x00binary\x00\xff', 'latin1'));
  w('sys/firmware/efi/fw_platform_size', '64\n');
  w('sys/firmware/efi/efivars/BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c', Buffer.from([7, 0, 0, 0, 1, 0]));
  w('proc/consoles', 'ttyAMA0              -W- (EC p a)  204:64\n');
  w('proc/cpuinfo', 'processor\t: 0\nBogoMIPS\t: 125.00\n\n');
  w('proc/version', 'Linux version 6.1.0-fake\n');
  w('sys/devices/system/cpu/online', '0-1\n');
  return dir;
}

interface Machine {
  dir: string;
  dev: string;
  sys: string;
  console: string;
  poweroff: string;
  root: string;
}

/** /dev and /sys/block of a guest with a root disk vda and, optionally, more disks. */
function machine(name: string, disks: Record<string, (path: string) => void>): Machine {
  const dir = join(work, name);
  const m: Machine = {
    dir,
    dev: join(dir, 'dev'),
    sys: join(dir, 'sys'),
    console: join(dir, 'console.log'),
    poweroff: join(dir, 'poweroff.log'),
    root: fakeRoot(join(dir, 'root')),
  };
  mkdirSync(m.dev, { recursive: true });
  mkdirSync(join(m.sys, 'block'), { recursive: true });
  mkdirSync(join(dir, 'tmp'));
  const all: Record<string, (path: string) => void> = {
    // The cloud image's own disk: a protective-MBR-like first sector, never to be touched.
    vda: (p) => writeFileSync(p, Buffer.concat([Buffer.alloc(510), Buffer.from([0x55, 0xaa]), Buffer.alloc(512 * 63, 0x11)])),
    // A CD-ROM-like device that must be skipped by name.
    sr0: (p) => createEvidenceDisk(p, { sizeBytes: 1024 * 1024 }),
    ...disks,
  };
  for (const [disk, make] of Object.entries(all)) {
    mkdirSync(join(m.sys, 'block', disk));
    make(join(m.dev, disk));
  }
  return m;
}

function env(m: Machine, shell: Shell, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: shell.path ?? process.env.PATH,
    TMPDIR: join(m.dir, 'tmp'),
    VMSPEC_DEV: m.dev,
    VMSPEC_SYS: m.sys,
    VMSPEC_CONSOLES: m.console,
    VMSPEC_POWEROFF: `echo poweroff >> '${m.poweroff}'`,
    VMSPEC_COLLECT_ROOT: m.root,
    VMSPEC_DISK_WAIT: '0',
    ...extra,
  };
}

function runRunner(m: Machine, shell: Shell, extra: Record<string, string> = {}): { status: number | null; stderr: string } {
  const r = spawnSync(shell.argv[0] as string, [...shell.argv.slice(1), runSh], { env: env(m, shell, extra), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stderr: r.stderr };
}

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const read = (p: string): string => (existsSync(p) ? readFileSync(p, 'utf8') : '');

t.test('run.sh is shipped on the seed beside collect.sh', async (t) => {
  t.ok(seed.files['vmspec/collect.sh'], 'collect.sh on the seed');
  t.equal(readFileSync(runSh, 'utf8'), readFileSync(join(repoRoot, 'boot', 'cloud-init', 'run.sh'), 'utf8'));
});

for (const shell of shells) {
  t.test(`${shell.name}: write phase, tar on the evidence disk, done line, power off`, async (t) => {
    const m = machine(`write-${shell.name}`, { vdb: (p) => createEvidenceDisk(p, { sizeBytes: 4 * 1024 * 1024, phase: 'write', nonce: 'N0nce42' }) });
    const vda = sha(join(m.dev, 'vda'));
    const sr0 = sha(join(m.dev, 'sr0'));
    const r = runRunner(m, shell);
    t.equal(r.status, 0, 'run.sh exits 0', { stderr: r.stderr });
    const log = read(m.console);
    t.match(log, /^VMSPEC-DONE rc=0$/m, 'done line on the console');
    t.match(log, /phase write nonce N0nce42 \(from the header of .*\/vdb\)/);
    t.equal(read(m.poweroff), 'poweroff\n', 'powered off exactly once');
    t.equal(sha(join(m.dev, 'vda')), vda, 'the root disk is untouched');
    t.equal(sha(join(m.dev, 'sr0')), sr0, 'a CD-ROM device is never written, header or not');

    const s = new TarSysroot(join(m.dev, 'vdb'));
    t.teardown(() => s.close());
    const report = s.verify();
    t.ok(report.ok, 'the bundle matches its manifest', { issues: report.issues });
    t.ok(report.checked > 3, 'files checked');
    t.match(s.manifest?.efiVariableTest, { phase: 'write', nonce: 'N0nce42', result: 'written' });
    t.equal(s.manifest?.root, m.root);
    t.equal(readText(s, '/proc/version'), 'Linux version 6.1.0-fake\n');
    t.same(readdirSync(join(m.dir, 'tmp')), [], 'no work directory left behind');
    // The watchdog saw the run end and stayed quiet.
    await new Promise((res) => setTimeout(res, 1500));
    t.equal(read(m.poweroff), 'poweroff\n', 'the watchdog did not power off again');
  });
}

t.test('check phase and a header without a phase', async (t) => {
  const shell = shells[0] as Shell;
  const m = machine('check', { vdc: (p) => createEvidenceDisk(p, { sizeBytes: 4 * 1024 * 1024, phase: 'check', nonce: 'Abc123' }) });
  t.equal(runRunner(m, shell).status, 0);
  const s = new TarSysroot(join(m.dev, 'vdc'));
  t.match(s.manifest?.efiVariableTest, { phase: 'check', nonce: 'Abc123', result: 'absent' });
  s.close();

  const plain = machine('plain', { xvdb: (p) => createEvidenceDisk(p, { sizeBytes: 2 * 1024 * 1024 }) });
  t.equal(runRunner(plain, shell).status, 0, 'a Xen PV disk name is found too');
  const p = new TarSysroot(join(plain.dev, 'xvdb'));
  t.equal(p.manifest?.efiVariableTest, null, 'no phase: no variable test');
  t.ok(p.verify().ok);
  p.close();
});

t.test('a damaged header is reported, the disk left alone, the VM still powered off', async (t) => {
  const shell = shells[0] as Shell;
  const cases: [string, string, RegExp][] = [
    ['phase', `${EVIDENCE_DISK_MAGIC}\nphase=erase\nnonce=abc\n`, /phase "erase" must be write or check/],
    ['nonce', `${EVIDENCE_DISK_MAGIC}\nphase=write\nnonce=a-b\n`, /nonce "a-b" must be 1-64 letters and digits/],
    ['long nonce', `${EVIDENCE_DISK_MAGIC}\nphase=write\nnonce=${'x'.repeat(65)}\n`, /longer than 64/],
    ['nonce only', `${EVIDENCE_DISK_MAGIC}\nnonce=abc\n`, /nonce without phase=/],
    ['magic', `${EVIDENCE_DISK_MAGIC}0\nphase=write\nnonce=abc\n`, /first line is not exactly/],
  ];
  for (const [name, header, msg] of cases) {
    const m = machine(`bad-${name.replace(/ /g, '-')}`, {
      vdb: (p) => {
        const b = Buffer.alloc(1024 * 1024);
        b.write(header);
        writeFileSync(p, b);
      },
    });
    const before = sha(join(m.dev, 'vdb'));
    const r = runRunner(m, shell);
    t.equal(r.status, 2, `${name}: exit 2`);
    const log = read(m.console);
    t.match(log, msg, `${name}: says what is wrong`);
    t.match(log, /recreate the evidence disk/, `${name}: says how to fix it`);
    t.match(log, /^VMSPEC-DONE rc=2$/m);
    t.equal(read(m.poweroff), 'poweroff\n');
    t.equal(sha(join(m.dev, 'vdb')), before, `${name}: disk not written`);
  }
});

t.test('no evidence disk: the bundle goes to the console as a frame, rc=3', async (t) => {
  for (const shell of shells) {
    const m = machine(`nodisk-${shell.name}`, {});
    const r = runRunner(m, shell);
    t.equal(r.status, 3, shell.name);
    const log = readFileSync(m.console);
    t.match(log.toString('utf8'), /no disk starts with "VMSPEC-EVIDENCE-DISK 1"/);
    t.match(log.toString('utf8'), /^VMSPEC-DONE rc=3$/m);
    const s = new TarSysroot(new BufferByteSource(extractConsoleBundle(log), 'console'));
    t.ok(s.verify().ok, 'the console frame holds a verifiable bundle');
    t.equal(read(m.poweroff), 'poweroff\n');
  }
});

t.test('a missing collector is reported and the VM powered off', async (t) => {
  const shell = shells[0] as Shell;
  const m = machine('nocollector', { vdb: (p) => createEvidenceDisk(p, { sizeBytes: 1024 * 1024 }) });
  const r = runRunner(m, shell, { VMSPEC_COLLECT: join(m.dir, 'nowhere', 'collect.sh') });
  t.equal(r.status, 2);
  t.match(read(m.console), /collector .*nowhere\/collect\.sh is missing/);
  t.match(read(m.console), /^VMSPEC-DONE rc=2$/m);
  t.equal(read(m.poweroff), 'poweroff\n');
});

t.test('watchdog: a hung collector still ends in VMSPEC-DONE rc=124 and a power off', async (t) => {
  const shell = shells[0] as Shell;
  const m = machine('hung', { vdb: (p) => createEvidenceDisk(p, { sizeBytes: 1024 * 1024 }) });
  const hang = join(m.dir, 'hang.sh');
  writeFileSync(hang, 'sleep 60\n');
  const child = spawn(shell.argv[0] as string, [...shell.argv.slice(1), runSh], {
    env: env(m, shell, { VMSPEC_COLLECT: hang, VMSPEC_DEADLINE: '2' }),
    stdio: 'ignore',
    detached: true,
  });
  const started = Date.now();
  t.teardown(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  while (!read(m.poweroff) && Date.now() - started < 20_000) await new Promise((res) => setTimeout(res, 200));
  t.equal(read(m.poweroff), 'poweroff\n', 'powered off by the watchdog');
  t.ok(Date.now() - started < 15_000, 'within the deadline and a little');
  t.match(read(m.console), /collection still running after 2s: powering off/);
  t.match(read(m.console), /^VMSPEC-DONE rc=124$/m);
});
