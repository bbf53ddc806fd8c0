import { ParseError } from '../../bytes/errors.js';
import { MAX_READ, type ByteSource } from '../../bytes/byte-source.js';
import { readBootSector, type Bpb, type FatGeometry } from './fat-bpb.js';
import { parseDirectory, type DirListing, type FatDirEntry } from './fat-dir.js';
import { FatTable, type ChainWalk } from './fat-table.js';

/**
 * A read-only FAT12/16/32 volume over a ByteSource (a partition window):
 * directories, case-insensitive path lookup, bounded file reads
 * (Microsoft FAT specification "fatgen103"; UEFI 2.6 §13.3).
 */

export { fatTypeForClusterCount, type Bpb, type FatGeometry, type FatType } from './fat-bpb.js';
export type { DirListing, FatDirEntry } from './fat-dir.js';

/** fatgen103 §6: a directory holds at most 65,536 32-byte entries (2 MiB). */
export const MAX_DIR_ENTRIES = 65536;
/** Default cap on one file read; callers ask for what they need (a PE header, a config file). */
export const DEFAULT_MAX_FILE_READ = 16 * 1024 * 1024;
/** Caps on untrusted shape for path lookup and tree walks. */
const MAX_PATH_COMPONENTS = 64;
const MAX_WALK_DEPTH = 64;
const MAX_WALK_ENTRIES = 100_000;
/** Decoded directories kept per volume (lookups revisit \EFI and \EFI\BOOT). */
const MAX_CACHED_DIRS = 256;

/** A directory to list: the root, or a subdirectory's first cluster. */
export type DirRef = 'root' | number;

/** What a path resolved to. `entry` is null for the root directory. */
export interface FatNode {
  kind: 'file' | 'directory';
  entry: FatDirEntry | null;
  /** The path as the names are stored on disk: "\\EFI\\Boot\\bootaa64.efi". */
  storedPath: string;
}

export interface WalkItem {
  /** "/"-separated path of stored names, as `mdir -/ -b` prints it (without "::"). */
  path: string;
  entry: FatDirEntry;
}

/** A file's cluster chain followed so far, and its first cluster (the directory entry's, when it was cached). */
interface FileChain {
  firstCluster: number;
  walk: ChainWalk;
}

/** Files whose chains are kept at once. */
const MAX_CACHED_CHAINS = 64;

export class FatVolume {
  readonly bpb: Bpb;
  readonly geometry: FatGeometry;
  /** Boot-sector problems that did not prevent reading. */
  readonly problems: string[];
  readonly table: FatTable;
  readonly #dirs = new Map<DirRef, DirListing>();
  /** Each file's cluster chain as far as it has been followed, by directory entry: ranges of a big file read one after another follow it once. */
  readonly #chains = new Map<number, FileChain>();

  constructor(readonly source: ByteSource) {
    const bs = readBootSector(source);
    this.bpb = bs.bpb;
    this.geometry = bs.geometry;
    this.problems = bs.problems;
    this.table = new FatTable(source, bs.geometry);
  }

  /** Byte offset of a data cluster (fatgen103 §3.5: FirstSectorofCluster). */
  clusterOffset(n: number): number {
    const g = this.geometry;
    return (g.firstDataSector + (n - 2) * g.sectorsPerCluster) * g.bytesPerSector;
  }

  /** One whole data cluster, bounds-checked against the data area and the source. */
  readCluster(n: number): Uint8Array {
    const g = this.geometry;
    if (!Number.isInteger(n) || n < 2 || n > g.countOfClusters + 1) {
      throw new ParseError('FAT data area', -1, `cluster ${n} is outside 2..${g.countOfClusters + 1}`);
    }
    const off = this.clusterOffset(n);
    if (off + g.bytesPerCluster > this.source.size) {
      throw new ParseError('FAT data area', off, `cluster ${n} lies past the end of ${this.source.name} (size ${this.source.size})`);
    }
    return this.source.read(off, g.bytesPerCluster);
  }

