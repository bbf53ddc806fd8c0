import type { Schema } from '../types.js';

/**
 * Small builders for the facts JSON Schemas of evidence probes: every
 * object lists all its properties as required and allows no others, so
 * the schema describes the facts exactly and `spec lint` can check paths.
 */

export const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
export const nstr = (description?: string): Schema => ({ type: ['string', 'null'], ...(description ? { description } : {}) });
export const int = (description?: string): Schema => ({ type: 'integer', ...(description ? { description } : {}) });
export const nint = (description?: string): Schema => ({ type: ['integer', 'null'], ...(description ? { description } : {}) });
export const bool = (description?: string): Schema => ({ type: 'boolean', ...(description ? { description } : {}) });
export const nbool = (description?: string): Schema => ({ type: ['boolean', 'null'], ...(description ? { description } : {}) });
export const enumOf = (values: (string | number | null)[], description?: string): Schema => ({ enum: values, ...(description ? { description } : {}) });

export function obj(properties: Record<string, Schema>, description?: string): Schema {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties, ...(description ? { description } : {}) };
}

/** An object, or null when the thing it describes is absent. */
export function nobj(properties: Record<string, Schema>, description?: string): Schema {
  return { type: ['object', 'null'], additionalProperties: false, required: Object.keys(properties), properties, ...(description ? { description } : {}) };
}

export function arr(items: Schema, description?: string): Schema {
  return { type: 'array', items, ...(description ? { description } : {}) };
}

/** A name → value map (keys are data, e.g. configuration-table names). */
export function dict(values: Schema, description?: string): Schema {
  return { type: 'object', additionalProperties: values, ...(description ? { description } : {}) };
}

/** Params schema of a probe that takes none. */
export const NO_PARAMS: Schema = { type: 'object', additionalProperties: false, properties: {} };

/** Every evidence probe reports which guest files it read (and which were unreadable in the guest). */
export const SOURCE_FACTS: Record<string, Schema> = {
  sources: arr(str(), 'guest paths this probe read from the evidence'),
  unreadable: arr(obj({ path: str(), reason: str() }), 'paths the collector could not read in the guest, with its reason'),
};
