/**
 * linesMatching: the lines holding a match, each once and in order, with
 * their start offsets, against splitting the text into lines as the oracle.
 */
import t from 'tap';
import { linesMatching } from '../../../probes/rootfs/line-search.js';

/** The oracle: every line (split on '\n') that the pattern matches, with its offset. */
function bySplit(text: string, pattern: RegExp): { line: string; start: number }[] {
  const out: { line: string; start: number }[] = [];
  let start = 0;
  for (const line of text.split('\n')) {
    if (new RegExp(pattern.source).test(line)) out.push({ line, start });
    start += line.length + 1;
  }
  return out;
}

t.test('each line holding a match, once, in order, with its start', async (t) => {
  const texts = [
    'ab x\ncd\nx x x\n\nlast x',
    'x at the start\nno\n',
    '\n\nx\n\n',
    'nothing here',
    '',
    'x',
    'x\r\ny\r\nx\r\n',
  ];
  for (const text of texts) {
    t.same([...linesMatching(text, /x/g)], bySplit(text, /x/), JSON.stringify(text));
  }
  const pattern = /o+/g;
  const text = 'foo\nbar\nboo';
  t.same([...linesMatching(text, pattern)].map((l) => l.line), ['foo', 'boo']);
  t.same([...linesMatching(text, pattern)].map((l) => l.line), ['foo', 'boo'], 'a pattern used again starts from the top');
});
