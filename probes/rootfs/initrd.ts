import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { childProcess, zlib } from '../../bytes/lazy-builtins.js';
import { CpioReader, cpioMagic, readCpioAt, type CpioEntry, type CpioFormat } from './cpio.js';
import { hexBytes } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';
import { holdOptimiser } from '../../bytes/optimiser-hold.js';

/**
 * Listing an initramfs the way the kernel unpacks it (init/initramfs.c,
 * unpack_to_rootfs): a sequence of segments, each an uncompressed cpio
 * archive (newc) or a compressed stream of cpio archives, with zero bytes
 * skipped between them. Real initrds are an uncompressed "early" archive
 * (CPU microcode, ACPI table overrides) followed by one compressed archive
 * (mkinitramfs, dracut). Compressed streams are decompressed incrementally:
 * gzip with node:zlib on the thread pool, zstd / xz / lzma / bzip2 / lz4 /
 * lzo by their command-line tools (node 20 has no zstd); only names, modes
 * and sizes are kept. A compressed stream is taken to be the last segment
 * (where exactly a command-line decompressor stopped reading is not known).
 * An initrd in a filesystem is read in growing parts, each handed to the
 * decompressor while the next is read (startInitrdListing).
 */

export type InitrdCompression = 'gzip' | 'zstd' | 'xz' | 'lzma' | 'bzip2' | 'lz4' | 'lzo';

export interface InitrdSegment {
  offset: number;
  /** null: an uncompressed cpio archive. */
  compression: InitrdCompression | null;
  /** Format of the first archive in the segment. */
  format: CpioFormat | null;
  entries: number;
}

export interface InitrdListing {
  segments: InitrdSegment[];
  entries: CpioEntry[];
}

/** Decompressed bytes read from one initrd before giving up (distribution initrds are < 1 GiB unpacked). */
export const MAX_DECOMPRESSED = 4 * 1024 * 1024 * 1024;
/** A decompressor taking longer than this is killed. */
export const DECOMPRESS_TIMEOUT_MS = 180_000;

/** Compression by magic number (the kernel's decompress_method table, lib/decompress.c). */
export function compressionAt(b: Uint8Array, off: number): InitrdCompression | null {
  const at = (i: number): number => b[off + i] ?? -1;
  if (at(0) === 0x1f && (at(1) === 0x8b || at(1) === 0x9e)) return 'gzip';
  if (at(0) === 0x28 && at(1) === 0xb5 && at(2) === 0x2f && at(3) === 0xfd) return 'zstd';
  if (at(0) === 0xfd && at(1) === 0x37 && at(2) === 0x7a && at(3) === 0x58 && at(4) === 0x5a && at(5) === 0x00) return 'xz';
  if (at(0) === 0x42 && at(1) === 0x5a && at(2) === 0x68) return 'bzip2';
  if (at(0) === 0x5d && at(1) === 0x00 && at(2) === 0x00) return 'lzma';
  if (at(0) === 0x89 && at(1) === 0x4c && at(2) === 0x5a && at(3) === 0x4f) return 'lzo';
  if (at(0) === 0x02 && at(1) === 0x21 && at(2) === 0x4c && at(3) === 0x18) return 'lz4';
  return null;
}

/** The command line that decompresses each format to stdout, and the Debian package shipping it. */
const TOOLS: Record<Exclude<InitrdCompression, 'gzip'>, { cmd: string; args: string[]; pkg: string }> = {
  zstd: { cmd: 'zstd', args: ['-d', '-c', '-q'], pkg: 'zstd' },
  xz: { cmd: 'xz', args: ['-d', '-c', '-q', '--single-stream'], pkg: 'xz-utils' },
  lzma: { cmd: 'xz', args: ['-d', '-c', '-q', '--format=lzma'], pkg: 'xz-utils' },
  bzip2: { cmd: 'bzip2', args: ['-d', '-c', '-q'], pkg: 'bzip2' },
  lz4: { cmd: 'lz4', args: ['-d', '-c', '-q'], pkg: 'lz4' },
  lzo: { cmd: 'lzop', args: ['-d', '-c', '-q'], pkg: 'lzop' },
};

