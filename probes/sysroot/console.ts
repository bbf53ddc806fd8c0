import { crypto } from '../../bytes/lazy-builtins.js';
import { ParseError } from '../../bytes/errors.js';

/**
 * The tar that collect.sh --console prints, framed as
 *   -----BEGIN VMSPEC EVIDENCE size=N sha256=H-----
 *   <base64 lines>
 *   -----END VMSPEC EVIDENCE-----
 * pulled out of a serial log. Carriage returns and ANSI escapes are
 * stripped; lines that are not pure base64 (kernel messages interleaved on
 * the console) are dropped, and the size and sha256 from the BEGIN line
 * decide whether what is left is the bundle. The last complete frame wins.
 */
export const CONSOLE_BEGIN = /^-----BEGIN VMSPEC EVIDENCE size=(\d{1,12}) sha256=([0-9a-f]{64})-----$/;
export const CONSOLE_END = '-----END VMSPEC EVIDENCE-----';
/** Refuse frames claiming more than this (a console bundle is small). */
export const MAX_CONSOLE_BUNDLE = 256 * 1024 * 1024;

function clean(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '').replace(/\r/g, '').trim();
}

export function hasConsoleBundle(log: string | Uint8Array): boolean {
  const text = typeof log === 'string' ? log : Buffer.from(log.buffer, log.byteOffset, log.byteLength).toString('latin1');
  return text.includes('-----BEGIN VMSPEC EVIDENCE ');
}

export function extractConsoleBundle(log: string | Uint8Array, where = 'serial log'): Uint8Array {
  const text = typeof log === 'string' ? log : Buffer.from(log.buffer, log.byteOffset, log.byteLength).toString('latin1');
  const lines = text.split('\n').map(clean);
  let begin = -1;
  let end = -1;
  for (let i = lines.length - 1; i >= 0 && begin < 0; i--) {
    const l = lines[i] as string;
    if (l === CONSOLE_END && end < 0) end = i;
    else if (CONSOLE_BEGIN.test(l) && end > i) begin = i;
  }
  if (begin < 0) {
    const sawBegin = lines.some((l) => CONSOLE_BEGIN.test(l));
    throw new ParseError(where, -1, sawBegin ? 'evidence frame has no END line (console output cut short?)' : 'no VMSPEC EVIDENCE frame found');
  }
  const m = CONSOLE_BEGIN.exec(lines[begin] as string) as RegExpExecArray;
  const size = Number(m[1]);
  const sha = m[2] as string;
  if (size > MAX_CONSOLE_BUNDLE) throw new ParseError(where, -1, `evidence frame claims ${size} bytes, over the ${MAX_CONSOLE_BUNDLE}-byte cap`);
  const b64 = lines
    .slice(begin + 1, end)
    .filter((l) => /^[A-Za-z0-9+/]+={0,2}$/.test(l))
    .join('');
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  if (bytes.length !== size) throw new ParseError(where, -1, `evidence frame decodes to ${bytes.length} bytes, BEGIN line says ${size} (lines lost or corrupted on the console)`);
  const got = crypto().createHash('sha256').update(bytes).digest('hex');
  if (got !== sha) throw new ParseError(where, -1, `evidence frame sha256 ${got} does not match the BEGIN line (${sha})`);
  return bytes;
}
