import type { Json } from '../probes/types.js';
import type { Expectation } from './requirement.js';

/** Why an expectation did not hold: where, what was wanted, what was there. */
export interface Mismatch {
  path: string;
  reason: string;
  expected?: Json;
  actual?: Json;
}

export const OPERATORS = ['equals', 'subset', 'gte', 'lte', 'oneOf', 'matches', 'contains', 'every', 'some', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

export function operatorOf(e: Expectation): Operator {
  const op = OPERATORS.find((o) => o in e);
  if (!op) throw new Error(`expectation on "${e.fact}" has no operator`);
  return op;
}

/** Read a dotted path ('.' = the value itself). Undefined when absent. */
export function factAt(value: Json | undefined, path: string): Json | undefined {
  if (path === '.' || path === '') return value;
  let cur: Json | undefined = value;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined;
      cur = cur[Number(part)];
    } else {
      cur = Object.prototype.hasOwnProperty.call(cur, part) ? cur[part] : undefined;
    }
  }
  return cur;
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined || typeof a !== 'object' || typeof b !== 'object') {
    return false;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  const ak = Object.keys(a);
  const bo = b as { [k: string]: Json };
  return ak.length === Object.keys(bo).length && ak.every((k) => deepEqual((a as { [k: string]: Json })[k], bo[k]));
}

function isSubset(want: Json, have: Json | undefined): boolean {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    if (have === null || have === undefined || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, v]) => isSubset(v, (have as { [k: string]: Json })[k]));
  }
  return deepEqual(want, have);
}

const MAX_REGEX_INPUT = 64 * 1024;

/** Check expectations against facts; an empty list means they all hold. */
export function match(facts: Json, expectations: Expectation[], prefix = ''): Mismatch[] {
  const out: Mismatch[] = [];
  for (const e of expectations) out.push(...matchOne(facts, e, prefix));
  return out;
}

function join(prefix: string, path: string): string {
  if (path === '.' || path === '') return prefix || '.';
  return prefix ? `${prefix}.${path}` : path;
}

function matchOne(facts: Json, e: Expectation, prefix: string): Mismatch[] {
  const path = join(prefix, e.fact);
  const actual = factAt(facts, e.fact);
  const fail = (reason: string, expected?: Json): Mismatch[] => [
    { path, reason: e.because ? `${reason} (${e.because})` : reason, ...(expected !== undefined ? { expected } : {}), ...(actual !== undefined ? { actual } : {}) },
  ];
  const op = operatorOf(e);
  switch (op) {
    case 'exists': {
      const present = actual !== undefined && actual !== null;
      return present === e.exists ? [] : fail(e.exists ? 'is absent' : 'is present but should not be', e.exists);
    }
    case 'equals':
      return deepEqual(actual, e.equals) ? [] : fail(actual === undefined ? 'is absent' : 'differs', e.equals);
    case 'subset':
      return isSubset(e.subset!, actual) ? [] : fail('does not contain the expected fields and values', e.subset);
    case 'gte':
      return typeof actual === 'number' && actual >= e.gte! ? [] : fail(typeof actual === 'number' ? `is less than ${e.gte}` : 'is not a number', e.gte);
    case 'lte':
      return typeof actual === 'number' && actual <= e.lte! ? [] : fail(typeof actual === 'number' ? `is greater than ${e.lte}` : 'is not a number', e.lte);
    case 'oneOf':
      return e.oneOf!.some((v) => deepEqual(actual, v)) ? [] : fail('is none of the allowed values', e.oneOf);
    case 'matches': {
      if (typeof actual !== 'string') return fail('is not a string', e.matches);
      return new RegExp(e.matches!, 'u').test(actual.slice(0, MAX_REGEX_INPUT)) ? [] : fail(`does not match /${e.matches}/`, e.matches);
    }
    case 'contains': {
      if (typeof actual === 'string' && typeof e.contains === 'string') return actual.includes(e.contains) ? [] : fail('does not contain the expected text', e.contains);
      if (Array.isArray(actual)) return actual.some((v) => deepEqual(v, e.contains!)) ? [] : fail('has no element equal to the expected one', e.contains);
      return fail('is neither a string nor a list', e.contains);
    }
    case 'every': {
      if (!Array.isArray(actual)) return fail('is not a list');
      return actual.flatMap((el, i) => match(el, e.every!, `${path}.${i}`));
    }
    case 'some': {
      if (!Array.isArray(actual)) return fail('is not a list');
      if (actual.some((el) => match(el, e.some!).length === 0)) return [];
      return [{ path, reason: `no element of ${actual.length} meets all of: ${e.some!.map(describe).join('; ')}`, ...(actual.length <= 20 ? { actual } : {}) }];
    }
  }
}

/** An expectation in words, for messages and spec rendering. */
export function describe(e: Expectation): string {
  const v = (x: unknown) => JSON.stringify(x);
  const fact = e.fact === '.' ? 'the value' : e.fact;
  switch (operatorOf(e)) {
    case 'equals': return `${fact} = ${v(e.equals)}`;
    case 'subset': return `${fact} includes ${v(e.subset)}`;
    case 'gte': return `${fact} ≥ ${e.gte}`;
    case 'lte': return `${fact} ≤ ${e.lte}`;
    case 'oneOf': return `${fact} is one of ${e.oneOf!.map((x) => v(x)).join(', ')}`;
    case 'matches': return `${fact} matches /${e.matches}/`;
    case 'contains': return `${fact} contains ${v(e.contains)}`;
    case 'every': return `every ${fact} has ${e.every!.map(describe).join(' and ')}`;
    case 'some': return `some ${fact} has ${e.some!.map(describe).join(' and ')}`;
    case 'exists': return e.exists ? `${fact} is present` : `${fact} is absent`;
  }
}