/**
 * An initrd read in parts (a file in a mounted filesystem), so that its
 * decompression can start before the whole file is read.
 */
export interface InitrdFile {
  readonly size: number;
  /** Exactly `length` bytes at `offset` (within size). Throws for damage. */
  read(offset: number, length: number): Uint8Array;
  /** Optional: exactly out.length bytes at `offset` written into `out` (the parts of a compressed stream land where they are kept). */
  readInto?(offset: number, out: Uint8Array): void;
}

/**
 * A listing under way. `read` settles once the whole file is read (the
 * main thread's share); `fed` once the last of it has been handed to the
 * decompressor, which may take one more turn of the event loop after
 * `read`; `listing` with the result. `read` and `fed` never reject.
 */
export interface InitrdListingJob {
  read: Promise<void>;
  fed: Promise<void>;
  listing: Promise<InitrdListing>;
}

/**
 * Parts an initrd given as a file is read in: the first small, so that the
 * decompressor starts early, the rest larger. Between parts the event loop
 * turns, and the decompressor (on the thread pool) is handed everything
 * read so far whenever it has taken what it had: neither waits for the
 * other.
 */
export const FIRST_PART_BYTES = 256 * 1024;
export const PART_BYTES = 512 * 1024;

/**
 * Lists every member of an initrd, in memory or read in parts. `name` is
 * used in errors. Throws ParseError for damage, UnsupportedError when a
 * needed decompressor is missing.
 */
export function listInitrd(input: Uint8Array | InitrdFile, name: string): Promise<InitrdListing> {
  return startInitrdListing(input, name).listing;
}

const settledNow = (): Promise<void> => Promise.resolve();

/** The parts a file is read in (see FIRST_PART_BYTES); a first part of the whole size reads it at once. */
export interface InitrdParts {
  first: number;
  next: number;
}

/**
 * Starts listing an initrd (see listInitrd). A file whose first non-zero
 * bytes are a compressed stream is read in parts (sizes: `parts`),
 * decompressed as it is read; any other file is read whole first.
 * Aborting `signal` stops the reading and the decompression (its
 * decompressor process is killed) and rejects the listing with the
 * signal's reason.
 */
export function startInitrdListing(input: Uint8Array | InitrdFile, name: string, parts: InitrdParts = { first: FIRST_PART_BYTES, next: PART_BYTES }, signal?: AbortSignal): InitrdListingJob {
  const failed = (e: unknown): InitrdListingJob => ({ read: settledNow(), fed: settledNow(), listing: Promise.reject(e) });
  if (signal?.aborted) return failed(signal.reason);
  if (input instanceof Uint8Array) return listBytes(input, name, signal);
  const size = input.size;
  let head: Uint8Array;
  try {
    head = input.read(0, Math.min(size, parts.first));
  } catch (e) {
    return failed(e);
  }
  let off = 0;
  while (off < head.length && head[off] === 0) off++;
  const compression = off + 8 <= head.length ? compressionAt(head, off) : null;
  if (head.length === size || !compression) {
    let all: Uint8Array;
    try {
      all = head.length === size ? head : joined(head, input.read(head.length, size - head.length));
    } catch (e) {
      return failed(e);
    }
    return listBytes(all, name, signal);
  }
  let at = head.length;
  const stream: CompressedStream = {
    length: size - off,
    trailer: () => input.read(size - 4, 4),
    first: head.subarray(off),
    cap: parts.next,
    moreInto: (out) => {
      if (input.readInto) input.readInto(at, out);
      else out.set(input.read(at, out.length));
      at += out.length;
    },
  };
  const reader = new CpioReader();
  const job = decompressInto(stream, compression, reader, name, off, signal);
  const listing = job.done.then(
    () => {
      reader.finish();
      return { segments: [{ offset: off, compression, format: null, entries: reader.entries.length }], entries: reader.entries };
    },
  ).catch((e: unknown) => {
    throw relocated(e, name, compression, off);
  });
  return { read: job.read, fed: job.fed, listing };
}

