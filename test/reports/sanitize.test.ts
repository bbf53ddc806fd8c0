import t from 'tap';
import { boundJson, cleanText, oneLine, prettyJson, shortJson, truncateText, wellFormed } from '../../reports/sanitize.js';

t.test('cleanText: well-formed, controls visible, CRLF normalised', async (t) => {
  t.equal(cleanText('a\u0000b\u0007c\u001bd\u007fe\u0085f'), 'a\\x00b\\x07c\\x1bd\\x7fe\\x85f');
  t.equal(cleanText('tab\tnl\ncr\r\nlone\rend'), 'tab\tnl\ncr\nlone\nend');
  t.equal(cleanText('x\ud800y\udc00z\ud83d\ude00'), 'x\ufffdy\ufffdz\ud83d\ude00', 'lone surrogates replaced, pairs kept');
  t.equal(cleanText('\ufffe\uffff'), '\\ufffe\\uffff');
  t.equal(wellFormed('\udfff\ud800'), '\ufffd\ufffd');
  t.equal(cleanText(Buffer.from([0xff, 0x41]).toString('utf8')), '\ufffdA', 'invalid UTF-8 already decoded to U+FFFD stays so');
});

t.test('truncation says so and never splits a surrogate pair', async (t) => {
  t.equal(truncateText('abcdef', 3), 'abc… [truncated: 3 more characters]');
  t.equal(truncateText('ab\ud83d\ude00cd', 3), 'ab… [truncated: 4 more characters]');
  t.equal(truncateText('short', 10), 'short');
  t.equal(oneLine('a\n\nb\tc', 100), 'a b c');
});

t.test('boundJson: long strings, big arrays, many keys, deep nesting', async (t) => {
  const deep: Record<string, unknown> = {};
  let cur = deep;
  for (let i = 0; i < 50; i++) cur = (cur.d = {}) as Record<string, unknown>;
  const value = { s: 'x'.repeat(5000), a: Array.from({ length: 500 }, (_, i) => i), o: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])), deep, n: Number.NaN, u: undefined };
  const b = boundJson(value);
  t.ok(b.truncated);
  const v = b.value as Record<string, unknown>;
  t.match(v.s, /… \[truncated: 3000 more characters\]$/);
  t.equal((v.a as unknown[]).length, 101);
  t.equal((v.a as unknown[])[100], '[truncated: 400 more items of 500]');
  t.equal((v.o as Record<string, unknown>)['[truncated]'], '100 more keys of 300');
  t.match(JSON.stringify(v.deep), /nested deeper than 16 levels/);
  t.equal(v.n, 'NaN');
  t.equal(v.u, null);
  t.notOk(boundJson({ a: 1 }).truncated);
});

t.test('prettyJson: escapes every control character and caps the block', async (t) => {
  const p = prettyJson({ s: 'a\u0000\u0007\u007f\u0085\ud800' });
  t.equal(p.text, '{\n  "s": "a\\u0000\\u0007\\u007f\\u0085\ufffd"\n}');
  t.equal(JSON.parse(p.text).s, 'a\u0000\u0007\u007f\u0085\ufffd', 'still valid JSON');
  const big = prettyJson(Array.from({ length: 90 }, () => 'y'.repeat(1900)));
  t.ok(big.truncated);
  t.match(big.text, /… \[truncated: \d+ more characters; the full value is in the JSON results\]$/);
  t.ok(big.chars < 33 * 1024);
  t.equal(shortJson({ a: 'x'.repeat(500) }, 50).length <= 50 + 40, true);
});
