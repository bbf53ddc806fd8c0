import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { UnsupportedError } from '../../bytes/errors.js';
import { packageRoot } from '../../package/paths.js';
import { explainErrors, validator } from '../../requirements/schemas.js';
import { displayPath } from '../../package/display-path.js';
import { YAML_LIMITS, type YamlIssue } from '../../requirements/yaml-document.js';
import { parseValidatedYaml } from '../../requirements/yaml-validated.js';
import type { HashAlgorithm } from './digest.js';
import type { DiskFormat } from '../../probes/image/disk-format.js';
import { urlFileName } from './image-name.js';
import type { ObtainRequest } from './obtain.js';

/** The catalogue shipped with vmspec. */
export const REFERENCES_FILE = join(packageRoot, 'boot', 'references.yaml');

interface ReferenceCommon {
  /** What `--reference` takes. */
  name: string;
  description: string;
  format: DiskFormat;
  /** The image runs cloud-init, so the boot must give it a seed. */
  cloudInit: boolean;
  arch: 'aarch64';
  notes: string;
  /** Where the entry is written. */
  source: { file: string; line: number; column: number };
}

/** The locally built reference (`vmspec reference build`): nothing to download. */
export interface BuiltinReference extends ReferenceCommon {
  kind: 'builtin';
}

/** A public image: where it is and how to verify it (at least one of sha256, sha512, sums). */
export interface DownloadReference extends ReferenceCommon {
  kind: 'download';
  url: string;
  sha256?: string;
  sha512?: string;
  sums?: { url: string; algorithm: HashAlgorithm };
}

export type Reference = BuiltinReference | DownloadReference;

/** A references file that cannot be used: every problem with file:line:column. */
export class ReferencesError extends UnsupportedError {
  constructor(readonly issues: YamlIssue[]) {
    super(
      `the references file has errors:\n${issues.map((i) => `  ${i.file}:${i.line}:${i.column}: ${i.message}`).join('\n')}`,
      'fix each line named (the fields are described in schema/references.schema.json and docs/downloads.md)',
    );
  }
}

type RawReference = Omit<BuiltinReference, 'source'> | Omit<DownloadReference, 'source'>;

/** Parse and validate references YAML; throws ReferencesError listing every problem with its line. */
export function parseReferences(text: string, file: string): Reference[] {
  const checked = parseValidatedYaml(text, file, { validate: validator('references'), whenEmpty: 'expected a mapping with a "references" list', explain: explainReferenceErrors });
  if (!checked.ok) throw new ReferencesError(checked.issues);
  const { parsed } = checked;
  const raw = (parsed.value as { references: RawReference[] }).references;
  const issues: YamlIssue[] = [];
  const seen = new Map<string, number>();
  for (const [i, r] of raw.entries()) {
    const first = seen.get(r.name);
    if (first !== undefined) issues.push({ file, ...parsed.locate(['references', i, 'name']), message: `references.${i}.name: "${r.name}" is already used by references.${first}` });
    else seen.set(r.name, i);
    if (!r.description.trim()) issues.push({ file, ...parsed.locate(['references', i, 'description']), message: `references.${i}.description: must not be blank` });
    if (r.kind === 'download') {
      try {
        urlFileName(new URL(r.url));
      } catch (e) {
        issues.push({ file, ...parsed.locate(['references', i, 'url']), message: `references.${i}.url: ${(e as Error).message}` });
      }
    }
  }
  if (issues.length) throw new ReferencesError(issues);
  return raw.map((r, i) => ({ ...r, notes: r.notes.trim(), source: { file, ...parsed.locate(['references', i]) } }) as Reference);
}

/** Read a references file (default: the catalogue shipped with vmspec). */
export function loadReferences(path: string = REFERENCES_FILE): Reference[] {
  const shown = displayPath(path);
  let text: string;
  try {
    if (statSync(path).size > YAML_LIMITS.maxBytes) throw new ReferencesError([{ file: shown, line: 1, column: 1, message: `file is larger than ${YAML_LIMITS.maxBytes} bytes` }]);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ReferencesError) throw e;
    throw new ReferencesError([{ file: shown, line: 0, column: 0, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  return parseReferences(text, shown);
}

/** The reference called `name`, or an error listing the names there are. */
export function findReference(name: string, references: Reference[] = loadReferences()): Reference {
  const found = references.find((r) => r.name === name);
  if (found) return found;
  const known = references.map((r) => r.name);
  const near = known.filter((k) => k.startsWith(name.toLowerCase().split(/[-.]/)[0] ?? '') && name.length > 0);
  throw new UnsupportedError(
    `unknown reference "${name.slice(0, 100)}"${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : ''}`,
    `known references: ${known.join(', ')}`,
  );
}

/** What obtainImage needs to fetch and verify a download reference. */
export function obtainRequestFor(ref: DownloadReference): Pick<ObtainRequest, 'source' | 'sha256' | 'sha512' | 'sumsUrl' | 'sumsAlgorithm'> {
  return {
    source: ref.url,
    ...(ref.sha256 !== undefined ? { sha256: ref.sha256 } : {}),
    ...(ref.sha512 !== undefined ? { sha512: ref.sha512 } : {}),
    ...(ref.sums ? { sumsUrl: ref.sums.url, sumsAlgorithm: ref.sums.algorithm } : {}),
  };
}

/**
 * The schema's kind rules (if/then/else with anyOf and not) make ajv report
 * every branch; say them once, in the catalogue's own terms.
 */
function explainReferenceErrors(errors: ErrorObject[], value: unknown): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const plain: ErrorObject[] = [];
  for (const e of errors) {
    const index = /^\/references\/(\d+)$/.exec(e.instancePath)?.[1];
    const inKindRule = /\/(then|else)\//.test(e.schemaPath) || e.keyword === 'if';
    if (index === undefined || !inKindRule) {
      plain.push(e);
      continue;
    }
    const i = Number(index);
    const entry = (value as { references: Record<string, unknown>[] }).references[i] ?? {};
    const where = `references.${i}`;
    let message: string | undefined;
    if (e.keyword === 'not') message = `${where}: a builtin reference is built locally: it takes no url, sha256, sha512 or sums`;
    else if (e.keyword === 'anyOf') message = `${where}: a download reference needs a checksum: sha256, sha512 or sums (the publisher's checksum list)`;
    else if (e.keyword === 'required' && (e.params as { missingProperty?: string }).missingProperty === 'url' && e.schemaPath.includes('/else/')) message = `${where}: a download reference needs a url`;
    if (message && !out.some((o) => o.message === message)) out.push({ path: ['references', i, ...(e.keyword === 'not' && 'url' in entry ? ['url'] : [])], message });
  }
  return [...explainErrors(plain), ...out];
}
