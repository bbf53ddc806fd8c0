import t from 'tap';
import { ParseError } from '../../bytes/errors.js';
import { applyMutations, boundaryValues } from './mutation.js';
import { checkCase, type FuzzTarget } from './harness.js';

/** The harness must catch what it claims to catch: each property broken on purpose by a faulty "parser". */

const target = (run: (b: Uint8Array) => unknown, extra: Partial<FuzzTarget> = {}): FuzzTarget => ({ name: 'self-test', runs: 1, seeds: () => [], run, ...extra });
const input = new Uint8Array([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff]);

t.test('each property fails on a faulty parser', async (t) => {
  t.throws(() => checkCase(target((b) => new DataView(b.buffer).getUint32(b.length)), input), /untyped error escaped: RangeError/, 'a RangeError');
  t.throws(() => checkCase(target(() => { throw new ParseError('thing', Number.NaN, 'bad'); }), input), /offset NaN/, 'a ParseError without a usable offset');
  t.throws(() => checkCase(target(() => { throw new ParseError('thing', 3, `length ${undefined}`); }), input), /missing value/, 'a message showing undefined');
  t.throws(() => checkCase(target((b) => { b[0] = 9; }), input.slice()), /modified its input/, 'writing to the input');
  t.throws(() => checkCase(target(() => { const end = performance.now() + 30; while (performance.now() < end); }, { timeBoundMs: 10 }), input), /over the 10 ms bound/, 'a slow case');
  // A "claimed length" of 0xffffffff bytes / 16: allocating it is the bug the memory bound catches.
  t.throws(() => checkCase(target((b) => new Uint8Array(new DataView(b.buffer).getUint32(4, true) >>> 4).fill(1), { memoryBoundBytes: 64 * 1024 * 1024 }), input), /ArrayBuffer memory grew/, 'an allocation following a claimed length');
  t.equal(checkCase(target(() => { throw new ParseError('thing', 4, 'bad'); }), input).kind, 'ParseError', 'a proper ParseError passes');
});

t.test('mutations apply exactly and never touch the seed', async (t) => {
  const seed = new Uint8Array(16);
  const out = applyMutations(seed, [
    { kind: 'field', at: 0, width: 4, endian: 'le', value: String(0x01020304) },
    { kind: 'field', at: 4, width: 4, endian: 'be', value: String(0x01020304) },
    { kind: 'field', at: 8, width: 8, endian: 'octal', value: '8' },
    { kind: 'flip', at: 15, bit: 7 },
    { kind: 'set', at: 99, value: 1 },
  ]);
  t.same([...out.subarray(0, 8)], [4, 3, 2, 1, 1, 2, 3, 4]);
  t.equal(Buffer.from(out.subarray(8, 16)).toString('latin1'), '0000010\0'.slice(0, 7) + '\x80');
  t.same([...seed], new Array(16).fill(0), 'the seed is unchanged');
  t.equal(applyMutations(seed, [{ kind: 'truncate', length: 3 }]).length, 3);
  t.ok(boundaryValues(4, 1000).includes(0xffffffffn) && boundaryValues(4, 1000).includes(1001n), 'u32 boundaries include 0xFFFFFFFF and size+1');
});
