import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { childProcess, zlib } from '../../bytes/lazy-builtins.js';
import { CpioReader, cpioMagic, readCpioAt, type CpioEntry, type CpioFormat } from './cpio.js';
import { hexBytes } from '../../bytes/hex.js';
import { LeReader } from '../../bytes/le-reader.js';

/**
 * Listing an initramfs the way the kernel unpacks it (init/initramfs.c,
 * unpack_to_rootfs): a sequence of segments, each an uncompressed cpio
 * archive (newc) or a compressed stream of cpio archives, with zero bytes
 * skipped between them. Real initrds are an uncompressed "early" archive
 * (CPU microcode, ACPI table overrides) followed by one compressed archive
 * (mkinitramfs, dracut). Compressed streams are decompressed incrementally:
 * gzip with node:zlib, zstd / xz / lzma / bzip2 / lz4 / lzo by their
 * command-line tools (node 20 has no zstd); only names, modes and sizes are
 * kept. A compressed stream is taken to be the last segment (where exactly
 * a command-line decompressor stopped reading is not known).
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
 * Lists every member of an initrd held in memory. `name` is used in errors.
 * Throws ParseError for damage, UnsupportedError when a needed decompressor
 * is missing.
 */
export async function listInitrd(bytes: Uint8Array, name: string): Promise<InitrdListing> {
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
    try {
      await decompressInto(bytes.subarray(off), compression, reader, name, off);
      reader.finish();
    } catch (e) {
      if (e instanceof ParseError && e.structure.startsWith('cpio')) {
        throw new ParseError(`${name} (${compression} stream at offset ${off})`, e.offset, e.message.replace(/^.*?: /, ''));
      }
      throw e;
    }
    segments.push({ offset: off, compression, format: null, entries: reader.entries.length });
    entries.push(...reader.entries);
    break;
  }
  if (segments.length === 0) throw new ParseError(name, 0, 'is empty (only zero bytes)');
  return { segments, entries };
}

function decompressInto(input: Uint8Array, compression: InitrdCompression, reader: CpioReader, name: string, base: number): Promise<void> {
  let total = 0;
  const feed = (chunk: Buffer): void => {
    total += chunk.length;
    if (total > MAX_DECOMPRESSED) throw new ParseError(name, base, `${compression} stream expands beyond ${MAX_DECOMPRESSED} bytes`);
    reader.push(chunk);
  };
  if (compression === 'gzip') {
    return new Promise((resolve, reject) => {
      const z = zlib().createGunzip({ chunkSize: gunzipChunkSize(input) });
      let failed = false;
      const fail = (e: unknown): void => {
        if (failed) return;
        failed = true;
        z.destroy();
        reject(e instanceof ParseError ? e : new ParseError(name, base, `gzip stream: ${(e as Error).message}`));
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
      z.end(Buffer.from(input.buffer, input.byteOffset, input.length));
    });
  }
  const tool = TOOLS[compression];
  return new Promise((resolve, reject) => {
    let settled = false;
    let stderr = '';
    const child = childProcess().spawn(tool.cmd, tool.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => fail(new ParseError(name, base, `${tool.cmd} did not finish within ${DECOMPRESS_TIMEOUT_MS / 1000} s`)), DECOMPRESS_TIMEOUT_MS);
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        fail(new UnsupportedError(`${name} is ${compression}-compressed and the ${tool.cmd} tool is not installed`, `install the Debian package ${tool.pkg}`));
      } else fail(new ParseError(name, base, `${tool.cmd}: ${e.message}`));
    });
    child.stdout.on('data', (c: Buffer) => {
      try {
        feed(c);
      } catch (e) {
        fail(e);
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString('utf8');
    });
    // The tool may stop reading early (damage, trailing data): a broken pipe is not our failure.
    child.stdin.on('error', () => {});
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
    child.stdin.end(Buffer.from(input.buffer, input.byteOffset, input.length));
  });
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
  if (input.length < 18) return MIN_CHUNK;
  const isize = new LeReader(input.subarray(input.length - 4), 'gzip trailer').u32(0, 'ISIZE');
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
