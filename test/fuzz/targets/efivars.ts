import { Ajv } from 'ajv';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { efivarsEvidenceProbe } from '../../../probes/evidence/efivars.probe.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import { Memo } from '../../../probes/types.js';
import { evidenceBundle, RECIPES } from '../../fixtures/evidence-bundles.js';
import type { FuzzTarget, Seed } from '../harness.js';
import { invariant } from './invariant.js';
import { tarOf } from '../tar-writer.js';

/**
 * efivarfs entries (4 attribute bytes + data) as evidence.efivars reads
 * them. Each seed is one real variable from a collect.sh bundle of an AAVMF
 * guest; a case puts the mutated bytes under the names the probe decodes
 * (BootOrder, BootCurrent, SecureBoot, SetupMode, the persistence test
 * variable, a Boot#### entry) in a bundle tar whose manifest lists them
 * with their true hashes, so the probe reads them rather than refusing an
 * altered bundle. The facts must satisfy the probe's own schema.
 */

const GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const EFIVARS = 'sys/firmware/efi/efivars';

function bundle(): { dir: string; manifest: Record<string, unknown> } {
  const dir = evidenceBundle('checkPresent', RECIPES.checkPresent).dir;
  return { dir, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown> };
}

function names(manifest: Record<string, unknown>): string[] {
  const test = (manifest.efiVariableTest as { name: string }).name;
  return ['BootOrder', 'BootCurrent', 'SecureBoot', 'SetupMode', 'Boot0000'].map((n) => `${n}-${GLOBAL}`).concat(test);
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validFacts = ajv.compile(efivarsEvidenceProbe.facts);

export function efivarsTarget(): FuzzTarget {
  let cached: { dir: string; manifest: Record<string, unknown> } | undefined;
  const base = () => (cached ??= bundle());
  return {
    name: 'efivars',
    runs: 1000,
    randomMaxLength: 64,
    randomWeight: 2,
    seeds: () => {
      const { dir } = base();
      return readdirSync(join(dir, EFIVARS)).sort().map((f): Seed => ({
        name: f,
        bytes: new Uint8Array(readFileSync(join(dir, EFIVARS, f))),
        fields: [{ at: 0, width: 4, endian: 'le', name: 'attributes' }, { at: 4, width: 2, endian: 'le', name: 'first data word' }],
      }));
    },
    run(bytes) {
      const { manifest } = base();
      const files: Record<string, { size: number; sha256: string }> = {};
      const members = names(manifest).map((n) => {
        files[`${EFIVARS}/${n}`] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
        return { name: `${EFIVARS}/${n}`, data: bytes };
      });
      const m = { ...manifest, files, symlinks: {}, absent: [], unreadable: [] };
      const root = new TarSysroot(new BufferByteSource(tarOf([{ name: 'manifest.json', data: JSON.stringify(m) }, ...members]), 'efivars.tar'));
      try {
        const facts = efivarsEvidenceProbe.run({ evidence: root, memo: new Memo() }, {});
        invariant(!(facts instanceof Promise), 'evidence.efivars runs synchronously');
        invariant(validFacts(facts), `facts break the probe's schema: ${JSON.stringify(validFacts.errors)}`);
        return facts;
      } finally {
        root.close();
      }
    },
  };
}
