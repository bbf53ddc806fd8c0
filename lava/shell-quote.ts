/**
 * One POSIX sh word holding exactly `value`: single-quoted, with each
 * embedded quote closed, escaped and reopened. Values from the command line
 * and matrix file reach the generated shell steps only through this.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot be passed to the shell');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