function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A cpio error inside a compressed stream, named by the stream (its offsets are in the decompressed bytes). */
function relocated(e: unknown, name: string, compression: InitrdCompression, off: number): unknown {
  if (e instanceof ParseError && e.structure.startsWith('cpio')) {
    return new ParseError(`${name} (${compression} stream at offset ${off})`, e.offset, e.message.replace(/^.*?: /, ''));
  }
  return e;
}

/**
 * An initrd in memory: its segments one after another, a compressed one
 * last. Its decompression is handed all its input before this returns
 * (segmentsOf runs synchronously up to its first await), so `read` and
 * `fed` are settled at once.
 */
function listBytes(bytes: Uint8Array, name: string, signal?: AbortSignal): InitrdListingJob {
  return { read: settledNow(), fed: settledNow(), listing: segmentsOf(bytes, name, signal) };
}

async function segmentsOf(bytes: Uint8Array, name: string, signal?: AbortSignal): Promise<InitrdListing> {
  const segments: InitrdSegment[] = [];
  const entries: CpioEntry[] = [];
  let off = 0;
  while (off < bytes.length) {
    while (off < bytes.length && bytes[off] === 0) off++;
    if (off >= bytes.length) break;
    const format = cpioMagic(bytes, off);
    if (format) {
      const r = readCpioAt(bytes, off);
      segments.push({ offset: off, compression: null, format, entries: r.entries.length });
      entries.push(...r.entries);
      off = r.end;
      continue;
    }
    const compression = compressionAt(bytes, off);
    if (!compression) {
      const shown = hexBytes(bytes.subarray(off, off + 8), ' ');
      if (segments.length === 0) throw new ParseError(name, off, `neither a cpio archive nor a known compressed stream (first bytes ${shown})`);
      throw new ParseError(name, off, `data after the cpio archives is neither cpio nor a known compressed stream (bytes ${shown})`);
    }
    const reader = new CpioReader();
    const input = bytes.subarray(off);
    // The whole stream as its first part: it is handed over here, synchronously.
    const job = decompressInto({ length: input.length, trailer: () => input.subarray(input.length - 4), first: input, moreInto: () => {}, cap: input.length }, compression, reader, name, off, signal);
    try {
      await job.done;
      reader.finish();
    } catch (e) {
      throw relocated(e, name, compression, off);
    }
    segments.push({ offset: off, compression, format: null, entries: reader.entries.length });
    entries.push(...reader.entries);
    break;
  }
  if (segments.length === 0) throw new ParseError(name, 0, 'is empty (only zero bytes)');
  return { segments, entries };
}

/** A compressed stream read in parts: `first` is at hand, `moreInto` reads the next, until `length` bytes are read. */
interface CompressedStream {
  /** Bytes in the whole stream. */
  length: number;
  /** Its last 4 bytes (read only for gzip, whose trailer holds ISIZE). */
  trailer(): Uint8Array;
  first: Uint8Array;
  /** Reads the next out.length bytes of the stream into `out`. */
  moreInto(out: Uint8Array): void;
  /** Bytes in a part read after the first; also the most handed over at once while parts are still being read. */
  cap: number;
}

/** Where a decompression stands: see InitrdListingJob for `read` and `fed`; `done` settles when the output has all gone to the reader. */
interface Decompression {
  read: Promise<void>;
  fed: Promise<void>;
  done: Promise<void>;
}

/** One turn of the event loop: completions from the thread pool and pipes are handled in it. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Reads the stream's parts into one buffer, a turn of the event loop after
 * each, and hands `write` what is read and not yet handed whenever it has
 * taken the last handing (and at once when it is idle): at most `cap`
 * bytes while parts are still being read, so that it asks again soon and
 * is handed all the rest, in one piece, soon after the last part is read
 * (a caller that then keeps the main thread busy leaves it no turn to ask
 * in). Stops once `settled` settles (the decompressor failed); a read that
 * throws is `abort`ed with.
 */
