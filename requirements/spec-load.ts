import { crypto } from '../bytes/lazy-builtins.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { explainErrors, validator } from './schemas.js';
import { specRoot } from '../package/paths.js';
import { displayPath } from '../package/display-path.js';
import { readSnapshot } from './spec-snapshot.js';
import { normaliseLevel, MANDATORY_LEVELS, type Requirement, type Expectation, type SameCheckRef, type TargetKind } from './requirement.js';
import { SameChecks, type Check } from './same-check.js';
import { parseYaml, YamlError, type ParsedYaml, type YamlIssue } from './yaml-document.js';
import type { Facts } from '../probes/types.js';

export interface SpecSection {
  title: string;
  page: number;
  file: string;
  summary?: string;
  requirements: Requirement[];
}

/** A spec version as data: its index, sections in spec order, and requirements. */
export interface SpecSet {
  id: string;
  title: string;
  version: string;
  revised?: string;
  source?: string;
  dir: string;
  /** sha256 over the YAML set (file names and contents, sorted by name). */
  sha256: string;
  labels: string[];
  sections: SpecSection[];
  requirements: Requirement[];
}

export interface SpecLoad {
  spec?: SpecSet;
  issues: YamlIssue[];
}

/** Thrown by `loadSpecOrThrow` when the spec has errors: a usage/input error (exit 2). */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(readonly issues: YamlIssue[]) {
    super(issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.message}`).join('\n'));
  }
}

/** Built-in spec names, or a directory holding spec.yaml. */
export function resolveSpecDir(nameOrPath: string): string {
  if (/^[a-z0-9][a-z0-9.-]*$/.test(nameOrPath) && existsSync(join(specRoot, nameOrPath, 'spec.yaml'))) {
    return join(specRoot, nameOrPath);
  }
  const dir = resolve(nameOrPath);
  if (existsSync(join(dir, 'spec.yaml'))) return dir;
  const builtins = ['vmspec-v1', 'vmspec-v2'].join(', ');
  throw new SpecError([{ file: nameOrPath, line: 0, column: 0, message: `not a built-in spec (${builtins}) nor a directory containing spec.yaml` }]);
}

function readYaml(path: string, issues: YamlIssue[]): ParsedYaml | undefined {
  const shown = displayPath(path);
  let text: string;
  try {
    if (statSync(path).size > 2 * 1024 * 1024) {
      issues.push({ file: shown, line: 1, column: 1, message: 'file is larger than 2 MiB; split it' });
      return undefined;
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    issues.push({ file: shown, line: 0, column: 0, message: `cannot read: ${(e as Error).message}` });
    return undefined;
  }
  try {
    return parseYaml(text, shown);
  } catch (e) {
    if (e instanceof YamlError) issues.push(...e.issues);
    else throw e;
    return undefined;
  }
}

function schemaIssues(parsed: ParsedYaml, schema: 'spec-index' | 'spec-file'): YamlIssue[] {
  const validate = validator(schema);
  if (validate(parsed.value)) return [];
  return explainErrors(validate.errors).map((p) => ({ file: parsed.file, ...parsed.locate(p.path), message: p.message }));
}

/**
 * Load and schema-validate a spec set, and give every `sameCheckAs` clause
 * the check of the clause it names (requirements/same-check.ts). Never throws for
 * bad content: issues carry file:line:column.
 */
export function loadSpec(dir: string): SpecLoad {
  return loadSpecFiles(dir, new SameChecks(dir, (other) => loadSpecFiles(other)));
}

/** The spec's files, schema-validated; without `sameChecks`, `sameCheckAs` clauses are left without a check. */
function loadSpecFiles(dir: string, sameChecks?: SameChecks): SpecLoad {
  const issues: YamlIssue[] = [];
  const indexPath = join(dir, 'spec.yaml');
  const index = readYaml(indexPath, issues);
  if (!index) return { issues };
  const indexIssues = schemaIssues(index, 'spec-index');
  if (indexIssues.length) return { issues: [...issues, ...indexIssues] };
  const idx = index.value as { id: string; title: string; version: string; revised?: string; source?: string; sections: string[]; labels: string[] };

  const hash = crypto().createHash('sha256');
  const files = ['spec.yaml', ...idx.sections];
  for (const f of [...files].sort()) {
    const p = join(dir, f);
    hash.update(`${f}\0`);
    if (existsSync(p)) hash.update(readFileSync(p));
    hash.update('\0');
  }

  const sections: SpecSection[] = [];
  for (const [i, file] of idx.sections.entries()) {
    if (basename(file) !== file) {
      issues.push({ file: index.file, ...index.locate(['sections', i]), message: `section file "${file}" must be a plain file name in the spec directory` });
      continue;
    }
    const parsed = readYaml(join(dir, file), issues);
    if (!parsed) continue;
    const fileIssues = schemaIssues(parsed, 'spec-file');
    if (fileIssues.length) {
      issues.push(...fileIssues);
      continue;
    }
    const raw = parsed.value as { section: string; page: number; summary?: string; requirements: RawRequirement[] };
    sections.push({
      title: raw.section,
      page: raw.page,
      file: parsed.file,
      ...(raw.summary ? { summary: raw.summary } : {}),
      requirements: raw.requirements.map((r, n) => {
        let check: Check | undefined;
        if (r.sameCheckAs && sameChecks) {
          const found = sameChecks.check(r.sameCheckAs, idx.id);
          if ('check' in found) check = found.check;
          else issues.push({ file: parsed.file, ...parsed.locate(['requirements', n, 'sameCheckAs']), message: `${r.id}: sameCheckAs ${r.sameCheckAs.spec} ${r.sameCheckAs.id}: ${found.problem}` });
        }
        return toRequirement(r, idx.id, raw, parsed, n, check);
      }),
    });
  }
  // The specs whose checks were taken are part of what this spec checks.
  for (const other of sameChecks?.used() ?? []) hash.update(`sameCheckAs\0${other.id}\0${other.sha256}\0`);
  const spec: SpecSet = {
    id: idx.id,
    title: idx.title,
    version: idx.version,
    ...(idx.revised ? { revised: idx.revised } : {}),
    ...(idx.source ? { source: idx.source } : {}),
    dir,
    sha256: hash.digest('hex'),
    labels: idx.labels,
    sections,
    requirements: sections.flatMap((s) => s.requirements),
  };
  return { spec, issues };
}

export function loadSpecOrThrow(nameOrPath: string): SpecSet {
  const dir = resolveSpecDir(nameOrPath);
  const snapshot = readSnapshot(dir);
  if (snapshot) return snapshot;
  const { spec, issues } = loadSpec(dir);
  if (issues.length || !spec) throw new SpecError(issues);
  return spec;
}

interface RawRequirement {
  id: string;
  ref: { spec?: string; section?: string; page?: number; label: string };
  level: string;
  target: TargetKind;
  title: string;
  text: string;
  probe?: string;
  params?: Facts;
  needs?: Expectation[];
  when?: Expectation[];
  expect?: Expectation[];
  sameCheckAs?: SameCheckRef;
  manual?: string;
  tags?: string[];
  remediation?: string;
  informative?: boolean;
}

function toRequirement(r: RawRequirement, specId: string, file: { section: string; page: number }, parsed: ParsedYaml, n: number, check?: Check): Requirement {
  // The schema's pattern admits only known keywords, so this always resolves.
  const level = normaliseLevel(r.level)!;
  // A sameCheckAs clause's check is the named clause's; everything else is its own.
  const { probe, params, needs, when, expect } = check ?? { probe: r.probe, params: r.params ?? {}, needs: r.needs, when: r.when, expect: r.expect };
  return {
    id: r.id,
    ref: { spec: r.ref.spec ?? specId, section: r.ref.section ?? file.section, page: r.ref.page ?? file.page, label: r.ref.label },
    level,
    levelAsWritten: r.level.toUpperCase(),
    mandatory: MANDATORY_LEVELS.has(level) && !r.informative,
    target: r.target,
    title: r.title.trim(),
    text: r.text.trim(),
    ...(probe ? { probe } : {}),
    params,
    ...(needs ? { needs } : {}),
    ...(when ? { when } : {}),
    ...(expect ? { expect } : {}),
    ...(r.sameCheckAs ? { sameCheckAs: { spec: r.sameCheckAs.spec, id: r.sameCheckAs.id } } : {}),
    ...(r.manual ? { manual: r.manual.trim() } : {}),
    tags: r.tags ?? [],
    ...(r.remediation ? { remediation: r.remediation.trim() } : {}),
    informative: r.informative ?? false,
    source: { file: parsed.file, ...parsed.locate(['requirements', n]) },
  };
}
