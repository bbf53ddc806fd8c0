import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { specRoot } from '../package/paths.js';
import type { Requirement, SameCheckRef } from './requirement.js';
import type { SpecLoad, SpecSet } from './spec-load.js';

/**
 * `sameCheckAs: { spec, id }`: a clause checked exactly as a clause of
 * another spec is (a v1 clause whose check is a v2 clause's). The check —
 * probe, params, needs, when, expect — is taken at load, so evaluation, reports
 * and results never see the difference from a clause that wrote it out.
 */
export type Check = Pick<Requirement, 'probe' | 'params' | 'needs' | 'when' | 'expect'>;

/** The directory of the spec a `sameCheckAs` names: beside this spec's directory, else the built-in one. */
export function sameCheckSpecDir(fromDir: string, name: string): string | undefined {
  return [join(dirname(fromDir), name), join(specRoot, name)].find((d) => existsSync(join(d, 'spec.yaml')));
}

/** The specs a spec's `sameCheckAs` clauses name. */
export function sameCheckSpecNames(spec: Pick<SpecSet, 'requirements'>): string[] {
  return [...new Set(spec.requirements.flatMap((r) => (r.sameCheckAs ? [r.sameCheckAs.spec] : [])))].sort();
}

/**
 * Resolves the `sameCheckAs` clauses of the spec in `fromDir`. Each named
 * spec is loaded once, from its own files only (`loadFiles`): a clause it
 * names must write its check out, so references are one step and cannot loop.
 */
export class SameChecks {
  readonly #specs = new Map<string, { spec?: SpecSet; problem?: string }>();

  constructor(
    private readonly fromDir: string,
    private readonly loadFiles: (dir: string) => SpecLoad,
  ) {}

  check(ref: SameCheckRef, ownSpecId: string): { check: Check } | { problem: string } {
    if (ref.spec === ownSpecId) return { problem: 'names this spec; sameCheckAs takes the check of another spec\'s clause' };
    const other = this.#spec(ref.spec);
    if (!other.spec) return { problem: other.problem ?? 'cannot be loaded' };
    const target = other.spec.requirements.find((r) => r.id === ref.id);
    if (!target) return { problem: `${ref.spec} has no clause ${ref.id}` };
    if (target.sameCheckAs) return { problem: `${ref.id} itself takes its check from ${target.sameCheckAs.spec} ${target.sameCheckAs.id}; name that clause` };
    if (!target.probe || !target.expect) return { problem: `${ref.id} is a manual clause: there is no check to share` };
    return { check: { probe: target.probe, params: target.params, ...(target.needs ? { needs: target.needs } : {}), ...(target.when ? { when: target.when } : {}), expect: target.expect } };
  }

  /** The specs whose clauses were taken, by id: their YAML decides the referring clauses' verdicts. */
  used(): SpecSet[] {
    return [...this.#specs.values()].flatMap((s) => (s.spec ? [s.spec] : [])).sort((a, b) => a.id.localeCompare(b.id));
  }

  #spec(name: string): { spec?: SpecSet; problem?: string } {
    let entry = this.#specs.get(name);
    if (!entry) {
      entry = this.#load(name);
      this.#specs.set(name, entry);
    }
    return entry;
  }

  #load(name: string): { spec?: SpecSet; problem?: string } {
    const dir = sameCheckSpecDir(this.fromDir, name);
    if (!dir) return { problem: `no spec directory "${name}" beside this spec's nor built in` };
    const { spec, issues } = this.loadFiles(dir);
    if (!spec || issues.length) return { problem: `spec ${name} has ${issues.length} problem(s) (run \`vmspec spec lint ${dir}\`)` };
    if (spec.id !== name) return { problem: `the spec in ${dir} has id "${spec.id}", not "${name}"` };
    return { spec };
  }
}
