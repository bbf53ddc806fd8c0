/**
 * A malformed or unsupported input, reported with where it went wrong.
 * Parsers throw only this (never a RangeError from deep inside), so callers
 * can turn it into a clear message: what structure, at which offset, why.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    /** The structure being read, as the standard names it (e.g. "GPT header"). */
    readonly structure: string,
    /** Byte offset in the source being read (disk, partition or file), or -1 when not meaningful. */
    readonly offset: number,
    message: string,
  ) {
    super(`${structure}${offset >= 0 ? ` at offset ${offset}` : ''}: ${message}`);
  }
}

/** An input the tool understands but will not read (e.g. a vmdk, an encrypted root). */
export class UnsupportedError extends Error {
  override readonly name = 'UnsupportedError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

export function isReadError(e: unknown): e is ParseError | UnsupportedError {
  return e instanceof ParseError || e instanceof UnsupportedError;
}
