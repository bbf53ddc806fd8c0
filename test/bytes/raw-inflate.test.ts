/**
 * RawInflater against node:zlib's inflateRawSync (with the options the
 * qcow2 reader used, the oracle) on streams deflated by the real zlib from
 * real bytes (this Node binary): the same bytes and the same errors, by the
 * reused engine and by the fallback, for streams that fit, fall short, run
 * over, are cut or damaged, and for calls after a failure.
 */
import t from 'tap';
import { openSync, readSync, closeSync } from 'node:fs';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { RawInflater, type InflateRoute } from '../../bytes/raw-inflate.js';

const CLUSTER = 65536;

/** `length` bytes of this Node binary from `offset`: real, partly compressible data. */
function realBytes(offset: number, length: number): Buffer {
  const fd = openSync(process.execPath, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** What inflateRawSync gives for `input` into `size` bytes: the bytes, or the error's message. */
function oracle(input: Uint8Array, size: number): Buffer | string {
  try {
    return inflateRawSync(input, { maxOutputLength: size, chunkSize: size + 1024, finishFlush: constants.Z_SYNC_FLUSH });
  } catch (e) {
    return (e as Error).message;
  }
}

function mine(inflater: RawInflater, input: Uint8Array, size: number): Buffer | string {
  const out = new Uint8Array(size).fill(0xa5);
  try {
    const n = inflater.inflateInto(input, out);
    return Buffer.from(out.subarray(0, n));
  } catch (e) {
    return (e as Error).message;
  }
}

t.test('the engine is reused on this Node', async (t) => {
  t.equal(new RawInflater().route, 'engine', "node:zlib's handle is there as expected (else every call would fall back)");
});

for (const route of ['engine', 'inflateRawSync'] as InflateRoute[]) {
  t.test(`${route}: the same bytes and errors as inflateRawSync`, async (t) => {
    const inflater = new RawInflater({ route });
    t.equal(inflater.route, route);
    const cluster = realBytes(1 << 20, CLUSTER);
    const cases: [string, Uint8Array, number][] = [];
    for (const level of [1, 6, 9]) cases.push([`a cluster at level ${level}`, deflateRawSync(cluster, { level }), CLUSTER]);
    cases.push(['zeros', deflateRawSync(Buffer.alloc(CLUSTER)), CLUSTER]);
    cases.push(['stored (level 0)', deflateRawSync(cluster, { level: 0 }), CLUSTER]);
    cases.push(['sector padding after the stream', Buffer.concat([deflateRawSync(cluster), Buffer.alloc(511, 0x5a)]), CLUSTER]);
    cases.push(['a stream shorter than the buffer', deflateRawSync(cluster.subarray(0, 40_000)), CLUSTER]);
    cases.push(['a stream one byte longer than the buffer', deflateRawSync(realBytes(3 << 20, CLUSTER + 1)), CLUSTER]);
    cases.push(['a stream much longer', deflateRawSync(realBytes(3 << 20, 3 * CLUSTER)), CLUSTER]);
    const whole = deflateRawSync(cluster);
    cases.push(['cut in half', whole.subarray(0, whole.length >> 1), CLUSTER]);
    cases.push(['empty input', new Uint8Array(0), CLUSTER]);
    for (const flip of [3, 100, 1000]) {
      const bad = Buffer.from(whole);
      bad[flip] = bad[flip]! ^ 0xff;
      bad[flip + 1] = bad[flip + 1]! ^ 0x3c;
      cases.push([`damaged at ${flip}`, bad, CLUSTER]);
    }
    cases.push(['not deflate at all', Buffer.from('this is not a deflate stream, only text. '.repeat(20)), CLUSTER]);
    cases.push(['a small buffer', deflateRawSync(cluster.subarray(0, 512)), 512]);
    for (const [name, input, size] of cases) {
      const want = oracle(input, size);
      t.same(mine(inflater, input, size), want, `${name}: ${typeof want === 'string' ? `throws "${want}"` : `${want.length} bytes`}`);
    }
    // After all those failures, a good stream still inflates.
    t.same(mine(inflater, whole, CLUSTER), cluster, 'a good stream after failures');
  });
}
