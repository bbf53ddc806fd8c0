import type { Json } from '../probes/types.js';

/**
 * Untrusted text (guest strings, image contents, YAML) made safe to *show*:
 * the output-format escaping (HTML, XML, Markdown, YAML) happens later, in
 * each renderer. These helpers only make text well-formed and bounded.
 */

/** Display limits for facts from images and guests. The JSON results always keep everything. */
export const DISPLAY_LIMITS = {
  /** Characters kept of one string value. */
  string: 2000,
  /** Elements kept of one array. */
  arrayItems: 100,
  /** Keys kept of one object. */
  objectKeys: 200,
  /** Nesting levels shown. */
  depth: 16,
  /** Characters of one pretty-printed JSON block. */
  block: 32 * 1024,
  /** Characters of a one-line message or title. */
  line: 4000,
} as const;

export type DisplayLimits = { [K in keyof typeof DISPLAY_LIMITS]: number };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0 controls except tab and newline, DEL, C1 controls, and the noncharacters XML forbids.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff]/g;

/** Replace lone surrogates (from invalid UTF-16 or mis-decoded bytes) with U+FFFD. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

// Anything cleanText would change: CR, surrogates (maybe lone), controls, noncharacters.
// eslint-disable-next-line no-control-regex
const NEEDS_CLEANING = /[\r\uD800-\uDFFF\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff]/;

/**
 * Text fit to display: well-formed, control characters shown as visible
 * `\xNN` escapes (never interpreted by a terminal, browser or XML parser),
 * CR LF normalised to LF.
 */

export function cleanText(s: string): string {
  const str = String(s);
  // Most text (ids, titles, messages) is already clean: skip three regex passes and their copies.
  if (!NEEDS_CLEANING.test(str)) return str;
  return wellFormed(str)
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL, (c) => (c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16)}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** cleanText on one line: newlines and tabs become spaces, cut at `max` characters with a note. */
export function oneLine(s: string, max: number = DISPLAY_LIMITS.line): string {
  return truncateText(cleanText(s).replace(/[\n\t]+/g, ' '), max);
}

/** Cut a string at `max` characters (not inside a surrogate pair), saying how much was cut. */
export function truncateText(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max;
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${s.slice(0, cut)}… [truncated: ${s.length - cut} more characters]`;
}

export interface Bounded {
  value: Json;
  truncated: boolean;
}

/**
 * A copy of a JSON value bounded for display: long strings, arrays and
 * objects are cut and deep nesting replaced, each with a marker saying
 * what was left out. Strings are made well-formed (lone surrogates → U+FFFD).
 */
export function boundJson(value: unknown, limits: DisplayLimits = DISPLAY_LIMITS): Bounded {
  let truncated = false;
  const walk = (v: unknown, depth: number): Json => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') {
      const w = wellFormed(v);
      if (w.length > limits.string) truncated = true;
      return truncateText(w, limits.string);
    }
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'boolean') return v;
    if (typeof v !== 'object') return String(v);
    if (depth >= limits.depth) {
      truncated = true;
      return `[truncated: nested deeper than ${limits.depth} levels]`;
    }
    if (Array.isArray(v)) {
      const kept = v.slice(0, limits.arrayItems).map((x) => walk(x, depth + 1));
      if (v.length > limits.arrayItems) {
        truncated = true;
        kept.push(`[truncated: ${v.length - limits.arrayItems} more items of ${v.length}]`);
      }
      return kept;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    const out: { [k: string]: Json } = {};
    for (const [k, x] of entries.slice(0, limits.objectKeys)) out[wellFormed(k)] = walk(x, depth + 1);
    if (entries.length > limits.objectKeys) {
      truncated = true;
      out['[truncated]'] = `${entries.length - limits.objectKeys} more keys of ${entries.length}`;
    }
    return out;
  };
  const bounded = walk(value, 0);
  return { value: bounded, truncated };
}

export interface PrettyJson {
  /** Pretty-printed JSON: control characters and lone surrogates are \u-escaped by JSON.stringify. */
  text: string;
  truncated: boolean;
  lines: number;
  chars: number;
}

/** Bounded, pretty-printed JSON for display, with the truncation said in the text itself. */
export function prettyJson(value: unknown, limits: DisplayLimits = DISPLAY_LIMITS): PrettyJson {
  const b = boundJson(value, limits);
  // JSON.stringify escapes C0 controls and lone surrogates; make DEL and C1 controls visible too.
  let text = (JSON.stringify(b.value, null, 2) ?? 'null').replace(/[\u007f-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  let truncated = b.truncated;
  if (text.length > limits.block) {
    const total = text.length;
    text = `${text.slice(0, limits.block)}\n… [truncated: ${total - limits.block} more characters; the full value is in the JSON results]`;
    truncated = true;
  }
  return { text, truncated, lines: text.split('\n').length, chars: text.length };
}

/** A compact one-line JSON rendering, bounded, for table cells and messages. */
export function shortJson(value: unknown, max = 200): string {
  const b = boundJson(value, { ...DISPLAY_LIMITS, string: max, arrayItems: 20, objectKeys: 20, depth: 6 });
  return truncateText(JSON.stringify(b.value) ?? 'undefined', max);
}
