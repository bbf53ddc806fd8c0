import { zlib } from './lazy-builtins.js';

/**
 * Raw deflate streams (RFC 1951) inflated synchronously into a buffer the
 * caller gives, by one zlib engine reused from call to call.
 *
 * node:zlib's inflateRawSync builds a new engine for every call (a stream
 * object, its native handle, zlib's state and 32 KiB window) and returns
 * output in a buffer of its own. For a 64 KiB qcow2 cluster that costs more
 * than the inflating (~0.1 ms against ~0.07 ms), and the fresh output's
 * pages fault in again before being copied to where they are wanted: a
 * compressed cloud image's verify inflates ~140 clusters.
 *
 * The reuse goes through the engine's native handle (`_handle.writeSync`,
 * `_handle.reset`, `_writeState`), the calls node:zlib's own
 * processChunkSync makes; they are not public API, so when they are not
 * there as expected every call falls back to inflateRawSync and a copy.
 * Both ways give the same bytes and the same errors
 * (test/bytes/raw-inflate.test.ts).
 */

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

interface Engine {
  stream: import('node:zlib').InflateRaw;
  handle: ZlibHandle;
  /** [avail_out, avail_in] after each write. */
  state: Uint32Array;
}

/** Whether the engine's handle is reused (false: inflateRawSync on every call). */
export type InflateRoute = 'engine' | 'inflateRawSync';

export class RawInflater {
  #engine: Engine | null = null;
  #route: InflateRoute | null;
  readonly #scratch = new Uint8Array(1);

  /** `route` forces one (tests compare the two); by default the engine's handle is reused when it is there. */
  constructor(options: { route?: InflateRoute } = {}) {
    this.#route = options.route ?? null;
  }

  /** How inflateInto works on this Node: decided on the first call. */
  get route(): InflateRoute {
    if (this.#route === null) {
      this.#engine = this.#open();
      this.#route = this.#engine ? 'engine' : 'inflateRawSync';
    }
    return this.#route;
  }

  /**
   * Inflates `input` into `out` and returns how many bytes it wrote: all of
   * `out` unless the stream (or the input) ends first. A stream that would
   * give more than out.length bytes throws, as inflateRawSync's
   * maxOutputLength does; damaged data throws zlib's error. Input after the
   * end of the stream is ignored (a qcow2 cluster's compressed bytes are
   * rounded up to whole sectors).
   */
  inflateInto(input: Uint8Array, out: Uint8Array): number {
    if (this.route === 'inflateRawSync') return this.#bySync(input, out);
    const engine = (this.#engine ??= this.#open());
    if (!engine) return this.#bySync(input, out);
    const { handle, state, stream } = engine;
    const flush = zlib().constants.Z_SYNC_FLUSH;
    handle.reset();
    handle.writeSync(flush, input, 0, input.length, out, 0, out.length);
    this.#check(engine);
    const written = out.length - state[0]!;
    if (written === out.length) {
      // Full: one more byte (from input left, or output zlib still holds) would mean a stream longer than `out`.
      const used = input.length - state[1]!;
      handle.writeSync(flush, input, used, input.length - used, this.#scratch, 0, 1);
      this.#check(engine);
      if (state[0] === 0) {
        stream.destroy();
        this.#engine = null;
        throw new RangeError(`Cannot create a Buffer larger than ${out.length} bytes`);
      }
    }
    return written;
  }

  /** A failed write destroys the engine (node:zlib's onerror): its error is thrown, and the next call opens another. */
  #check(engine: Engine): void {
    if (!engine.stream.destroyed) return;
    this.#engine = null;
    throw engine.stream.errored ?? new Error('zlib engine closed');
  }

  #bySync(input: Uint8Array, out: Uint8Array): number {
    const got = zlib().inflateRawSync(input, { maxOutputLength: out.length, chunkSize: out.length + 1024, finishFlush: zlib().constants.Z_SYNC_FLUSH });
    out.set(got);
    return got.length;
  }

  #open(): Engine | null {
    const stream = zlib().createInflateRaw();
    // Errors are thrown from inflateInto; the stream's own 'error' event (on the next tick) is not needed.
    stream.on('error', () => {});
    const inner = stream as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
    const handle = inner._handle;
    if (!handle || typeof handle.writeSync !== 'function' || typeof handle.reset !== 'function' || !(inner._writeState instanceof Uint32Array)) {
      stream.destroy();
      return null;
    }
    return { stream, handle: handle as ZlibHandle, state: inner._writeState };
  }
}
