import type { Json } from './types.js';

/**
 * The one way to write a probe's facts (and params) JSON Schema: small
 * builders whose result carries, at the type level only, the TypeScript type
 * of the JSON it describes (`FactsOf<typeof schema>`, like TypeBox's
 * Static<>). A probe declares `facts` with them and its `run` must return
 * exactly that type (probes/types.ts), so schema and code cannot drift.
 *
 * An object lists every property as required and allows no others (`obj`),
 * so the schema describes the facts exactly and `spec lint` can check paths;
 * `sparseObj` is the exception for objects whose properties may be absent.
 */

declare const FACTS: unique symbol;

/** A JSON Schema (draft 2020-12 subset ajv understands) of values of type T. */
export type FactSchema<T> = { readonly [key: string]: unknown } & { readonly [FACTS]?: T };

/** The TypeScript type a schema built here describes. */
export type FactsOf<S> = S extends FactSchema<infer T> ? T : never;

/** true when A and B are the same type (each assignable to the other): ties a hand-written interface to a schema. */
export type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** A description, or a description with more keywords (pattern, minimum, maxItems, …). */
type Notes = string | { description?: string; [keyword: string]: unknown };

const notes = (n?: Notes): Record<string, unknown> => (n === undefined ? {} : typeof n === 'string' ? { description: n } : n);

const leaf = <T>(type: string | string[], n?: Notes): FactSchema<T> => ({ type, ...notes(n) });

export const str = (n?: Notes) => leaf<string>('string', n);
export const nstr = (n?: Notes) => leaf<string | null>(['string', 'null'], n);
export const int = (n?: Notes) => leaf<number>('integer', n);
export const nint = (n?: Notes) => leaf<number | null>(['integer', 'null'], n);
export const num = (n?: Notes) => leaf<number>('number', n);
export const bool = (n?: Notes) => leaf<boolean>('boolean', n);
export const nbool = (n?: Notes) => leaf<boolean | null>(['boolean', 'null'], n);

/** One of these values (strings, numbers, null). */
export function enumOf<const V extends readonly (string | number | null)[]>(values: V, n?: Notes): FactSchema<V[number]> {
  return { enum: values, ...notes(n) };
}

/** One of these strings, typed as a string (`type` and `enum`). */
export function strEnum<const V extends readonly string[]>(values: V, n?: Notes): FactSchema<V[number]> {
  return { type: 'string', enum: values, ...notes(n) };
}

/** One of these integers, typed as an integer (`type` and `enum`). */
export function intEnum<const V extends readonly number[]>(values: V, n?: Notes): FactSchema<V[number]> {
  return { type: 'integer', enum: values, ...notes(n) };
}

type Props = Record<string, FactSchema<unknown>>;
type Shape<P extends Props> = { -readonly [K in keyof P]: FactsOf<P[K]> };

export function obj<const P extends Props>(properties: P, n?: Notes): FactSchema<Shape<P>> {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties, ...notes(n) };
}

/** An object, or null when the thing it describes is absent. */
export function nobj<const P extends Props>(properties: P, n?: Notes): FactSchema<Shape<P> | null> {
  return { type: ['object', 'null'], additionalProperties: false, required: Object.keys(properties), properties, ...notes(n) };
}

/** An object whose properties may each be absent (no others allowed). */
export function sparseObj<const P extends Props>(properties: P, n?: Notes): FactSchema<Partial<Shape<P>>> {
  return { type: 'object', additionalProperties: false, properties, ...notes(n) };
}

export function arr<T>(items: FactSchema<T>, n?: Notes): FactSchema<T[]> {
  return { type: 'array', items, ...notes(n) };
}

/** A list, or null when there is none to report. */
export function narr<T>(items: FactSchema<T>, n?: Notes): FactSchema<T[] | null> {
  return { type: ['array', 'null'], items, ...notes(n) };
}

/** A name → value map (keys are data, e.g. configuration-table names). */
export function dict<T>(values: FactSchema<T>, n?: Notes): FactSchema<{ [key: string]: T }> {
  return { type: 'object', additionalProperties: values, ...notes(n) };
}

/** Any JSON value (facts passed through as found, e.g. parsed configuration). */
export const anyJson = (n?: Notes): FactSchema<Json> => ({ ...notes(n) });

/** The params schema of a probe that takes none. */
export const NO_PARAMS = sparseObj({});