  /** The entries of a directory, "." and ".." included. Cached. */
  readDir(dir: DirRef): DirListing {
    const cached = this.#dirs.get(dir);
    if (cached) return cached;
    const g = this.geometry;
    let bytes: Uint8Array;
    let offsetOf: (pos: number) => number;
    if (dir === 'root' && g.type !== 'FAT32') {
      // fatgen103 §6: the FAT12/16 root directory is a fixed region after the FATs.
      const base = g.rootDirOffset;
      const len = g.rootEntryCount * 32;
      if (base + len > this.source.size) {
        throw new ParseError('FAT root directory', base, `${g.rootEntryCount} entries run past the end of ${this.source.name} (size ${this.source.size})`);
      }
      bytes = this.source.read(base, len);
      offsetOf = (pos) => base + pos;
    } else {
      const start = dir === 'root' ? g.rootCluster : dir;
      const { clusters, bytes: b } = this.#readDirClusters(start);
      const bpc = g.bytesPerCluster;
      bytes = b;
      offsetOf = (pos) => this.clusterOffset(clusters[Math.floor(pos / bpc)] ?? start) + (pos % bpc);
    }
    const parsed = parseDirectory(bytes, offsetOf, g.type === 'FAT32', dir === 'root');
    const listing: DirListing = { entries: parsed.entries, volumeLabel: parsed.volumeLabel, problems: parsed.problems };
    if (this.#dirs.size >= MAX_CACHED_DIRS) this.#dirs.clear();
    this.#dirs.set(dir, listing);
    return listing;
  }

  /** A cluster-chained directory's bytes, up to its end-of-directory marker or 65,536 entries. */
  #readDirClusters(start: number): { clusters: number[]; bytes: Uint8Array } {
    const bpc = this.geometry.bytesPerCluster;
    const maxClusters = Math.ceil((MAX_DIR_ENTRIES * 32) / bpc);
    const parts: Uint8Array[] = [];
    const clusters: number[] = [];
    for (const c of this.table.chain(start, maxClusters + 1, `directory at cluster ${start}`)) {
      if (parts.length === maxClusters) {
        throw new ParseError('FAT directory', this.clusterOffset(start), `directory at cluster ${start} is longer than ${MAX_DIR_ENTRIES} entries`);
      }
      const bytes = this.readCluster(c);
      parts.push(bytes);
      clusters.push(c);
      // fatgen103 §6: DIR_Name[0] == 0 means no entry after this one is in use; stop reading there.
      let ended = false;
      for (let p = 0; p < bytes.length; p += 32) if (bytes[p] === 0) { ended = true; break; }
      if (ended) break;
    }
    if (parts.length === 1) return { clusters, bytes: parts[0] ?? new Uint8Array(0) };
    const out = new Uint8Array(parts.length * bpc);
    parts.forEach((p, i) => out.set(p, i * bpc));
    return { clusters, bytes: out };
  }

  /** The directory a subdirectory entry (or "..") leads to. fatgen103 §6: ".." with cluster 0 is the root. */
  dirRefOf(entry: FatDirEntry): DirRef {
    if (!entry.isDirectory) throw new ParseError('FAT directory entry', entry.offset, `"${entry.name}" is not a directory`);
    if (entry.firstCluster === 0) {
      if (entry.isDotEntry) return 'root';
      throw new ParseError('FAT directory entry', entry.offset, `directory "${entry.name}" has no first cluster`);
    }
    const max = this.geometry.countOfClusters + 1;
    if (entry.firstCluster < 2 || entry.firstCluster > max) {
      throw new ParseError('FAT directory entry', entry.offset, `directory "${entry.name}" starts at cluster ${entry.firstCluster}, outside 2..${max}`);
    }
    if (this.geometry.type === 'FAT32' && entry.firstCluster === this.geometry.rootCluster) return 'root';
    return entry.firstCluster;
  }

  /**
   * Resolve a path case-insensitively, matching either the long or the 8.3
   * name of each component (as UEFI's FAT driver does). "\" and "/" both
   * separate; "." and ".." are resolved by the walk, not the disk. Returns
   * null when a component is missing or a non-final one is a file.
   */
  lookup(path: string): FatNode | null {
    const parts = path.split(/[\\/]+/).filter((p) => p !== '');
    if (parts.length > MAX_PATH_COMPONENTS) throw new ParseError('FAT path', -1, `path has more than ${MAX_PATH_COMPONENTS} components`);
    const stack: { ref: DirRef; entry: FatDirEntry }[] = [];
    let file: FatDirEntry | null = null;
    for (const part of parts) {
      if (file) return null;
      if (part === '.') continue;
      if (part === '..') { stack.pop(); continue; }
      const here = stack.at(-1)?.ref ?? 'root';
      const want = part.toUpperCase();
      const hit = this.readDir(here).entries.find(
        (e) => !e.isDotEntry && (e.name.toUpperCase() === want || e.shortName.toUpperCase() === want),
      );
      if (!hit) return null;
      if (hit.isDirectory) stack.push({ ref: this.dirRefOf(hit), entry: hit });
      else file = hit;
    }
    const names = stack.map((s) => s.entry.name);
    if (file) return { kind: 'file', entry: file, storedPath: `\\${[...names, file.name].join('\\')}` };
    return { kind: 'directory', entry: stack.at(-1)?.entry ?? null, storedPath: `\\${names.join('\\')}` };
  }

  /**
   * The first min(DIR_FileSize, maxBytes) bytes of a file, following its
   * cluster chain. Throws ParseError when the chain is shorter than that,
   * loops, or leaves the data area.
   */
  readFile(entry: FatDirEntry, maxBytes = DEFAULT_MAX_FILE_READ): Uint8Array {
    if (entry.isDirectory) throw new ParseError('FAT directory entry', entry.offset, `"${entry.name}" is a directory`);
    const cap = Math.max(0, Math.min(maxBytes, MAX_READ));
    return this.#readSpan(entry, 0, Math.min(entry.size, cap));
  }

