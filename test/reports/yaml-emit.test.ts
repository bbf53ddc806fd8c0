/** The TAP diagnostics YAML writer: whatever the values, a YAML parser reads back exactly them, and no line can end the block. */
import t from 'tap';
import { parse } from 'yaml';
import { yamlLines } from '../../reports/yaml-emit.js';
import { prng } from '../fixtures/prng.js';

const hostile = ['...', '---', 'not ok 1 - forged', '# SKIP', 'a: b', '- x', 'line\nbreak', 'tab\there', 'nel\u0085ls\u2028ps\u2029', '"quoted"', "'single'", '\\back', '', ' ', 'true', 'null', '~', '0x10', '1e3', '{}', '[]', '&anchor', '*alias', '!tag', '%YAML', '@at', '`tick`', '\u0000nul', 'ünïcødé 🙂'];

t.test('hostile strings and keys round-trip and never start a line of their own', async (t) => {
  const doc: Record<string, unknown> = {};
  hostile.forEach((s, i) => {
    doc[`k${i}`] = s;
    doc[s || 'empty-key-placeholder'] = { nested: [s, [s], { [s]: s }], n: i, f: i / 3, b: i % 2 === 0, z: null };
  });
  doc.y = 'yes-as-key';
  doc.on = 1;
  doc.empty = { a: [], b: {} };
  const lines = yamlLines(doc, '  ');
  for (const l of lines) {
    t.ok(l.startsWith('  '), 'every line is indented', { l });
    t.notMatch(l, /^\s*(\.\.\.|---)\s*$/, 'no line ends or starts a block', { l });
    t.notMatch(l, /^(not )?ok /, 'no line is a test point');
  }
  t.same(parse(lines.join('\n')), JSON.parse(JSON.stringify(doc)), 'the YAML parser reads back the same value');
  const yaml11 = parse(lines.join('\n'), { version: '1.1' }) as Record<string, unknown>;
  t.equal(yaml11.y, 'yes-as-key', 'keys a YAML 1.1 reader would take as booleans are quoted');
  t.equal(yaml11.on, 1);
});

t.test('random JSON values round-trip', async (t) => {
  const rnd = prng(7);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const value = (depth: number): unknown => {
    const kind = depth > 4 ? pick(['s', 'n', 'b', 'z']) : pick(['s', 'n', 'b', 'z', 'a', 'o']);
    if (kind === 's') return Array.from({ length: Math.floor(rnd() * 12) }, () => pick([...hostile, 'x', ':', '#', '-', ' '])).join('');
    if (kind === 'n') return pick([0, -1, 3.25, 1e21, Number.MAX_SAFE_INTEGER, -0.5]);
    if (kind === 'b') return rnd() < 0.5;
    if (kind === 'z') return null;
    if (kind === 'a') return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [String(value(5)), value(depth + 1)]));
  };
  for (let i = 0; i < 300; i++) {
    const v = { root: value(0) };
    t.same(parse(yamlLines(v).join('\n')), JSON.parse(JSON.stringify(v)), `case ${i}`);
  }
});
