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
