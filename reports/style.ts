import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Terminal colour on standard output: only on a TTY, never with NO_COLOR (https://no-color.org), forced by FORCE_COLOR. */
export function useColour(): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '' && process.env.FORCE_COLOR !== '0') return true;
  return isTerminal(1);
}

/**
 * Whether `fd` is a terminal. Asked without process.stdout or node:tty
 * (either loads node:net and node:stream, ~3 ms of a start) when fstat
 * already says it is a file or a pipe; only a character device needs isatty.
 */
export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return (require('node:tty') as typeof import('node:tty')).isatty(fd);
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, grey: 90, bold: 1, dim: 2 } as const;
export type Style = keyof typeof CODES;

export function painter(enabled: boolean): (style: Style, text: string) => string {
  return enabled ? (style, text) => `\x1b[${CODES[style]}m${text}\x1b[0m` : (_style, text) => text;
}

/** Strip control characters from untrusted text before it reaches a terminal. */
export function safeTerminalText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
