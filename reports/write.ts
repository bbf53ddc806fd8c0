import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Write a report atomically: a temp file beside the target, then rename.
 * An interrupted run never leaves a truncated report that looks complete.
 */
export function writeAtomic(path: string, content: string): void {
  const target = resolve(path);
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

/** A report to a file (atomically) or to standard output; says where it went only on a terminal. */
export function emitReport(content: string, output: string | undefined): void {
  if (output) {
    writeAtomic(output, content);
    if (process.stderr.isTTY) process.stderr.write(`wrote ${output}\n`);
  } else {
    process.stdout.write(content);
  }
}
