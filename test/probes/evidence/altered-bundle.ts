import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { copyBundle } from '../../fixtures/evidence-bundles.js';

/**
 * A copy of a collector-made bundle with guest files added, replaced or
 * removed, and its manifest.json updated to match, as if the collector had
 * found the guest that way (so integrity checks stay clean and only the
 * change itself is judged).
 */
export function alteredBundle(src: string, dest: string, change: { write?: Record<string, Uint8Array>; remove?: string[] }): string {
  rmSync(dest, { recursive: true, force: true });
  copyBundle(src, dest);
  const manifestPath = join(dest, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Record<string, { size: number; sha256: string }> };
  for (const gone of change.remove ?? []) {
    const rel = gone.replace(/^\//, '');
    for (const k of Object.keys(manifest.files)) if (k === rel || k.startsWith(`${rel}/`)) delete manifest.files[k];
    rmSync(join(dest, rel), { recursive: true, force: true });
  }
  for (const [path, bytes] of Object.entries(change.write ?? {})) {
    const rel = path.replace(/^\//, '');
    mkdirSync(dirname(join(dest, rel)), { recursive: true });
    writeFileSync(join(dest, rel), bytes);
    manifest.files[rel] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 1));
  return dest;
}
