import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNoCloudSeed, seedFiles, type NoCloudSeed } from '../../../boot/cloud-init/seed.js';
import { checkHostname, checkInstanceId, metaData } from '../../../boot/cloud-init/meta-data.js';
import { UnsupportedError } from '../../../bytes/errors.js';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { openFat } from '../../../probes/image/fat.js';
import { repoRoot } from '../../fixtures/cache.js';

/**
 * The NoCloud seed read back three ways: mtools (the real tools' view of
 * the FAT volume), the project's own FAT reader, and cloud-init's own
 * NoCloud datasource and network-config selection (Debian's cloud-init
 * 22.4 Python package), which is what a booting guest runs.
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-seed-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C' };
const NAMES = ['meta-data', 'user-data', 'network-config', 'vmspec/collect.sh', 'vmspec/run.sh'] as const;

function mtype(img: string, name: string): Buffer {
  return execFileSync('mtype', ['-i', img, `::${name}`], { env: mtoolsEnv, maxBuffer: 64 * 1024 * 1024 });
}

let n = 0;
async function build(opts: Omit<Parameters<typeof buildNoCloudSeed>[0], 'outDir'> = {}): Promise<NoCloudSeed> {
  return buildNoCloudSeed({ outDir: join(work, `seed-${n++}`), ...opts });
}

t.test('the volume: label CIDATA, the five files, byte-identical to the plain copies (mtools)', async (t) => {
  const seed = await build({ instanceId: 'vmspec-abc.1_2' });
  t.equal(seed.label, 'CIDATA');
  t.equal(seed.instanceId, 'vmspec-abc.1_2');
  t.same(Object.keys(seed.files), [...NAMES]);
  const dir = execFileSync('mdir', ['-i', seed.path, '::'], { env: mtoolsEnv, encoding: 'utf8' });
  t.match(dir, /Volume in drive : is CIDATA/);
  const label = execFileSync('mlabel', ['-i', seed.path, '-s', '::'], { env: mtoolsEnv, encoding: 'utf8' });
  t.match(label, /Volume label is CIDATA/);
  const listing = execFileSync('mdir', ['-/', '-b', '-i', seed.path, '::'], { env: mtoolsEnv, encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && !l.endsWith('/'))
    .map((l) => l.replace(/^::\//, ''))
    .sort();
  t.same(listing, [...NAMES].sort(), 'exactly these files on the volume');
  for (const name of NAMES) {
    const f = seed.files[name];
    if (!f) throw new Error(`missing ${name}`);
    t.same(mtype(seed.path, name), readFileSync(f.path), `${name} identical on the volume and as a plain file`);
  }
  t.equal(readFileSync(seed.files['meta-data']?.path as string, 'utf8'), 'instance-id: vmspec-abc.1_2\nlocal-hostname: vmspec-guest\n');
  t.equal(readFileSync(seed.files['vmspec/collect.sh']?.path as string, 'utf8'), readFileSync(join(repoRoot, 'probes', 'guest', 'collect.sh'), 'utf8'));
  const file = execFileSync('file', ['-b', seed.path], { encoding: 'utf8' });
  t.match(file, /FAT \(12 bit\)/, 'a small FAT12 volume, as file(1) sees it');
});

t.test('the volume through the project FAT reader', async (t) => {
  const seed = await build({ instanceId: 'vmspec-fat' });
  const src = new FileByteSource(seed.path);
  t.teardown(() => src.close());
  const fat = openFat(src);
  t.same(fat.problems, []);
  t.equal(fat.readDir('root').volumeLabel, 'CIDATA');
  const walked = [...fat.walk()].map((w) => w.path);
  t.same(walked.sort(), ['/meta-data', '/network-config', '/user-data', '/vmspec', '/vmspec/collect.sh', '/vmspec/run.sh']);
  for (const name of NAMES) {
    const node = fat.lookup(name);
    t.equal(node?.kind, 'file', name);
    if (node?.entry) t.same(Buffer.from(fat.readFile(node.entry)), readFileSync(seed.files[name]?.path as string), `${name} identical through FatVolume`);
  }
});

t.test('deterministic apart from the instance id', async (t) => {
  const a = await build({ instanceId: 'vmspec-same' });
  const b = await build({ instanceId: 'vmspec-same' });
  t.same(readFileSync(a.path), readFileSync(b.path), 'same inputs, same volume bytes');
  const c = await build({ instanceId: 'vmspec-othr' });
  for (const name of NAMES) {
    const same = a.files[name]?.sha256 === c.files[name]?.sha256;
    t.equal(same, name !== 'meta-data', `${name} ${name === 'meta-data' ? 'differs' : 'is the same'}`);
  }
  const r1 = seedFiles();
  const r2 = seedFiles();
  const id = (f: typeof r1): string => (f[0]?.data.toString('utf8') ?? '').split('\n')[0] ?? '';
  t.match(id(r1), /^instance-id: vmspec-[0-9a-f]{16}$/, 'a fresh random id by default');
  t.not(id(r1), id(r2), 'a new one every time');
});

t.test('network-config: present by default, absent on request', async (t) => {
  t.ok(seedFiles({ instanceId: 'x1' }).some((f) => f.name === 'network-config'));
  const without = await build({ instanceId: 'vmspec-nonet', network: 'image-default' });
  t.notOk(without.files['network-config']);
  const r = spawnSync('mtype', ['-i', without.path, '::network-config'], { env: mtoolsEnv, encoding: 'utf8' });
  t.not(r.status, 0, 'not on the volume either');
});

/** cloud-init's own NoCloud datasource reading a seed directory, then its network-config choice. */
const ORACLE = `
import atexit, json, logging, shutil, sys, tempfile
logging.disable(logging.CRITICAL)
from cloudinit import helpers, stages
from cloudinit.sources.DataSourceNoCloud import DataSourceNoCloud
tmp = tempfile.mkdtemp()
atexit.register(shutil.rmtree, tmp, True)
paths = helpers.Paths({"cloud_dir": tmp + "/cloud", "run_dir": tmp + "/run"})
# fs_label points nowhere, so only the seed directory is read (never a host disk).
ds = DataSourceNoCloud({"datasource": {"NoCloud": {"fs_label": "vmspec-none"}}}, None, paths)
ds.seed_dirs = [sys.argv[1]]
ok = ds._get_data()
init = stages.Init(ds_deps=[])
init._cfg = {"system_info": {"paths": {"cloud_dir": tmp + "/cloud", "run_dir": tmp + "/run"}}}
init.datasource = ds
ncfg, src = init._find_networking_config()
ud = ds.userdata_raw.decode() if isinstance(ds.userdata_raw, bytes) else ds.userdata_raw
print(json.dumps({"ok": ok, "instanceId": ds.get_instance_id(), "hostname": ds.metadata.get("local-hostname"),
  "userData": ud, "networkConfig": ncfg, "networkSource": str(src)}))
`;

