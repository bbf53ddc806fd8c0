import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import { BufferByteSource, FileByteSource } from '../../bytes/byte-source.js';
import { extractConsoleBundle, hasConsoleBundle } from './console.js';
import { DirectorySysroot } from './directory.js';
import { LiveSysroot } from './live.js';
import { TarSysroot, looksLikeTar, type TarLimits } from './tar.js';
import type { Sysroot } from './types.js';

export { LiveSysroot } from './live.js';
export { DirectorySysroot } from './directory.js';
export { TarSysroot, readTarIndex, DEFAULT_TAR_LIMITS, type TarLimits, type TarIndex, type TarEntry } from './tar.js';
export { extractConsoleBundle } from './console.js';
export type { EvidenceManifest, EfiVariableTest } from './manifest.js';
export * from './types.js';

const MAX_LOG = 512 * 1024 * 1024;

/**
 * Open evidence for reading: "/" → the live system; a directory → a bundle
 * directory; a file → a tar (or a raw evidence disk holding one), or a
 * serial log with a collect.sh --console frame.
 */
export function openSysroot(target: string, opts: { tarLimits?: TarLimits } = {}): Sysroot {
  if (resolve(target) === '/') return new LiveSysroot();
  let st;
  try {
    st = statSync(target);
  } catch (e) {
    throw new UnsupportedError(`${target}: ${(e as Error).message}`);
  }
  if (st.isDirectory()) return new DirectorySysroot(target);
  if (!st.isFile()) throw new UnsupportedError(`${target} is neither a directory nor a file`, 'give a bundle directory, a tar, an evidence disk image or a serial log');
  const src = new FileByteSource(target);
  let tar = false;
  try {
    tar = looksLikeTar(src);
  } finally {
    src.close();
  }
  if (tar) return new TarSysroot(target, opts.tarLimits);
  if (st.size <= MAX_LOG) {
    const log = readFileSync(target);
    if (hasConsoleBundle(log)) {
      return new TarSysroot(new BufferByteSource(extractConsoleBundle(log, target), `${target} (console frame)`), opts.tarLimits);
    }
  }
  throw new UnsupportedError(`${target}: not an evidence bundle (no tar header at offset 0, no VMSPEC EVIDENCE console frame)`);
}
