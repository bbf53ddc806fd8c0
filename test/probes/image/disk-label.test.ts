import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDir, run } from '../../fixtures/cache.js';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { analyzePartitionTable } from '../../../probes/image/partition-table.js';
import { vmspec } from '../../cli/cli-runner.js';

/**
 * Disks with a partition label other than GPT or MBR are named, not
 * reported as "no partition table". Sun and SGI labels are written by
 * `sfdisk --label`; the BSD disklabel by `fdisk` (nested in a 0xA5
 * partition, then its label sector placed where an i386 disk keeps it,
 * sector 1); Atari AHDI and IBM DASD, which no tool here writes, with the
 * bytes their documented layouts give (Linux block/partitions/atari.h,
 * block/partitions/ibm.c).
 */

const MiB = 1024 * 1024;
const disks = cachedDir('disk-labels', { v: 1, sfdisk: run('sfdisk', ['--version']).trim() }, (d) => {
  for (const label of ['sun', 'sgi', 'dos', 'gpt']) {
    run('truncate', ['-s', '8M', join(d, `${label}.img`)]);
    run('sfdisk', ['-q', join(d, `${label}.img`)], { input: `label: ${label}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  }
  const nested = join(d, 'bsd-nested.img');
  run('truncate', ['-s', '8M', nested]);
  run('sfdisk', ['-q', nested], { input: 'label: dos\nstart=2048, type=a5\n', stdio: ['pipe', 'pipe', 'pipe'] });
  run('fdisk', [nested], { input: 'b\ny\nw\n', stdio: ['pipe', 'pipe', 'pipe'] });
  const labelSector = readFileSync(nested).subarray(MiB + 512, MiB + 1024);
  const bare = Buffer.alloc(8 * MiB);
  labelSector.copy(bare, 512);
  writeFileSync(join(d, 'bsd.img'), bare);
});

const work = mkdtempSync(join(tmpdir(), 'vmspec-disk-labels-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function atari(): string {
  const b = Buffer.alloc(8 * MiB);
  const sectors = b.length / 512;
  b.writeUInt32BE(sectors, 0x1c2); // hd_siz
  b[0x1c6] = 0x01; // part[0].flg: active
  b.write('GEM', 0x1c7, 'latin1'); // part[0].id
  b.writeUInt32BE(2, 0x1ca); // part[0].st
  b.writeUInt32BE(sectors - 2, 0x1ce); // part[0].siz
  const path = join(work, 'atari.img');
  writeFileSync(path, b);
  return path;
}

function dasd(): string {
  const b = Buffer.alloc(8 * MiB);
  Buffer.from([0xe5, 0xd6, 0xd3, 0xf1]).copy(b, 2 * 4096); // EBCDIC "VOL1" at block 2 of 4096-byte blocks (CDL)
  const path = join(work, 'dasd.img');
  writeFileSync(path, b);
  return path;
}

function reading(path: string) {
  const src = new FileByteSource(path);
  try {
    return analyzePartitionTable(src);
  } finally {
    src.close();
  }
}

const CASES: [string, string, string][] = [
  ['sfdisk --label sun', join(disks, 'sun.img'), 'Sun disk label'],
  ['sfdisk --label sgi', join(disks, 'sgi.img'), 'SGI volume header'],
  ['fdisk BSD disklabel at sector 1', join(disks, 'bsd.img'), 'BSD disklabel'],
  ['Atari AHDI root sector', atari(), 'Atari AHDI root sector'],
  ['IBM DASD volume label', dasd(), 'IBM DASD volume label (VOL1)'],
];

for (const [label, path, name] of CASES) {
  t.test(`${label}: named, and V2-IMG-GPT fails saying so`, async (t) => {
    const r = reading(path);
    t.equal(r.scheme, 'none');
    t.match(r.otherLabel, { name });
    const cli = vmspec(['verify', path, '--only', 'V2-IMG-GPT', '--format', 'json']);
    t.equal(cli.status, 1);
    const res = (JSON.parse(cli.stdout) as { results: { id: string; status: string; message: string }[] }).results[0]!;
    t.match(res, { id: 'V2-IMG-GPT', status: 'fail', message: new RegExp(`^otherLabel is present.*the spec needs GPT.*"name":"${name.replace(/[()]/g, '\\$&')}"`) });
  });
}

t.test('GPT, an empty DOS label and a blank disk name no other label', async (t) => {
  t.equal(reading(join(disks, 'gpt.img')).otherLabel, null);
  t.equal(reading(join(disks, 'gpt.img')).scheme, 'gpt');
  t.equal(reading(join(disks, 'dos.img')).otherLabel, null);
  const blank = join(t.testdir({}), 'blank.img');
  writeFileSync(blank, Buffer.alloc(MiB));
  t.equal(reading(blank).otherLabel, null);
  const cli = vmspec(['verify', join(disks, 'gpt.img'), '--only', 'V2-IMG-GPT', '--format', 'json']);
  t.match(JSON.parse(cli.stdout), { results: [{ id: 'V2-IMG-GPT', status: 'pass' }] });
});
