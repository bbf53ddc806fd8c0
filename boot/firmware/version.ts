import { digestFile } from '../../bytes/file-digest.js';
import { realpathSync } from 'node:fs';
import { execa } from 'execa';
import type { SelectedFirmware } from './types.js';

/**
 * Which firmware build ran, for the report: the Debian package that
 * installed the code file (`dpkg-query -S`, then its version from
 * `dpkg-query -W`), when there is one, and the sha256 of the code file,
 * always.
 */
export interface FirmwareVersion {
  codeFile: string;
  codeSha256: string;
  codeBytes: number;
  /** The package that owns the code file, or null with `unknownReason`. */
  package: { name: string; version: string } | null;
  unknownReason?: string;
}

async function dpkgQuery(args: string[]): Promise<{ ok: boolean; out: string; missing: boolean }> {
  try {
    const r = await execa('dpkg-query', args, { reject: false, timeout: 15_000, stdin: 'ignore', env: { LC_ALL: 'C' } });
    return { ok: r.exitCode === 0, out: String(r.stdout).trim(), missing: false };
  } catch {
    return { ok: false, out: '', missing: true };
  }
}

async function owningPackage(path: string): Promise<{ name: string; version: string } | string> {
  const candidates = [path];
  try {
    const real = realpathSync(path);
    if (real !== path) candidates.push(real);
  } catch {
    // sha256 below reports an unreadable file
  }
  for (const p of candidates) {
    const s = await dpkgQuery(['-S', p]);
    if (s.missing) return 'dpkg-query is not available (not a Debian-based host)';
    // "qemu-efi-aarch64: /usr/share/AAVMF/AAVMF_CODE.fd"; diversions print "diversion by ..." lines first.
    const line = s.out.split('\n').find((l) => l.endsWith(`: ${p}`) && !l.startsWith('diversion'));
    if (!s.ok || line === undefined) continue;
    const name = line.slice(0, line.indexOf(':')).split(',')[0]!.trim();
    const v = await dpkgQuery(['-W', '-f=${Version}', name]);
    if (v.ok && v.out) return { name, version: v.out };
    return `dpkg-query -W ${name} gave no version`;
  }
  return `${path} was not installed by a Debian package`;
}

export async function firmwareVersion(fw: SelectedFirmware): Promise<FirmwareVersion> {
  const [digest, owner] = await Promise.all([digestFile(fw.code.filename, ['sha256']), owningPackage(fw.code.filename)]);
  return {
    codeFile: fw.code.filename,
    codeSha256: digest.digests.sha256,
    codeBytes: digest.bytes,
    package: typeof owner === 'string' ? null : owner,
    ...(typeof owner === 'string' ? { unknownReason: owner } : {}),
  };
}
