import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';

/**
 * A small FAT volume built without root, the way cloud-localds builds its
 * vfat seed: `mkfs.vfat -C` creates the file, mtools fills it. Every byte
 * is fixed by the inputs: --invariant fixes the volume id and boot-sector
 * times, SOURCE_DATE_EPOCH (honoured by mtools) the directory entries'
 * times, and files are copied one by one in the order given.
 */

export interface VfatFile {
  /** "/"-separated path inside the volume; parent directories are created. */
  name: string;
  data: Uint8Array;
}

export interface VfatImageOptions {
  /** Volume label: 1-11 of A-Z 0-9 _ - (what every FAT driver accepts). */
  label: string;
  /** Multiple of 1 KiB (mkfs.vfat -C counts KiB blocks), 256 KiB to 64 MiB. */
  sizeBytes: number;
  /** Timestamp of every entry (Unix seconds, 1980-2107). */
  epoch: number;
}

export const MIN_VFAT_BYTES = 256 * 1024;
export const MAX_VFAT_BYTES = 64 * 1024 * 1024;
const FAT_EPOCH_MIN = 315532800; // 1980-01-01T00:00:00Z
const FAT_EPOCH_MAX = 4354819199; // 2107-12-31T23:59:59Z

/** Space the files need at most: each rounded to 4 KiB clusters, plus FATs, root directory and slack. */
export function vfatBytesNeeded(files: readonly VfatFile[]): number {
  const data = files.reduce((n, f) => n + Math.ceil(Math.max(1, f.data.length) / 4096) * 4096, 0);
  const raw = data * 1.25 + 128 * 1024;
  return Math.max(MIN_VFAT_BYTES, Math.ceil(raw / (64 * 1024)) * 64 * 1024);
}

function checkName(name: string): void {
  const parts = name.split('/');
  const ok = parts.length <= 4 && parts.every((p) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(p) && !p.endsWith('.'));
  if (!ok) {
    throw new UnsupportedError(`file name ${JSON.stringify(name)} cannot go on the seed volume: use up to 4 "/"-separated parts of A-Z a-z 0-9 . _ - (each starting with a letter or digit)`);
  }
}

async function tool(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  try {
    await execa(cmd, args, { env, extendEnv: true, timeout: 60_000, stdin: 'ignore' });
  } catch (e) {
    const err = e as { code?: string; stderr?: string; shortMessage?: string; message: string };
    if (err.code === 'ENOENT') {
      const pkg = cmd === 'mkfs.vfat' ? 'dosfstools' : 'mtools';
      throw new UnsupportedError(`${cmd} is not installed (needed to build the NoCloud seed volume)`, `apt-get install --no-install-recommends ${pkg}`);
    }
    throw new UnsupportedError(`${cmd} ${args.join(' ')} failed: ${err.shortMessage ?? err.message}\n${err.stderr ?? ''}`.trim());
  }
}

/** Build the volume at `path` (which must not exist yet). */
export async function writeVfatImage(path: string, files: readonly VfatFile[], opts: VfatImageOptions): Promise<void> {
  if (!/^[A-Z0-9_-]{1,11}$/.test(opts.label)) {
    throw new UnsupportedError(`volume label ${JSON.stringify(opts.label)} must be 1-11 characters of A-Z 0-9 _ -`);
  }
  const size = opts.sizeBytes;
  if (!Number.isSafeInteger(size) || size % 1024 !== 0 || size < MIN_VFAT_BYTES || size > MAX_VFAT_BYTES) {
    throw new UnsupportedError(`volume size ${size} must be a multiple of 1024 bytes from ${MIN_VFAT_BYTES} to ${MAX_VFAT_BYTES}`);
  }
  if (!Number.isSafeInteger(opts.epoch) || opts.epoch < FAT_EPOCH_MIN || opts.epoch > FAT_EPOCH_MAX) {
    throw new UnsupportedError(`timestamp ${opts.epoch} is outside what FAT can store (1980 to 2107)`);
  }
  const seen = new Set<string>();
  for (const f of files) {
    checkName(f.name);
    const key = f.name.toUpperCase(); // FAT names compare case-insensitively
    if (seen.has(key)) throw new UnsupportedError(`file ${f.name} is listed twice (FAT names ignore case)`);
    seen.add(key);
  }
  const needed = vfatBytesNeeded(files);
  if (needed > size) {
    throw new UnsupportedError(`a ${size}-byte volume is too small for these files: give at least ${needed} bytes, or leave the size out`);
  }
  if (existsSync(path)) throw new UnsupportedError(`${path} exists already: give a path that does not`);

  // mkfs.vfat lives in /usr/sbin, which a non-root PATH often lacks.
  const env = { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`, LC_ALL: 'C', TZ: 'UTC', SOURCE_DATE_EPOCH: String(opts.epoch), MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
  const staging = `${path}.files`;
  rmSync(staging, { recursive: true, force: true });
  try {
    await tool('mkfs.vfat', ['-C', '-n', opts.label, '--invariant', path, String(size / 1024)], env);
    const made = new Set<string>();
    for (const f of files) {
      const parts = f.name.split('/');
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        if (made.has(dir)) continue;
        await tool('mmd', ['-i', path, `::${dir}`], env);
        made.add(dir);
      }
      // mcopy reads from a file; staging keeps the caller's bytes exact.
      const local = join(staging, ...parts);
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, f.data);
      await tool('mcopy', ['-i', path, local, `::${posix.join('/', f.name)}`], env);
    }
  } catch (e) {
    rmSync(path, { force: true });
    throw e;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
