import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { openDisk } from '../probes/image/open-disk.js';
import type { DiskImage } from '../probes/image/disk.js';
import { evaluate } from './evaluate.js';
import { exitCodeFor, summarise, type RunResults, type Selection, type TargetInfo } from './results.js';
import { select } from './select.js';
import type { SpecSet } from './spec-load.js';
import { TOOL_VERSION } from './version.js';

export interface VerifyOptions {
  spec: SpecSet;
  selection: Selection;
  image?: string;
  /** Hash the whole image file (reads every byte: only on request). */
  sha256?: boolean;
  backing?: 'follow' | 'refuse';
}

/** spec → selection → probes → verdicts: one run, as results JSON. */
export async function verify(opts: VerifyOptions): Promise<RunResults> {
  const startedAt = new Date();
  const t0 = performance.now();
  const selected = select(opts.spec.requirements, opts.selection);
  let image: DiskImage | undefined;
  let target: TargetInfo = { kind: 'none', path: null, format: null, size: null, sha256: null };
  try {
    if (opts.image) {
      const opened = openDisk(opts.image, { backing: opts.backing ?? 'refuse' });
      image = opened;
      target = {
        kind: 'image',
        path: opts.image,
        format: opened.format,
        size: opened.disk.size,
        sha256: opts.sha256 ? await sha256File(opts.image) : null,
      };
    }
    const results = await evaluate(selected, { ...(image ? { image } : {}) });
    return {
      schemaVersion: 1,
      tool: { name: 'vmspec', version: TOOL_VERSION },
      spec: { id: opts.spec.id, title: opts.spec.title, version: opts.spec.version, sha256: opts.spec.sha256, path: opts.spec.dir },
      selection: opts.selection,
      target,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - t0),
      summary: summarise(results),
      exitCode: exitCodeFor(results),
      results,
    };
  } finally {
    image?.close();
  }
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}
