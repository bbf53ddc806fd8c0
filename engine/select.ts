import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { globToRegExp } from '../probes/glob.js';
import { probeEntry } from '../probes/table.js';
import type { ProbeInputKind } from '../probes/types.js';
import { specRoot } from '../package/paths.js';
import { normaliseLevel, TARGETS, type Requirement, type TargetKind } from '../requirements/requirement.js';
import { explainErrors, validator } from '../requirements/schemas.js';
import type { Selection } from './results.js';
import { parseYaml } from '../requirements/yaml-document.js';

/** A usage error in the selection options: exit 2 with this message. */
export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

export interface Profile {
  name: string;
  description: string;
  only?: string[];
  section?: string[];
  level?: string[];
  target?: string[];
  tags?: string[];
}

const profileDir = join(specRoot, 'profiles');

/** Profile names from file names alone (cheap: used in --help). */
export function profileNames(): string[] {
  if (!existsSync(profileDir)) return [];
  return readdirSync(profileDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

export function listProfiles(): Profile[] {
  if (!existsSync(profileDir)) return [];
  return readdirSync(profileDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => loadProfileFile(join(profileDir, f)));
}

function loadProfileFile(path: string): Profile {
  const parsed = parseYaml(readFileSync(path, 'utf8'), path);
  const validate = validator('profile');
  if (!validate(parsed.value)) {
    const p = explainErrors(validate.errors)[0]!;
    const at = parsed.locate(p.path);
    throw new SelectionError(`${path}:${at.line}:${at.column}: ${p.message}`);
  }
  return parsed.value as Profile;
}

export function loadProfile(name: string): Profile {
  const found = listProfiles().find((p) => p.name === name);
  if (!found) throw new SelectionError(`unknown profile "${name}"; known profiles: ${listProfiles().map((p) => p.name).join(', ')}`);
  return found;
}

/** Split "a,b" lists from repeated or comma-separated options. */
export function splitList(values: string[] | string | undefined): string[] {
  if (values === undefined) return [];
  return (Array.isArray(values) ? values : [values]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

/**
 * Apply a selection. Each given criterion narrows the set (AND across
 * criteria, OR within one). A criterion that matches nothing in the spec is
 * a usage error, so a typo never silently selects nothing.
 */
export function select(requirements: Requirement[], sel: Selection): Requirement[] {
  const profile = sel.profile ? loadProfile(sel.profile) : undefined;
  const merged = {
    only: [...sel.only, ...(profile?.only ?? [])],
    section: [...sel.section, ...(profile?.section ?? [])],
    level: [...sel.level, ...(profile?.level ?? [])],
    target: [...sel.target, ...(profile?.target ?? [])],
    tags: [...sel.tags, ...(profile?.tags ?? [])],
  };
  let out = requirements;

  if (merged.only.length) {
    const patterns = merged.only.map((o) => ({ o, re: globToRegExp(o) }));
    for (const p of patterns) {
      if (!requirements.some((r) => p.re.test(r.id))) throw new SelectionError(`--only ${p.o}: no requirement id matches (see \`vmspec spec list\`)`);
    }
    out = out.filter((r) => patterns.some((p) => p.re.test(r.id)));
  }
  if (merged.section.length) {
    const wanted = merged.section.map((s) => s.toLowerCase());
    for (const w of wanted) {
      if (!requirements.some((r) => r.ref.section.toLowerCase().includes(w))) {
        const known = [...new Set(requirements.map((r) => r.ref.section))].join('; ');
        throw new SelectionError(`--section ${w}: no section matches (sections: ${known})`);
      }
    }
    out = out.filter((r) => wanted.some((w) => r.ref.section.toLowerCase().includes(w)));
  }
  if (merged.level.length) {
    const levels = merged.level.map((l) => {
      if (l.toLowerCase() === 'mandatory') return 'mandatory';
      const n = normaliseLevel(l);
      if (!n) throw new SelectionError(`--level ${l}: not a level (MUST, MUST NOT, SHALL, SHALL NOT, SHOULD, SHOULD NOT, RECOMMENDED, MAY, or "mandatory")`);
      return n;
    });
    out = out.filter((r) => levels.some((l) => (l === 'mandatory' ? r.mandatory : r.level === l)));
  }
  if (merged.target.length) {
    for (const t of merged.target) {
      if (!(TARGETS as readonly string[]).includes(t)) throw new SelectionError(`--target ${t}: not a target (${TARGETS.join(', ')})`);
    }
    out = out.filter((r) => merged.target.includes(r.target));
  }
  if (merged.tags.length) {
    for (const t of merged.tags) {
      if (!requirements.some((r) => r.tags.includes(t))) throw new SelectionError(`--tags ${t}: no requirement has this tag`);
    }
    out = out.filter((r) => merged.tags.some((t) => r.tags.includes(t)));
  }
  return out;
}

/** The selection options as a command line gives them (lists may be repeated and comma-separated). */
export interface SelectionFlags {
  profile?: string;
  only?: string[];
  section?: string[];
  level?: string[];
  target?: string[];
  tags?: string[];
}

/** A Selection from the selection options of verify, boot and lava-job. */
export function selectionFrom(o: SelectionFlags): Selection {
  return {
    profile: o.profile ?? null,
    only: splitList(o.only),
    section: o.section ?? [],
    level: splitList(o.level),
    target: splitList(o.target),
    tags: splitList(o.tags),
  };
}

/** Which targets each input kind shows (a disk image: the image and the OS in it; evidence: the guest and what it ran on; a boot: all). */
export const SHOWS: Record<ProbeInputKind, readonly TargetKind[]> = {
  image: ['image', 'guest'],
  evidence: ['guest', 'firmware', 'hypervisor'],
  boot: ['image', 'firmware', 'hypervisor', 'guest'],
};

/**
 * The default selection (no --profile, --only, --section, --level, --target
 * or --tags): the clauses the inputs given can observe. An automated clause
 * is selected when its probe reads one of `given` (so it can be decided); a
 * manual one when one of `given` shows its target. `vmspec verify IMAGE`
 * thus gets the image clauses and those judged from the image's root
 * filesystem, `--evidence` the clauses the guest's evidence decides, and a
 * boot (image, evidence and host record) every clause.
 */
export function observableFrom(requirements: Requirement[], given: readonly ProbeInputKind[]): Requirement[] {
  return requirements.filter((r) => {
    const input = r.probe && r.expect && r.manual === undefined ? probeEntry(r.probe)?.input : undefined;
    if (input) return given.includes(input);
    return given.some((k) => SHOWS[k].includes(r.target));
  });
}

/** Whether the options select anything at all (no profile, no filter: the command's default applies). */
export function selects(s: Selection): boolean {
  return s.profile !== null || [s.only, s.section, s.level, s.target, s.tags].some((v) => v.length > 0);
}
