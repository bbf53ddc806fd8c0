import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import { packageRoot } from '../../package/paths.js';
import { DEFAULT_HOSTNAME, checkInstanceId, metaData, newInstanceId } from './meta-data.js';
import { NETWORK_CONFIG_DISABLED } from './network-config.js';
import { SEED_LABEL, userData } from './user-data.js';
import { vfatBytesNeeded, writeVfatImage, type VfatFile } from './vfat-image.js';

/**
 * The cloud-init NoCloud seed `vmspec boot` attaches to a cloud image: a
 * small VFAT volume labelled CIDATA holding meta-data, user-data,
 * network-config and vmspec/{collect.sh,run.sh}. The same files are also
 * written as plain files (for an ISO seed, or to read in tests). Apart from
 * the instance id in meta-data, every byte is fixed by the inputs.
 */

export type SeedFileName = 'meta-data' | 'user-data' | 'network-config' | 'vmspec/collect.sh' | 'vmspec/run.sh';

export interface SeedFile {
  name: SeedFileName;
  data: Buffer;
}

export interface SeedContentOptions {
  /** Default: a fresh random "vmspec-<16 hex>". */
  instanceId?: string;
  /** local-hostname (default "vmspec-guest"). */
  hostname?: string;
  /** "disabled" (default) writes network-config turning cloud-init networking off; "image-default" leaves the file out. */
  network?: 'disabled' | 'image-default';
  /** power_state timeout, seconds (default 120). */
  powerStateTimeout?: number;
}

export interface NoCloudSeedOptions extends SeedContentOptions {
  /** Output directory, created if missing; must be empty. Receives seed.img and files/. */
  outDir: string;
  /** Volume size in bytes (multiple of 1024); default: what the files need, at least 256 KiB. */
  sizeBytes?: number;
}

export interface NoCloudSeed {
  /** The VFAT volume (attach it as a raw, read-only disk). */
  path: string;
  label: typeof SEED_LABEL;
  instanceId: string;
  /** The plain-file copy of the volume's content. */
  dir: string;
  /** Every file on the volume, by its name there. */
  files: Partial<Record<SeedFileName, { path: string; size: number; sha256: string }>>;
}

/** Timestamp of every file on the seed (2000-01-01T00:00:00Z): content alone decides the bytes. */
export const SEED_EPOCH = 946684800;

export function collectorPath(): string {
  return join(packageRoot, 'probes', 'guest', 'collect.sh');
}

export function runnerPath(): string {
  return join(packageRoot, 'boot', 'cloud-init', 'run.sh');
}

function readScript(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UnsupportedError(`cannot read ${what} at ${path}: ${(e as Error).message} (is the vmspec installation complete?)`);
  }
}

/** The seed's files, in the order they go on the volume. */
export function seedFiles(opts: SeedContentOptions = {}): SeedFile[] {
  const instanceId = opts.instanceId ?? newInstanceId();
  checkInstanceId(instanceId);
  const network = opts.network ?? 'disabled';
  if (network !== 'disabled' && network !== 'image-default') {
    throw new UnsupportedError(`network ${JSON.stringify(network)} must be "disabled" or "image-default"`);
  }
  const files: SeedFile[] = [
    { name: 'meta-data', data: Buffer.from(metaData(instanceId, opts.hostname ?? DEFAULT_HOSTNAME)) },
    { name: 'user-data', data: Buffer.from(userData(opts.powerStateTimeout === undefined ? {} : { powerStateTimeout: opts.powerStateTimeout })) },
  ];
  if (network === 'disabled') files.push({ name: 'network-config', data: Buffer.from(NETWORK_CONFIG_DISABLED) });
  files.push({ name: 'vmspec/collect.sh', data: readScript(collectorPath(), 'the collector') });
  files.push({ name: 'vmspec/run.sh', data: readScript(runnerPath(), 'the guest runner') });
  return files;
}

/** The instance id a seed's meta-data names. */
export function instanceIdOf(files: readonly SeedFile[]): string {
  const md = files.find((f) => f.name === 'meta-data')?.data.toString('utf8') ?? '';
  const m = /^instance-id: (\S+)$/m.exec(md);
  if (!m?.[1]) throw new Error('internal: meta-data without an instance-id');
  return m[1];
}

/** Build the seed volume and its plain files under `opts.outDir`. */
export async function buildNoCloudSeed(opts: NoCloudSeedOptions): Promise<NoCloudSeed> {
  if (typeof opts.outDir !== 'string' || opts.outDir === '') throw new UnsupportedError('the seed needs an output directory (outDir)');
  const outDir = resolve(opts.outDir);
  if (existsSync(outDir)) {
    if (!statSync(outDir).isDirectory()) throw new UnsupportedError(`seed output ${outDir} exists and is not a directory: give a new or empty directory`);
    if (readdirSync(outDir).length > 0) throw new UnsupportedError(`seed output ${outDir} is not empty: give a new or empty directory`);
  }
  const files = seedFiles(opts);
  const vfatFiles: VfatFile[] = files.map((f) => ({ name: f.name, data: f.data }));
  const sizeBytes = opts.sizeBytes ?? vfatBytesNeeded(vfatFiles);

  mkdirSync(outDir, { recursive: true });
  const dir = join(outDir, 'files');
  const out: NoCloudSeed['files'] = {};
  for (const f of files) {
    const p = join(dir, ...f.name.split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.data);
    chmodSync(p, f.name.endsWith('.sh') ? 0o755 : 0o644);
    utimesSync(p, SEED_EPOCH, SEED_EPOCH);
    out[f.name] = { path: p, size: f.data.length, sha256: createHash('sha256').update(f.data).digest('hex') };
  }
  const path = join(outDir, 'seed.img');
  await writeVfatImage(path, vfatFiles, { label: SEED_LABEL, sizeBytes, epoch: SEED_EPOCH });
  return { path, label: SEED_LABEL, instanceId: instanceIdOf(files), dir, files: out };
}
