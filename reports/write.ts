import { mkdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Write a report atomically: a temp file beside the target, then rename.
 * An interrupted run never leaves a truncated report that looks complete.
 * A symlink is followed (the link stays a link); a device or FIFO such as
 * `-o /dev/null` or `-o /dev/stdout` is written to in place, never replaced.
 */
export function writeAtomic(path: string, content: string): void {
  let target = resolve(path);
  try {
    target = realpathSync(target);
  } catch {
    // does not exist yet
  }
  const existing = statOrUndefined(target);
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    writeFileSync(target, content);
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content, { mode: 0o644 });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
