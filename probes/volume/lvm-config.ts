import { ParseError } from '../../bytes/errors.js';

/**
 * LVM2's configuration syntax, in which volume group metadata is written
 * (libdm/libdm-config.c, "dm_config_from_string"): sections `name { ... }`,
 * assignments `name = value`, values that are integers, floats, strings in
 * double quotes (backslash escapes the next character) or flat arrays
 * `[ v, v ]`, and `#` comments to the end of the line. Only a small,
 * bounded subset is needed: the text is untrusted.
 */

export type ConfigScalar = string | number;
export type ConfigValue = ConfigScalar | ConfigScalar[];
/** A section's entries in file order; a Map, so no key can reach Object.prototype. */
export interface ConfigSection {
  readonly kind: 'section';
  readonly entries: Map<string, ConfigValue | ConfigSection>;
}

/** Metadata text bigger than this is refused (LVM's own default metadata area is 1 MiB). */
export const MAX_CONFIG_TEXT = 4 * 1024 * 1024;
const MAX_DEPTH = 16;
const MAX_NODES = 200_000;
const MAX_ARRAY = 65_536;

export function isSection(v: ConfigValue | ConfigSection | undefined): v is ConfigSection {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as ConfigSection).kind === 'section';
}

/** Parses LVM config text into its top-level section. */
export function parseLvmConfig(text: string, what = 'LVM metadata'): ConfigSection {
  if (text.length > MAX_CONFIG_TEXT) throw new ParseError(what, -1, `text of ${text.length} characters exceeds the ${MAX_CONFIG_TEXT} cap`);
  let pos = 0;
  let nodes = 0;
  const fail = (msg: string): never => {
    const line = text.slice(0, pos).split('\n').length;
    throw new ParseError(what, -1, `line ${line}: ${msg}`);
  };
  const skipBlank = (): void => {
    while (pos < text.length) {
      const c = text[pos]!;
      if (c === '#') {
        const nl = text.indexOf('\n', pos);
        pos = nl < 0 ? text.length : nl + 1;
      } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
        pos++;
      } else {
        return;
      }
    }
  };
  const identifier = (): string => {
    const m = /^[A-Za-z0-9_+.\-/@]+/.exec(text.slice(pos, pos + 1024));
    if (!m) fail(`expected a name, found ${JSON.stringify(text.slice(pos, pos + 12))}`);
    pos += m![0].length;
    return m![0];
  };
  const scalar = (): ConfigScalar => {
    if (text[pos] === '"') {
      pos++;
      let out = '';
      for (;;) {
        if (pos >= text.length) fail('unterminated string');
        const c = text[pos++]!;
        if (c === '"') return out;
        if (c === '\\') {
          if (pos >= text.length) fail('unterminated string');
          out += text[pos++]!;
        } else {
          out += c;
        }
      }
    }
    const m = /^[-+]?[0-9]+(\.[0-9]+)?/.exec(text.slice(pos, pos + 64));
    if (!m) fail(`expected a value, found ${JSON.stringify(text.slice(pos, pos + 12))}`);
    pos += m![0].length;
    const n = Number(m![0]);
    if (m![1] === undefined && !Number.isSafeInteger(n)) fail(`integer ${m![0]} is out of range`);
    return n;
  };
  const value = (): ConfigValue => {
    if (text[pos] !== '[') return scalar();
    pos++;
    const items: ConfigScalar[] = [];
    for (;;) {
      skipBlank();
      if (text[pos] === ']') {
        pos++;
        return items;
      }
      if (items.length > 0) {
        if (text[pos] !== ',') fail('expected "," or "]" in an array');
        pos++;
        skipBlank();
      }
      items.push(scalar());
      if (items.length > MAX_ARRAY) fail(`array longer than ${MAX_ARRAY}`);
    }
  };
  const section = (depth: number, closing: boolean): ConfigSection => {
    if (depth > MAX_DEPTH) fail(`sections nested deeper than ${MAX_DEPTH}`);
    const entries = new Map<string, ConfigValue | ConfigSection>();
    for (;;) {
      skipBlank();
      if (pos >= text.length) {
        if (closing) fail('a section is not closed');
        return { kind: 'section', entries };
      }
      if (text[pos] === '}') {
        if (!closing) fail('unexpected "}"');
        pos++;
        return { kind: 'section', entries };
      }
      if (++nodes > MAX_NODES) fail(`more than ${MAX_NODES} entries`);
      const name = identifier();
      skipBlank();
      let v: ConfigValue | ConfigSection;
      if (text[pos] === '{') {
        pos++;
        v = section(depth + 1, true);
      } else if (text[pos] === '=') {
        pos++;
        skipBlank();
        v = value();
      } else {
        return fail(`expected "=" or "{" after ${name}`);
      }
      // A repeated key: the first one counts (as dm_config_find_node finds it).
      if (!entries.has(name)) entries.set(name, v);
    }
  };
  return section(0, false);
}