function feedParts(stream: CompressedStream, write: (part: Uint8Array, last: boolean) => Promise<void>, settled: Promise<unknown>, abort: (e: unknown) => void, cap: number): { read: Promise<void>; fed: Promise<void> } {
  let stopped = false;
  let fedNow!: () => void;
  const fed = new Promise<void>((resolve) => {
    fedNow = resolve;
  });
  void settled.then(() => {
    stopped = true;
    fedNow();
  }, () => {
    stopped = true;
    fedNow();
  });
  if (stream.first.length >= stream.length) {
    void write(stream.first, true);
    fedNow();
    return { read: settledNow(), fed };
  }
  const all = new Uint8Array(stream.length);
  all.set(stream.first);
  let have = stream.first.length;
  let handed = 0;
  let busy = false;
  let readAll = false;
  const handOver = (): void => {
    if (stopped) return;
    const last = readAll;
    const to = last ? have : Math.min(have, handed + cap);
    const part = all.subarray(handed, to);
    handed = to;
    busy = true;
    void write(part, last).then(() => {
      busy = false;
      if (!last && (handed < have || readAll)) handOver();
    });
    if (last) fedNow();
  };
  handOver();
  const read = (async (): Promise<void> => {
    try {
      while (have < stream.length && !stopped) {
        await turn();
        if (stopped) break;
        const n = Math.min(stream.cap, stream.length - have);
        stream.moreInto(all.subarray(have, have + n));
        have += n;
        readAll = have >= stream.length;
        if (!busy) handOver();
      }
    } catch (e) {
      try {
        abort(e);
      } catch {
        // `read` never rejects: the failure reaches the listing through `settled`.
      }
    }
  })();
  return { read, fed };
}

function decompressInto(stream: CompressedStream, compression: InitrdCompression, reader: CpioReader, name: string, base: number, signal?: AbortSignal): Decompression {
  const job = startDecompression(stream, compression, reader, name, base, signal);
  // TurboFan's background compiles would take the second core from the decompressor (bytes/optimiser-hold.ts).
  const release = holdOptimiser();
  job.done.then(release, release);
  return job;
}

function startDecompression(stream: CompressedStream, compression: InitrdCompression, reader: CpioReader, name: string, base: number, signal?: AbortSignal): Decompression {
  let total = 0;
  const feed = (chunk: Buffer): void => {
    total += chunk.length;
    if (total > MAX_DECOMPRESSED) throw new ParseError(name, base, `${compression} stream expands beyond ${MAX_DECOMPRESSED} bytes`);
    reader.push(chunk);
  };
  const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length);
  if (compression === 'gzip') {
    const z = zlib().createGunzip({ chunkSize: outputChunkFor(stream.length, stream.length >= 18 ? stream.trailer() : null) });
    let fail!: (e: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      let failed = false;
      fail = (e: unknown): void => {
        if (failed) return;
        failed = true;
        z.destroy();
        const ours = e instanceof ParseError || e instanceof UnsupportedError || (signal?.aborted && e === signal.reason);
        reject(ours ? e : new ParseError(name, base, `gzip stream: ${(e as Error).message}`));
      };
      z.on('data', (c: Buffer) => {
        try {
          feed(c);
        } catch (e) {
          fail(e);
        }
      });
      z.on('error', fail);
      z.on('end', () => {
        if (!failed) resolve();
      });
    });
    const write = (part: Uint8Array, last: boolean): Promise<void> => new Promise((resolve) => {
      if (last) z.end(asBuffer(part), () => resolve());
      else z.write(asBuffer(part), () => resolve());
    });
    onAbort(signal, done, fail);
    return { ...feedParts(stream, write, done, (e) => fail(e), stream.cap), done };
  }
  const tool = TOOLS[compression];
  let fail!: (e: unknown) => void;
  let child!: ReturnType<ReturnType<typeof childProcess>['spawn']>;
  const done = new Promise<void>((resolve, reject) => {
    let settled = false;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child?.kill('SIGKILL');
      reject(e);
    };
    child = childProcess().spawn(tool.cmd, tool.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    timer = setTimeout(() => fail(new ParseError(name, base, `${tool.cmd} did not finish within ${DECOMPRESS_TIMEOUT_MS / 1000} s`)), DECOMPRESS_TIMEOUT_MS);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        fail(new UnsupportedError(`${name} is ${compression}-compressed and the ${tool.cmd} tool is not installed`, `install the Debian package ${tool.pkg}`));
      } else fail(new ParseError(name, base, `${tool.cmd}: ${e.message}`));
    });
    child.stdout!.on('data', (c: Buffer) => {
      try {
        feed(c);
      } catch (e) {
        fail(e);
      }
    });
    child.stderr!.on('data', (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString('utf8');
    });
    // The tool may stop reading early (damage, trailing data): a broken pipe is not our failure.
    child.stdin!.on('error', () => {});
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Trailing data after the last frame makes some tools exit non-zero after writing everything;
      // the cpio reader decides whether what came out is whole.
      if (code !== 0 && reader.archives === 0) {
        reject(new ParseError(name, base, `${tool.cmd} failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`));
        return;
      }
      resolve();
    });
  });
  const write = (part: Uint8Array, last: boolean): Promise<void> => new Promise((resolve) => {
    child.stdin!.write(asBuffer(part), () => resolve());
    if (last) child.stdin!.end();
  });
  onAbort(signal, done, fail);
  return { ...feedParts(stream, write, done, (e) => fail(e), stream.cap), done };
}