  /**
   * `length` bytes of a file from byte `offset` (both within DIR_FileSize and
   * MAX_READ), reading only the clusters that hold them: a section of a big
   * file (a UKI's .initrd) without the rest of it.
   */
  readFileRange(entry: FatDirEntry, offset: number, length: number): Uint8Array {
    if (entry.isDirectory) throw new ParseError('FAT directory entry', entry.offset, `"${entry.name}" is a directory`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > entry.size || length > MAX_READ) {
      throw new ParseError('FAT directory entry', entry.offset, `"${entry.name}" (${entry.size} bytes): ${length} bytes at ${offset} are outside the file`);
    }
    return this.#readSpan(entry, offset, length);
  }

  #readSpan(entry: FatDirEntry, start: number, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    const bpc = this.geometry.bytesPerCluster;
    const first = Math.floor(start / bpc);
    const needed = Math.ceil((start + length) / bpc);
    const max = this.geometry.countOfClusters + 1;
    if (entry.firstCluster < 2 || entry.firstCluster > max) {
      throw new ParseError('FAT directory entry', entry.offset, `"${entry.name}" (${entry.size} bytes) starts at cluster ${entry.firstCluster}, outside 2..${max}`);
    }
    const out = new Uint8Array(length);
    const clusters = this.#chainOf(entry, needed);
    // Clusters that follow each other on disk are read as one run: files are mostly contiguous, and a
    // 1 MiB file in 512-byte clusters would otherwise be 2048 reads. Clusters before `start` are only
    // followed in the FAT, not read.
    const got = Math.min(clusters.length, needed);
    let runFirst = 0;
    let runCount = 0;
    let runFrom = 0; // index in the file of the run's first cluster
    const flush = (): void => {
      if (runCount === 0) return;
      const from = runFrom * bpc; // file offset of the run
      const lo = Math.max(from, start);
      const hi = Math.min(from + runCount * bpc, start + length);
      if (this.clusterOffset(runFirst) + runCount * bpc <= this.source.size) out.set(this.source.read(this.clusterOffset(runFirst) + (lo - from), hi - lo), lo - start);
      else for (let i = 0; i < runCount; i++) this.readCluster(runFirst + i); // names the first cluster past the end
      runCount = 0;
    };
    for (let i = first; i < got; i++) {
      const c = clusters[i]!;
      if (runCount > 0 && c === runFirst + runCount) runCount++;
      else {
        flush();
        runFirst = c;
        runCount = 1;
        runFrom = i;
      }
    }
    flush();
    if (got < needed) {
      throw new ParseError('FAT', this.table.entryOffset(entry.firstCluster), `file "${entry.name}": cluster chain ends after ${got} clusters but DIR_FileSize ${entry.size} needs ${Math.ceil(entry.size / bpc)}`);
    }
    return out;
  }

  /**
   * The first `needed` clusters of a file's chain (fewer when it ends
   * sooner), following it further only when asked for more than before. A
   * damaged link throws when it is reached, and again for any later ask.
   */
  #chainOf(entry: FatDirEntry, needed: number): readonly number[] {
    let c = this.#chains.get(entry.offset);
    if (!c || c.firstCluster !== entry.firstCluster) {
      const total = Math.ceil(entry.size / this.geometry.bytesPerCluster);
      c = { firstCluster: entry.firstCluster, walk: this.table.walk(entry.firstCluster, total, `file "${entry.name}"`) };
      if (this.#chains.size >= MAX_CACHED_CHAINS) this.#chains.clear();
      this.#chains.set(entry.offset, c);
    }
    return c.walk.extend(needed);
  }

  /**
   * Every entry below a directory, depth first, "." and ".." left out.
   * Bounded in depth and count; a directory met twice (a loop in the tree)
   * is a ParseError.
   */
  *walk(dir: DirRef = 'root', prefix = ''): Generator<WalkItem, void, undefined> {
    const seen = new Set<DirRef>([dir]);
    let count = 0;
    const self = this;
    function* visit(ref: DirRef, pre: string, depth: number): Generator<WalkItem, void, undefined> {
      if (depth > MAX_WALK_DEPTH) throw new ParseError('FAT directory', -1, `directories nest deeper than ${MAX_WALK_DEPTH} at ${pre}`);
      for (const entry of self.readDir(ref).entries) {
        if (entry.isDotEntry) continue;
        if (++count > MAX_WALK_ENTRIES) throw new ParseError('FAT directory', entry.offset, `more than ${MAX_WALK_ENTRIES} entries`);
        const path = `${pre}/${entry.name}`;
        yield { path, entry };
        if (entry.isDirectory) {
          const sub = self.dirRefOf(entry);
          if (seen.has(sub)) throw new ParseError('FAT directory entry', entry.offset, `"${path}" leads back to a directory already visited (cluster ${entry.firstCluster})`);
          seen.add(sub);
          yield* visit(sub, path, depth + 1);
        }
      }
    }
    yield* visit(dir, prefix, 0);
  }
}

/** Open a FAT volume. Throws ParseError when the boot sector cannot describe one. */
export function openFat(source: ByteSource): FatVolume {
  return new FatVolume(source);
}
