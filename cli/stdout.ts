import { writeSync } from 'node:fs';

/**
 * Standard output without process.stdout where it can: making that stream
 * loads node:stream and, for a pipe, node:net (~3 ms of every start), so
 * reports and listings go out with writeSync on fd 1. process.stdout takes
 * over, and keeps the order, when fd 1 is non-blocking and full (EAGAIN).
 * A closed pipe (`vmspec spec list | head`) ends the process quietly.
 */
let streamInUse = false;
let redirected: ((text: string) => void) | undefined;

export function writeStdout(text: string): void {
  if (redirected) {
    redirected(text);
    return;
  }
  if (streamInUse) {
    process.stdout.write(text);
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < bytes.length) off += writeSync(1, bytes, off);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') closedPipe();
    if (code !== 'EAGAIN') throw e;
  }
  stdoutStream().write(bytes.subarray(off));
}

/** process.stdout, for what must write through it (a spinner, a pipe that is full). */
export function stdoutStream(): NodeJS.WriteStream {
  if (!streamInUse) {
    streamInUse = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') closedPipe();
      throw e;
    });
  }
  return process.stdout;
}

function closedPipe(): never {
  process.exit(process.exitCode ?? 0);
}

/** Sends what would go to standard output to `to` instead, until called with undefined: for running a command in-process (tests). */
export function redirectStdout(to: ((text: string) => void) | undefined): void {
  redirected = to;
}