/** Fails a decompression with `signal`'s reason when it is aborted before `done` settles (and forgets the signal after). */
function onAbort(signal: AbortSignal | undefined, done: Promise<void>, fail: (e: unknown) => void): void {
  if (!signal) return;
  const abort = (): void => fail(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  const forget = (): void => signal.removeEventListener('abort', abort);
  done.then(forget, forget);
}

/** Bounds for the gunzip output chunk. */
const MIN_CHUNK = 1 << 20;
const MAX_CHUNK = 256 * 1024 * 1024;

/**
 * Output chunk size for inflating `input`, a gzip stream taken to end the
 * initrd: its ISIZE (RFC 1952 §2.3.1, the last 4 bytes) plus room, clamped.
 * Each chunk is a round trip between the thread pool and the main thread;
 * one chunk for the whole stream lets the pool inflate it while the main
 * thread does other work. A wrong or wrapped ISIZE only costs more trips.
 */
export function gunzipChunkSize(input: Uint8Array): number {
  return outputChunkFor(input.length, input.length >= 18 ? input.subarray(input.length - 4) : null);
}

/** gunzipChunkSize for a stream of `length` bytes whose last 4 are `trailer` (null: too short to hold one). */
function outputChunkFor(length: number, trailer: Uint8Array | null): number {
  if (!trailer || length < 18) return MIN_CHUNK;
  const isize = new LeReader(trailer, 'gzip trailer').u32(0, 'ISIZE');
  // More than the output, so the last pass never fills the chunk and makes zlib allocate a spare one.
  return Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, isize + 1024));
}

export interface ModuleInInitrd {
  /** Path inside the initrd. */
  path: string;
  /** Module name with '-' folded to '_'. */
  name: string;
}

const MODULE_PATH = /^(?:usr\/)?lib\/modules\/([^/]+)\/(.+\/)?([^/]+)\.ko(?:\.(?:gz|xz|zst))?$/;

/** Kernel modules in an initrd listing for one kernel release (other releases' modules do not count). */
export function initrdModules(listing: InitrdListing, version: string): Map<string, ModuleInInitrd> {
  const out = new Map<string, ModuleInInitrd>();
  for (const e of listing.entries) {
    if ((e.mode & 0o170000) !== 0o100000) continue;
    const m = MODULE_PATH.exec(e.name);
    if (!m || m[1] !== version) continue;
    const name = m[3]!.replace(/-/g, '_');
    if (!out.has(name)) out.set(name, { path: e.name, name });
  }
  return out;
}
