import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A run's private work directory (VARS copies, evidence disks, seeds,
 * serial logs). Removed at the end unless kept; after a failed boot only
 * the serial logs stay (small, and what the user needs).
 */
export class WorkDir {
  readonly path: string;
  private failedBoot = false;

  /** Made in `parent` (default: the system temporary directory). */
  constructor(parent: string | undefined) {
    this.path = mkdtempSync(join(parent ?? tmpdir(), 'vmspec-boot-'));
  }

  file(name: string): string {
    return join(this.path, name);
  }

  /** A boot failed: its serial log is named in the error, so it must outlive the cleanup. */
  keepSerialLogs(): void {
    this.failedBoot = true;
  }

  /** keep: leave everything (--keep); succeeded: the run finished, so no serial log is kept for an error. */
  cleanup(o: { keep: boolean; succeeded: boolean }): void {
    if (o.keep) return;
    if (!(this.failedBoot && !o.succeeded)) {
      rmSync(this.path, { recursive: true, force: true });
      return;
    }
    for (const name of safeList(this.path)) {
      if (!name.endsWith('-serial.log')) rmSync(join(this.path, name), { recursive: true, force: true });
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
