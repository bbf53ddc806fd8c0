import { createRequire } from 'node:module';
import type { Document } from 'yaml';

// The YAML library costs ~50 ms to load; runs that read only snapshotted specs never need it.
const require = createRequire(import.meta.url);
let yamlModule: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (yamlModule ??= require('yaml') as typeof import('yaml'));

/** Limits for untrusted YAML (spec files, waivers, profiles). */
export const YAML_LIMITS = {
  maxBytes: 2 * 1024 * 1024,
  /** yaml's alias-expansion guard: stops "billion laughs". */
  maxAliasCount: 100,
  maxDepth: 64,
} as const;

export interface YamlIssue {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface ParsedYaml {
  file: string;
  doc: Document.Parsed;
  value: unknown;
  /** Line/column of the node at a JSON path (falls back to the nearest parent). */
  locate(path: (string | number)[]): { line: number; column: number };
}

/** Thrown for YAML that cannot be read at all; carries every issue found. */
export class YamlError extends Error {
  override readonly name = 'YamlError';
  constructor(readonly issues: YamlIssue[]) {
    super(issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.message}`).join('\n'));
  }
}

/**
 * Parse YAML safely: core schema only (no tag ever builds an object or runs
 * code), duplicate keys rejected, aliases bounded, size and depth capped.
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  if (Buffer.byteLength(text) > YAML_LIMITS.maxBytes) {
    throw new YamlError([{ file, line: 1, column: 1, message: `file is larger than ${YAML_LIMITS.maxBytes} bytes; split it` }]);
  }
  const deepFlow = flowNestingBeyondLimit(text);
  if (deepFlow) throw new YamlError([{ file, ...deepFlow, message: `[ ] / { } nesting deeper than ${YAML_LIMITS.maxDepth} levels starts here; flatten it` }]);
  try {
    return parseWithinLimits(text, file);
  } catch (e) {
    // Deep block nesting ("- - - - …") can exhaust the stack inside the YAML library before our depth check runs.
    if (e instanceof RangeError) throw new YamlError([{ file, line: 1, column: 1, message: `nesting is too deep to read (limit ${YAML_LIMITS.maxDepth} levels); flatten the document` }]);
    throw e;
  }
}

/** Where unquoted flow collections ([ or {) first nest deeper than the limit, found without parsing (no recursion). */
function flowNestingBeyondLimit(text: string): { line: number; column: number } | null {
  let depth = 0;
  let line = 1;
  let column = 0;
  let quote: string | null = null;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    column++;
    if (c === '\n') {
      line++;
      column = 0;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#') comment = true;
    else if (c === '[' || c === '{') {
      if (++depth > YAML_LIMITS.maxDepth) return { line, column };
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return null;
}

function parseWithinLimits(text: string, file: string): ParsedYaml {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, schema: 'core', uniqueKeys: true, prettyErrors: false, strict: true, customTags: [] });
  const issues: YamlIssue[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lineCounter.linePos(e.pos[0]);
    issues.push({ file, line: pos.line, column: pos.col, message: cleanYamlMessage(e.message) });
  }
  for (const tagged of findTags(doc.contents, [])) {
    const pos = lineCounter.linePos(tagged.offset);
    issues.push({ file, line: pos.line, column: pos.col, message: `YAML tag ${tagged.tag} is not allowed (plain data only)` });
  }
  if (issues.length) throw new YamlError(issues);
  const nonStringKey = findNonStringKey(doc.contents, lineCounter);
  if (nonStringKey) throw new YamlError([{ file, ...nonStringKey }]);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (e) {
    throw new YamlError([{ file, line: 1, column: 1, message: `${(e as Error).message} (aliases are limited to ${YAML_LIMITS.maxAliasCount} expansions)` }]);
  }
  const depth = depthOf(value, 0);
  if (depth > YAML_LIMITS.maxDepth) {
    throw new YamlError([{ file, line: 1, column: 1, message: `nesting is ${depth} levels deep (limit ${YAML_LIMITS.maxDepth})` }]);
  }
  return {
    file,
    doc,
    value,
    locate(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true);
        if (yaml().isNode(node) && node.range) {
          const pos = lineCounter.linePos(node.range[0]);
          return { line: pos.line, column: pos.col };
        }
      }
      return { line: 1, column: 1 };
    },
  };
}

function cleanYamlMessage(message: string): string {
  if (/Maximum call stack size exceeded/.test(message)) return `nesting is too deep to read (limit ${YAML_LIMITS.maxDepth} levels); flatten the document`;
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
}

function depthOf(value: unknown, depth: number): number {
  if (depth > YAML_LIMITS.maxDepth) return depth;
  if (value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, depth + 1));
  return max;
}

type AnyNode = { tag?: string; range?: [number, number, number]; items?: unknown[]; key?: unknown; value?: unknown };

function* findTags(node: unknown, seen: unknown[]): Generator<{ tag: string; offset: number }> {
  if (!node || typeof node !== 'object' || seen.includes(node)) return;
  seen.push(node);
  const n = node as AnyNode;
  // Explicit tags (anything other than the core schema's defaults) are refused.
  if (n.tag && !n.tag.startsWith('tag:yaml.org,2002:')) yield { tag: n.tag, offset: n.range?.[0] ?? 0 };
  if (Array.isArray(n.items)) for (const item of n.items) yield* findTags(item, seen);
  if ('key' in n) yield* findTags(n.key, seen);
  if ('value' in n) yield* findTags(n.value, seen);
}

function findNonStringKey(node: unknown, lc: import('yaml').LineCounter): { line: number; column: number; message: string } | undefined {
  const stack: unknown[] = [node];
  while (stack.length) {
    const n = stack.pop() as AnyNode | undefined;
    if (!n || typeof n !== 'object') continue;
    if (Array.isArray(n.items)) {
      for (const item of n.items) {
        const pair = item as AnyNode;
        if (pair && typeof pair === 'object' && 'key' in pair) {
          const key = pair.key as { value?: unknown; range?: [number, number, number] } | null;
          if (key && typeof key === 'object' && 'value' in key && typeof key.value !== 'string') {
            const pos = lc.linePos(key.range?.[0] ?? 0);
            return { line: pos.line, column: pos.col, message: `mapping key ${JSON.stringify(key.value)} is not a string; quote it` };
          }
          if (key && typeof key === 'object' && !('value' in key)) {
            const pos = lc.linePos(key.range?.[0] ?? 0);
            return { line: pos.line, column: pos.col, message: 'mapping key is a collection; keys must be plain strings' };
          }
          stack.push(pair.value);
        } else stack.push(item);
      }
    }
  }
  return undefined;
}
