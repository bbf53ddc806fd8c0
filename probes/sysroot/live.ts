import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { capOf } from './bundle.js';
import { NotFoundError, guestPath, splitGuestPath, type IntegrityIssue, type IntegrityReport, type ReadFileOptions, type Sysroot, type SysrootStat } from './types.js';

function liveError(e: unknown, path: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return new NotFoundError(path, 'live system');
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new UnsupportedError(`live system: ${path}: permission denied`, 'firmware tables and efivars are readable by root only: run as root');
  }
  return new UnsupportedError(`live system: ${path}: ${err.message}`);
}

/**
 * The running system's own `/` (vmspec verify --live). Read-only: files are
 * opened O_RDONLY|O_NONBLOCK and anything that is not a regular file after
 * opening (a device, a fifo) is refused without reading. /proc and /sys
 * files report a size of 0 or 4096, so they are read until EOF, up to the cap.
 */
export class LiveSysroot implements Sysroot {
  readonly kind = 'live' as const;
  readonly name = '/';
  readonly manifest = undefined;
  readonly issues: readonly IntegrityIssue[] = [];

  #path(path: string): string {
    return guestPath(splitGuestPath(path, 'live system'));
  }

  exists(path: string): boolean {
    return existsSync(this.#path(path));
  }

  stat(path: string): SysrootStat | undefined {
    const p = this.#path(path);
    try {
      const st = statSync(p);
      if (st.isFile()) return { type: 'file', size: st.size };
      if (st.isDirectory()) return { type: 'dir' };
      return { type: 'other', what: st.isBlockDevice() ? 'block device' : st.isCharacterDevice() ? 'character device' : st.isFIFO() ? 'fifo' : 'socket' };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw liveError(e, p);
    }
  }

  readFile(path: string, opts?: ReadFileOptions): Uint8Array {
    const cap = capOf(opts);
    const p = this.#path(path);
    let fd: number;
    try {
      fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw liveError(e, p);
    }
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new UnsupportedError(`live system: ${p} is a directory`);
      if (!st.isFile()) throw new UnsupportedError(`live system: ${p} is not a regular file: refused`);
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const want = Math.min(64 * 1024, cap + 1 - total);
        const buf = new Uint8Array(Math.max(want, 1));
        let n: number;
        try {
          n = readSync(fd, buf, 0, buf.length, null);
        } catch (e) {
          throw liveError(e, p);
        }
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
        if (total > cap) throw new ParseError('live system', -1, `${p} is more than the ${cap}-byte cap`);
      }
      const out = new Uint8Array(total);
      let pos = 0;
      for (const c of chunks) {
        out.set(c, pos);
        pos += c.length;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }

  readdir(path: string): string[] {
    const p = this.#path(path);
    try {
      return readdirSync(p).sort();
    } catch (e) {
      throw liveError(e, p);
    }
  }

  readlink(path: string): string {
    const p = this.#path(path);
    try {
      return readlinkSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EINVAL') throw new UnsupportedError(`live system: ${p} is not a symlink`);
      throw liveError(e, p);
    }
  }

  verify(): IntegrityReport {
    return { hasManifest: false, checked: 0, ok: true, issues: [] };
  }

  close(): void {
    // Nothing held open between calls.
  }
}
