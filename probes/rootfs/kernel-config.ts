import { linesContaining } from './line-search.js';

/**
 * Linux kernel configuration files (`.config`, installed as /boot/config-V
 * or /lib/modules/V/config): one `CONFIG_NAME=value` line per set option,
 * `# CONFIG_NAME is not set` for a disabled one (scripts/kconfig/confdata.c).
 * Tristate values are y, m; strings are quoted; numbers and hex as written.
 */

/** What the config says about one option. */
export type OptionState = 'y' | 'm' | 'n' | 'value' | 'absent';

export interface ConfigOption {
  name: string;
  state: OptionState;
  /** The value as written after '=' (quotes kept for strings); null for "is not set" and absent. */
  value: string | null;
  /** 1-based line number in the config file; null when absent. */
  lineNumber: number | null;
  /** The line itself ("CONFIG_X=m", "# CONFIG_X is not set"); null when absent. */
  line: string | null;
}

export interface KernelConfig {
  /** Options set or explicitly unset, by name (every line read on first use). */
  readonly options: ReadonlyMap<string, ConfigOption>;
  /** Lines that were neither comments, blank, nor options (a damaged or foreign file; every line read on first use). */
  readonly malformedLines: number;
  get(name: string): ConfigOption;
  /** Whether at least `n` options are set or unset (reads lines only until it knows). */
  hasOptions(n: number): boolean;
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const NOT_SET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;
/** A name `get` finds by a search of the text; any other is looked up after reading every line. */
const PLAIN_NAME = /^CONFIG_[A-Za-z0-9_]+$/;
/** A config is a few hundred KiB (Debian arm64: ~280 KiB); lines beyond this are not read. */
export const MAX_CONFIG_LINES = 200_000;

type LineReading = { option: Omit<ConfigOption, 'lineNumber'> } | 'blank' | 'comment' | 'malformed';

/** One line as Kconfig reads it: trimmed, then `CONFIG_X=value`, `# CONFIG_X is not set`, another comment, blank or malformed. */
function readLine(raw: string): LineReading {
  const line = raw.trim();
  if (line === '') return 'blank';
  // The first character picks the one pattern that can match (an exec per pattern per line was most of the cost).
  const first = line.charCodeAt(0);
  const set = first === 67 /* C */ ? SET.exec(line) : null;
  if (set) {
    const value = set[2]!;
    const state: OptionState = value === 'y' ? 'y' : value === 'm' ? 'm' : value === 'n' ? 'n' : 'value';
    return { option: { name: set[1]!, state, value, line } };
  }
  const unset = first === 35 /* # */ ? NOT_SET.exec(line) : null;
  if (unset) return { option: { name: unset[1]!, state: 'n', value: null, line } };
  return line.startsWith('#') ? 'comment' : 'malformed';
}

/**
 * A kernel .config. Later lines win, as in Kconfig. Never throws. A verify
 * asks for a dozen of ~5,000 options, so `get` finds each by a search of
 * the text and reads only the lines found (reading every line was ~3-8 ms
 * of a verify); `options` and `malformedLines` read every line, and give
 * the same answers.
 */
export function parseKernelConfig(text: string): KernelConfig {
  let every: { options: Map<string, ConfigOption>; malformed: number } | null = null;
  const readEvery = (): { options: Map<string, ConfigOption>; malformed: number } => {
    if (every) return every;
    const options = new Map<string, ConfigOption>();
    let malformed = 0;
    const lines = text.split('\n');
    const n = Math.min(lines.length, MAX_CONFIG_LINES);
    for (let i = 0; i < n; i++) {
      const r = readLine(lines[i]!);
      if (typeof r === 'object') options.set(r.option.name, { ...r.option, lineNumber: i + 1 });
      else if (r === 'malformed') malformed++;
    }
    return (every = { options, malformed });
  };
  const found = new Map<string, ConfigOption | null>();
  // Where each newline is (up to one past the lines read), found once: an option's line number is then a binary
  // search. (Counting them in the text before each option made a string of newlines per option: 1.4 MB of
  // garbage for a dozen options of a 128 KB config.)
  let newlines: number[] | null = null;
  const lineNumberAt = (offset: number): number => {
    if (!newlines) {
      newlines = [];
      for (let i = text.indexOf('\n'); i >= 0 && newlines.length <= MAX_CONFIG_LINES; i = text.indexOf('\n', i + 1)) newlines.push(i);
    }
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  /** The last line setting or unsetting `name`: candidates found by a search, each read as a line. */
  const search = (name: string): ConfigOption | null => {
    let last: { option: Omit<ConfigOption, 'lineNumber'>; start: number } | null = null;
    const setOrUnset = (end: number): boolean => text.charCodeAt(end) === 0x3d /* = */ || text.startsWith(' is not set', end);
    for (const { line, start } of linesContaining(text, name, setOrUnset)) {
      const r = readLine(line);
      if (typeof r === 'object' && r.option.name === name) last = { option: r.option, start };
    }
    if (!last) return null;
    const lineNumber = lineNumberAt(last.start);
    // Past the lines read (a file of more than MAX_CONFIG_LINES): an earlier line may be the one that counts.
    if (lineNumber > MAX_CONFIG_LINES) return readEvery().options.get(name) ?? null;
    return { ...last.option, lineNumber };
  };
  return {
    get options() {
      return readEvery().options;
    },
    get malformedLines() {
      return readEvery().malformed;
    },
    get(name: string): ConfigOption {
      let option: ConfigOption | null | undefined = every?.options.get(name) ?? (every ? null : found.get(name));
      if (option === undefined) {
        option = PLAIN_NAME.test(name) ? search(name) : (readEvery().options.get(name) ?? null);
        found.set(name, option);
      }
      return option ?? { name, state: 'absent', value: null, lineNumber: null, line: null };
    },
    hasOptions(n: number): boolean {
      if (every) return every.options.size >= n;
      const names = new Set<string>();
      let lineNumber = 0;
      for (let start = 0; start <= text.length && lineNumber < MAX_CONFIG_LINES && names.size < n; lineNumber++) {
        let end = text.indexOf('\n', start);
        if (end < 0) end = text.length;
        const r = readLine(text.slice(start, end));
        if (typeof r === 'object') names.add(r.option.name);
        start = end + 1;
      }
      return names.size >= n;
    },
  };
}

/** Does this text look like a kernel config at all (at least a few CONFIG_ lines)? */
export function looksLikeKernelConfig(config: KernelConfig): boolean {
  return config.hasOptions(10);
}
