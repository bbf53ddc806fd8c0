import t from 'tap';
import { parseYaml, YamlError } from '../../requirements/yaml-document.js';

function issues(text: string) {
  try {
    parseYaml(text, 'x.yaml');
    return [];
  } catch (e) {
    if (e instanceof YamlError) return e.issues;
    throw e;
  }
}

t.test('plain YAML parses and locates nodes by path', async (t) => {
  const p = parseYaml('a: 1\nlist:\n  - id: x\n  - id: y\n', 'x.yaml');
  t.same(p.value, { a: 1, list: [{ id: 'x' }, { id: 'y' }] });
  t.same(p.locate(['list', 1, 'id']), { line: 4, column: 9 });
  t.same(p.locate(['list', 1, 'missing']), { line: 4, column: 5 }, 'falls back to the nearest parent');
});

t.test('duplicate keys are refused with a line number', async (t) => {
  const [i] = issues('a: 1\nb: 2\na: 3\n');
  t.match(i, { file: 'x.yaml', line: 3, message: /unique|duplicate/i });
});

t.test('alias bombs are refused', async (t) => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
  const found = issues(bomb);
  t.ok(found.length > 0);
  t.match(found[0]!.message, /alias/i);
});

t.test('tags never build objects', async (t) => {
  const [i] = issues('a: !!js/function "function(){}"\n');
  t.ok(i, 'refused');
  const [j] = issues('a: !custom thing\n');
  t.match(j, { line: 1, message: /tag|!custom/ });
});

t.test('non-string keys, deep nesting and size are limited', async (t) => {
  t.match(issues('1: a\n')[0], { message: /not a string/ });
  t.match(issues('[a]: b\n')[0], { message: /collection|not a string/ });
  const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
  t.match(issues(`a: ${deep}\n`)[0], { message: /nesting|deep/ });
  t.match(issues(`a: "${'x'.repeat(3 * 1024 * 1024)}"\n`)[0], { message: /larger than/ });
});

t.test('syntax errors carry line and column', async (t) => {
  const [i] = issues('a: [1, 2\nb: 3\n');
  t.ok(i);
  t.ok(i!.line >= 1);
});
