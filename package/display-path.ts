import { isAbsolute, relative } from 'node:path';

/** Paths in messages: relative to the working directory when shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
