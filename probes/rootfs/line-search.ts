/**
 * The lines of a text that hold a match of `pattern` (a global pattern
 * whose matches do not cross a newline), each once, in order, with where
 * each starts. The pattern engine finds them, so a reader asking for a few
 * names out of a long file (a kernel configuration, modules.dep) reads and
 * judges only those lines instead of every line.
 */
export function* linesMatching(text: string, pattern: RegExp): Generator<{ line: string; start: number }> {
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const start = text.lastIndexOf('\n', m.index) + 1;
    let end = text.indexOf('\n', m.index);
    if (end < 0) end = text.length;
    yield { line: text.slice(start, end), start };
    // The next match is looked for on the next line.
    pattern.lastIndex = end;
  }
}

/**
 * linesMatching for a fixed string: the lines holding `literal` at a place
 * where `accept(end)` holds (`end` just past it), each once, in order, with
 * where each starts. Found by the string search: a new RegExp runs in V8's
 * regexp interpreter on its first use, several times slower over a 128 KB
 * kernel configuration than `indexOf`.
 */
export function* linesContaining(text: string, literal: string, accept: (end: number) => boolean): Generator<{ line: string; start: number }> {
  if (literal === '') throw new Error('linesContaining: empty literal');
  for (let at = text.indexOf(literal); at >= 0;) {
    if (!accept(at + literal.length)) {
      at = text.indexOf(literal, at + 1);
      continue;
    }
    const start = text.lastIndexOf('\n', at) + 1;
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    yield { line: text.slice(start, end), start };
    // The next one is looked for on the next line.
    at = text.indexOf(literal, end);
  }
}
