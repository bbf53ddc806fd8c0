import type { Facts, Json } from '../probes/types.js';

/** RFC 2119 keywords as the suite normalises them. */
export const LEVELS = ['MUST', 'MUST NOT', 'SHALL', 'SHALL NOT', 'SHOULD', 'SHOULD NOT', 'RECOMMENDED', 'NOT RECOMMENDED', 'MAY'] as const;
export type Level = (typeof LEVELS)[number];

/** A failure of these fails the run (exit 1). */
export const MANDATORY_LEVELS: ReadonlySet<Level> = new Set(['MUST', 'MUST NOT', 'SHALL', 'SHALL NOT']);

export const TARGETS = ['image', 'firmware', 'hypervisor', 'guest'] as const;
export type TargetKind = (typeof TARGETS)[number];

/** One declarative check (schema/expectation.schema.json). */
export interface Expectation {
  fact: string;
  because?: string;
  equals?: Json;
  subset?: { [key: string]: Json };
  gte?: number;
  lte?: number;
  oneOf?: Json[];
  matches?: string;
  contains?: Json;
  every?: Expectation[];
  some?: Expectation[];
  exists?: boolean;
}

export interface ClauseRef {
  spec: string;
  section: string;
  page: number;
  label: string;
}

/** A clause of another spec whose check (probe, params, needs, when, expect) a requirement shares. */
export interface SameCheckRef {
  spec: string;
  id: string;
}

/** Where a requirement was written, for messages an editor can jump to. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** A requirement as loaded: defaults filled, level normalised. */
export interface Requirement {
  id: string;
  ref: ClauseRef;
  level: Level;
  /** The keyword as the YAML wrote it, e.g. "STRONGLY RECOMMENDED". */
  levelAsWritten: string;
  mandatory: boolean;
  target: TargetKind;
  title: string;
  text: string;
  probe?: string;
  params: Facts;
  /** What the probe must have read for the clause to be decided: when one does not hold, the clause is undecided. */
  needs?: Expectation[];
  when?: Expectation[];
  expect?: Expectation[];
  /** Written as `sameCheckAs`: probe, params, needs, when and expect above were taken from that clause at load. */
  sameCheckAs?: SameCheckRef;
  manual?: string;
  tags: string[];
  remediation?: string;
  informative: boolean;
  source: SourceLocation;
}

/** Normalise a level keyword; undefined when it is not one. */
export function normaliseLevel(raw: string): Level | undefined {
  const word = raw.trim().toUpperCase().replace(/\s+/g, ' ');
  const aliases: Record<string, Level> = { REQUIRED: 'MUST', 'STRONGLY RECOMMENDED': 'RECOMMENDED', OPTIONAL: 'MAY' };
  if (aliases[word]) return aliases[word];
  return (LEVELS as readonly string[]).includes(word) ? (word as Level) : undefined;
}
