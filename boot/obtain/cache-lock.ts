import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { UnsupportedError } from '../../bytes/errors.js';

/** A held lock; release() is idempotent. */
export interface CacheLock {
  release(): void;
}

/**
 * Take the per-URL download lock (O_EXCL create). Two processes appending to
 * one .part would corrupt it, so a second downloader is refused with who
 * holds the lock. A lock left by a process that no longer exists on this
 * host is taken over.
 */
export function acquireCacheLock(path: string, what: string): CacheLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
      } finally {
        closeSync(fd);
      }
      let held = true;
      return {
        release() {
          if (held) rmSync(path, { force: true });
          held = false;
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readHolder(path);
      if (holder && holder.host === hostname() && !processExists(holder.pid)) {
        rmSync(path, { force: true }); // stale: its process is gone
        continue;
      }
      throw new UnsupportedError(
        `${what} is being downloaded by another process${holder ? ` (pid ${holder.pid} on ${holder.host})` : ''}: the lock ${path} is held`,
        `wait for that download to finish, or delete ${path} if no vmspec is running`,
      );
    }
  }
  throw new UnsupportedError(`cannot take the download lock ${path}`, `delete ${path} if no vmspec is running`);
}

function readHolder(path: string): { pid: number; host: string } | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8').slice(0, 4096)) as { pid?: unknown; host?: unknown };
    return Number.isSafeInteger(v.pid) && typeof v.host === 'string' ? { pid: v.pid as number, host: v.host } : undefined;
  } catch {
    return undefined;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