interface OracleView {
  ok: boolean;
  instanceId: string;
  hostname: string;
  userData: string;
  networkConfig: unknown;
  networkSource: string;
}

function cloudInitReads(dir: string): OracleView {
  const r = spawnSync('/usr/bin/python3', ['-c', ORACLE, `${dir}/`], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`cloud-init oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleView;
}

const haveCloudInit = spawnSync('/usr/bin/python3', ['-c', 'import cloudinit'], { encoding: 'utf8' }).status === 0;

t.test('cloud-init\'s NoCloud datasource reads the files off the volume', { skip: haveCloudInit ? false : 'cloud-init is not installed (apt-get install cloud-init)' }, async (t) => {
  const seed = await build({ instanceId: 'vmspec-oracle', hostname: 'guest-7' });
  // Copy out of the FAT volume with mtools, so the oracle reads what the guest would.
  const out = join(work, 'oracle-disabled');
  mkdirSync(out);
  for (const name of ['meta-data', 'user-data', 'network-config']) writeFileSync(join(out, name), mtype(seed.path, name));
  const v = cloudInitReads(out);
  t.equal(v.ok, true, 'the datasource accepts the seed');
  t.equal(v.instanceId, 'vmspec-oracle');
  t.equal(v.hostname, 'guest-7');
  t.equal(v.userData, readFileSync(seed.files['user-data']?.path as string, 'utf8'));
  t.equal(v.networkConfig, null, 'networking is left unconfigured');
  t.match(v.networkSource, /DS|ds/, '... because the datasource said so');

  const plain = await build({ instanceId: 'vmspec-oracle2', network: 'image-default' });
  const v2 = cloudInitReads(plain.dir);
  t.equal(v2.instanceId, 'vmspec-oracle2');
  t.match(v2.networkSource, /fallback/i, 'without network-config cloud-init falls back to DHCP: the oracle can tell the difference');
});

t.test('inputs are validated with a message saying what and how', async (t) => {
  for (const bad of ['', 'a b', '../etc', '-x', 'x'.repeat(64), 'id\n', 'é']) {
    t.throws(() => checkInstanceId(bad), { name: 'UnsupportedError', message: /instance id .* is not usable: give 1-63 characters/ }, JSON.stringify(bad));
  }
  t.doesNotThrow(() => checkInstanceId('A'));
  t.doesNotThrow(() => checkInstanceId(`a${'b'.repeat(62)}`));
  for (const bad of ['', '-host', 'host-', 'a.b', 'h_st', 'x'.repeat(64)]) {
    t.throws(() => checkHostname(bad), { message: /hostname .* is not usable: give one DNS label/ }, JSON.stringify(bad));
  }
  t.throws(() => metaData('ok', 'bad host'), UnsupportedError);
  t.throws(() => seedFiles({ instanceId: 'ok', network: 'dhcp' as 'disabled' }), { message: /network "dhcp" must be "disabled" or "image-default"/ });
  t.throws(() => seedFiles({ instanceId: 'ok', powerStateTimeout: 0 }), { message: /power_state timeout 0 must be a whole number of seconds from 1 to 3600/ });
  t.throws(() => seedFiles({ instanceId: 'ok', powerStateTimeout: 1.5 }), { message: /whole number/ });

  await t.rejects(build({ instanceId: 'ok', sizeBytes: 300_000 }), { message: /multiple of 1024/ });
  await t.rejects(build({ instanceId: 'ok', sizeBytes: 1024 * 1024 * 1024 }), { message: /from 262144 to 67108864/ });
  const full = join(work, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'x'), 'x');
  await t.rejects(buildNoCloudSeed({ outDir: full, instanceId: 'ok' }), { message: /is not empty: give a new or empty directory/ });
  writeFileSync(join(work, 'afile'), 'x');
  await t.rejects(buildNoCloudSeed({ outDir: join(work, 'afile'), instanceId: 'ok' }), { message: /is not a directory/ });
  const big = await build({ instanceId: 'vmspec-big', sizeBytes: 2 * 1024 * 1024 });
  t.equal(readFileSync(big.path).length, 2 * 1024 * 1024, 'an explicit size is honoured');
});
