import { existsSync, renameSync, rmSync } from 'node:fs';

/**
 * Publishes a finished build (`tmp`, beside `dir`) as its cache entry in one
 * rename, so a reader never sees half an entry. When another build of the
 * same key got there first (its `marker` file is in place), that entry is
 * kept and this one dropped: both came from the same inputs.
 */
export function publishCacheEntry(tmp: string, dir: string, marker: string): void {
  try {
    renameSync(tmp, dir);
  } catch (e) {
    if (!existsSync(marker)) throw e;
    rmSync(tmp, { recursive: true, force: true });
  }
}
