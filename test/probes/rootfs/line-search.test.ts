/**
 * linesMatching: the lines holding a match, each once and in order, with
 * their start offsets, against splitting the text into lines as the oracle.
 */
import t from 'tap';
import { linesContaining, linesMatching } from '../../../probes/rootfs/line-search.js';

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

t.test('linesContaining gives what linesMatching gives for the same fixed string and follow-up', async (t) => {
  const texts = [
    'CONFIG_A=y\n# CONFIG_A is not set\nCONFIG_AB=y\nCONFIG_A_B=m\nxCONFIG_A=1 CONFIG_A=2\n',
    'CONFIG_A',
    'CONFIG_ACONFIG_A=\nCONFIG_A is not\nCONFIG_A is not set',
    'AAA=\nAA=\nA=\n',
    '',
    '\n\nCONFIG_A=\n\n',
  ];
  for (const text of texts) {
    for (const literal of ['CONFIG_A', 'AA', 'A']) {
      const accept = (end: number): boolean => text.charCodeAt(end) === 0x3d || text.startsWith(' is not set', end);
      t.same([...linesContaining(text, literal, accept)], [...linesMatching(text, new RegExp(`${literal}(?:=| is not set)`, 'g'))], `${JSON.stringify(literal)} in ${JSON.stringify(text)}`);
    }
  }
  t.throws(() => [...linesContaining('x', '', () => true)], /empty literal/);
});
