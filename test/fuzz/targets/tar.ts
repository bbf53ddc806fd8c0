import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isReadError } from '../../../bytes/errors.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import { cachedDir, run } from '../../fixtures/cache.js';
import { evidenceBundle, RECIPES } from '../../fixtures/evidence-bundles.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';
import { sealTarHeader, tarHeaderOffsets } from '../tar-writer.js';

/**
 * The tar bundle reader (probes/sysroot/tar.ts): a real evidence bundle
 * written by collect.sh --tar, and GNU tar archives in gnu and pax format
 * (long names, symlinks, hard links). Fields: each header's size (octal),
 * typeflag, and the first bytes of name and linkname; the fixup re-seals
 * header checksums so mutations get past the first check.
 */

/** GNU tar's own archives of a small tree with long names and links. */
function gnuTar(format: 'gnu' | 'pax'): string {
  const dir = cachedDir('fuzz-gnu-tar', { v: 1, format, tar: run('tar', ['--version']).split('\n')[0] }, (d) => {
    const src = join(d, 'src');
    const deep = join(src, 'sys', 'firmware', 'a-directory-name-long-enough-to-need-a-long-name-record-'.repeat(2));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'file'), 'x'.repeat(1500));
    writeFileSync(join(src, 'manifest-less'), 'no manifest here\n');
    symlinkSync('sys/firmware', join(src, 'link'));
    run('ln', [join(src, 'manifest-less'), join(src, 'hard')]);
    run('tar', [`--format=${format}`, '--sort=name', '--mtime=@1700000000', '--owner=0', '--group=0', '-C', src, '-cf', join(d, 'a.tar'), '.']);
  });
  return join(dir, 'a.tar');
}

function tarSeed(name: string, path: string): Seed {
  const bytes = new Uint8Array(readFileSync(path));
  const fields: Field[] = [];
  const hot: [number, number][] = [];
  const headers = tarHeaderOffsets(bytes);
  for (const h of headers.slice(0, 64)) {
    hot.push([h, 512]);
    fields.push(
      { at: h + 124, width: 12, endian: 'octal', name: `size at ${h}`, values: [BigInt(bytes.length), 64n * 1024n * 1024n + 1n] },
      { at: h + 156, width: 1, endian: 'le', name: `typeflag at ${h}`, values: [...'0123456LKxgS'].map((c) => BigInt(c.charCodeAt(0))) },
      { at: h, width: 1, endian: 'le', name: `name[0] at ${h}`, values: [0x2fn, 0x2en, 0n] },
      { at: h + 157, width: 1, endian: 'le', name: `linkname[0] at ${h}`, values: [0x2fn, 0x2en] },
    );
  }
  return { name, bytes, fields, hot };
}

/** Re-seal every header a walk of the (mutated) archive finds. */
function sealAll(b: Uint8Array): void {
  for (const h of tarHeaderOffsets(b)) sealTarHeader(b, h);
}

/** What `vmspec verify --evidence BUNDLE.tar` does before probes run: index, manifest, verify, then reads. */
function exercise(bytes: Uint8Array): number {
  const root = new TarSysroot(new BufferByteSource(bytes, 'fuzz.tar'));
  try {
    root.verify();
    let n = 0;
    for (const e of root.index.entries.values()) {
      if (++n > 200) break;
      try {
        if (e.type === 'file') root.readFile(`/${e.name}`, { maxBytes: 64 * 1024 });
        else if (e.type === 'dir') root.readdir(`/${e.name}`);
        else root.stat(`/${e.name}`);
      } catch (err) {
        if (!isReadError(err)) throw err;
      }
    }
    return n;
  } finally {
    root.close();
  }
}

export const tarTarget: FuzzTarget = {
  name: 'tar',
  runs: 2000,
  randomMaxLength: 2048,
  seeds: () => [
    tarSeed('collect.sh-bundle', evidenceBundle('acpiGicv2', RECIPES.acpiGicv2).tar),
    tarSeed('gnu-tar-gnu', gnuTar('gnu')),
    tarSeed('gnu-tar-pax', gnuTar('pax')),
  ],
  fixup: sealAll,
  run: exercise,
};
