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
  /** Options set or explicitly unset, by name. */
  readonly options: ReadonlyMap<string, ConfigOption>;
  /** Lines that were neither comments, blank, nor options (a damaged or foreign file). */
  readonly malformedLines: number;
  get(name: string): ConfigOption;
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const NOT_SET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;
/** A config is a few hundred KiB (Debian arm64: ~280 KiB); lines beyond this are not read. */
export const MAX_CONFIG_LINES = 200_000;

/** Parses a kernel .config. Later lines win, as in Kconfig. Never throws. */
export function parseKernelConfig(text: string): KernelConfig {
  const options = new Map<string, ConfigOption>();
  let malformed = 0;
  const lines = text.split('\n');
  const n = Math.min(lines.length, MAX_CONFIG_LINES);
  for (let i = 0; i < n; i++) {
    // The first character picks the one pattern that can match (an exec per pattern per line was most of the cost).
    const line = lines[i]!.trim();
    if (line === '') continue;
    const first = line.charCodeAt(0);
    const set = first === 67 /* C */ ? SET.exec(line) : null;
    if (set) {
      const name = set[1]!;
      const value = set[2]!;
      const state: OptionState = value === 'y' ? 'y' : value === 'm' ? 'm' : value === 'n' ? 'n' : 'value';
      options.set(name, { name, state, value, lineNumber: i + 1, line });
      continue;
    }
    const unset = first === 35 /* # */ ? NOT_SET.exec(line) : null;
    if (unset) {
      const name = unset[1]!;
      options.set(name, { name, state: 'n', value: null, lineNumber: i + 1, line });
      continue;
    }
    if (!line.startsWith('#')) malformed++;
  }
  return {
    options,
    malformedLines: malformed,
    get(name: string): ConfigOption {
      return options.get(name) ?? { name, state: 'absent', value: null, lineNumber: null, line: null };
    },
  };
}

/** Does this text look like a kernel config at all (at least a few CONFIG_ lines)? */
export function looksLikeKernelConfig(config: KernelConfig): boolean {
  return config.options.size >= 10;
}
