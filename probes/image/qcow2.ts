import { RawInflater } from '../../bytes/raw-inflate.js';
import { checkRange, readInto, type ByteSource } from '../../bytes/byte-source.js';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { zstdFrame } from '../../bytes/zstd.js';
import { Lru } from '../lru.js';
import { hex } from '../../bytes/hex.js';

/**
 * The guest-visible disk inside a qcow2 file, versions 2 and 3
 * (QEMU docs/interop/qcow2.txt). Read-only: we follow the active L1/L2
 * tables and ignore refcounts and snapshots, which only matter to writers.
 * Everything is big-endian. Metadata is read on demand (L1 in small chunks,
 * L2 tables in a small LRU); guest data is read only when asked for.
 */

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** QEMU's limits: 2 MiB clusters (qcow2.txt "cluster_bits"), 32 MiB L1 table (QCOW_MAX_L1_SIZE). */
const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_BACKING_NAME = 1023;

/** incompatible_features bits (qcow2.txt header bytes 72-79). */
const INCOMPAT_DIRTY = 1n << 0n;
const INCOMPAT_CORRUPT = 1n << 1n;
const INCOMPAT_DATA_FILE = 1n << 2n;
const INCOMPAT_COMPRESSION = 1n << 3n;
const INCOMPAT_EXTL2 = 1n << 4n;
const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
/** compatible_features bit 0: lazy refcounts. */
const COMPAT_LAZY_REFCOUNTS = 1n << 0n;

/** Header extension types (qcow2.txt "Header extensions"). */
const EXT_END = 0x00000000;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_NAMES = 0x6803f857;
const EXT_DATA_FILE = 0x44415441;

/** L1/L2 entry fields (qcow2.txt "Cluster mapping"). */
const OFFSET_MASK = 0x00fffffffffffe00n; // bits 9-55
const L2_COMPRESSED = 1n << 62n;
const L2_ZERO = 1n << 0n;
const COMPRESSED_SECTOR = 512;

const COMPRESSION_TYPES = ['zlib', 'zstd'] as const;

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  /** Virtual disk size in bytes ("size"). */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  // Derived / from header extensions:
  clusterSize: number;
  extendedL2: boolean;
  backingFile: string | null;
  backingFormat: string | null;
}

/** A 64-bit field that must be a byte offset or size (beyond 2^53 no file is that large). */
function u64(dv: DataView, off: number, field: string): number {
  const v = dv.getBigUint64(off, false);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError('qcow2 header', off, `${field} ${hex(v)} is beyond 2^53`);
  return Number(v);
}

/**
 * Reads and checks the header and its extensions (qcow2.txt "Header",
 * "Header extensions"). Throws UnsupportedError for what we refuse to read
 * (encryption, external data file, unknown incompatible features)
 * and ParseError for what is malformed.
 */
export function readQcow2Header(file: ByteSource): Qcow2Header {
  const name = file.name;
  if (file.size < 72) throw new ParseError('qcow2 header', 0, `${name} is ${file.size} bytes, shorter than the 72-byte header`);
  const b = file.read(0, Math.min(file.size, 112));
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, false) !== QCOW2_MAGIC) throw new ParseError('qcow2 header', 0, `${name}: no "QFI\\xfb" magic`);
  const version = dv.getUint32(4, false);
  if (version === 1) throw new UnsupportedError(`${name}: qcow (version 1) images are not supported`, 'convert with `qemu-img convert -O raw` (or -O qcow2)');
  if (version !== 2 && version !== 3) throw new UnsupportedError(`${name}: qcow2 version ${version} is not supported (only 2 and 3)`, 'convert with `qemu-img convert -O raw`');

  const clusterBits = dv.getUint32(20, false);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new ParseError('qcow2 header', 20, `cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  }
  const clusterSize = 2 ** clusterBits;

  let headerLength = 72;
  let incompatibleFeatures = 0n;
  let compatibleFeatures = 0n;
  let autoclearFeatures = 0n;
  let refcountOrder = 4;
  let compressionType = 0;
  if (version === 3) {
    if (b.length < 104) throw new ParseError('qcow2 header', 0, `${name} is ${file.size} bytes, shorter than the 104-byte version 3 header`);
    headerLength = dv.getUint32(100, false);
    if (headerLength < 104 || headerLength % 8 !== 0 || headerLength > clusterSize) {
      throw new ParseError('qcow2 header', 100, `header_length ${headerLength} is not a multiple of 8 in 104..${clusterSize}`);
    }
    incompatibleFeatures = dv.getBigUint64(72, false);
    compatibleFeatures = dv.getBigUint64(80, false);
    autoclearFeatures = dv.getBigUint64(88, false);
    refcountOrder = dv.getUint32(96, false);
    if (headerLength > 104) {
      if (b.length < 105) throw new ParseError('qcow2 header', 104, `${name} ends inside the header`);
      compressionType = b[104]!;
    }
  }
  if (file.size < headerLength) throw new ParseError('qcow2 header', 0, `${name} is ${file.size} bytes, shorter than header_length ${headerLength}`);

  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(dv, 8, 'backing_file_offset'),
    backingFileSize: dv.getUint32(16, false),
    clusterBits,
    size: u64(dv, 24, 'size'),
    cryptMethod: dv.getUint32(32, false),
    l1Size: dv.getUint32(36, false),
    l1TableOffset: u64(dv, 40, 'l1_table_offset'),
    refcountTableOffset: u64(dv, 48, 'refcount_table_offset'),
    refcountTableClusters: dv.getUint32(56, false),
    nbSnapshots: dv.getUint32(60, false),
    snapshotsOffset: u64(dv, 64, 'snapshots_offset'),
    incompatibleFeatures,
    compatibleFeatures,
    autoclearFeatures,
    refcountOrder,
    headerLength,
    compressionType,
    clusterSize,
    extendedL2: (incompatibleFeatures & INCOMPAT_EXTL2) !== 0n,
    backingFile: null,
    backingFormat: null,
  };

  const ext = readExtensions(file, h);
  h.backingFormat = ext.backingFormat;

  // Refusals: each names what the image uses and how to get a readable copy.
  if (h.cryptMethod !== 0) {
    const kind = h.cryptMethod === 1 ? 'AES' : h.cryptMethod === 2 ? 'LUKS' : `method ${h.cryptMethod}`;
    throw new UnsupportedError(`${name}: qcow2 image is encrypted (${kind}); encrypted images are not read`, 'decrypt first: `qemu-img convert --object secret,id=s,data=... --image-opts driver=qcow2,file.filename=IMG,encrypt.key-secret=s -O raw OUT`');
  }
  const unknown = incompatibleFeatures & ~INCOMPAT_KNOWN;
  if (unknown !== 0n) {
    const bits = [...Array(64).keys()].filter((i) => (unknown >> BigInt(i)) & 1n);
    const names = bits.map((i) => ext.featureNames.get(i) ?? `bit ${i}`);
    throw new UnsupportedError(`${name}: qcow2 image uses unknown incompatible features: ${names.join(', ')} (incompatible_features ${hex(incompatibleFeatures, 16)})`, 'convert with a newer `qemu-img convert -O raw`');
  }
  if (incompatibleFeatures & INCOMPAT_DATA_FILE) {
    throw new UnsupportedError(`${name}: qcow2 image keeps its data in an external data file${ext.dataFile ? ` ("${ext.dataFile}")` : ''}; not supported`, 'convert with `qemu-img convert -O raw` (or -O qcow2 without data_file)');
  }
  const hasCompressionType = (incompatibleFeatures & INCOMPAT_COMPRESSION) !== 0n;
  if (!hasCompressionType && compressionType !== 0) {
    throw new ParseError('qcow2 header', 104, `compression_type ${compressionType} is set but incompatible feature bit 3 (compression type) is not`);
  }
  if (hasCompressionType && compressionType === 0) {
    throw new ParseError('qcow2 header', 72, 'incompatible feature bit 3 (compression type) is set but compression_type is zlib (0)');
  }
  if (compressionType !== 0 && compressionType !== 1) {
    throw new UnsupportedError(`${name}: qcow2 image uses compression type ${compressionType}; only zlib (0) and zstd (1) are defined`, 'convert with `qemu-img convert -O raw`');
  }
  if (h.extendedL2 && clusterBits < 14) throw new ParseError('qcow2 header', 20, `extended L2 entries need cluster_bits >= 14, got ${clusterBits}`);

  checkL1(file, h);
  h.backingFile = readBackingName(file, h);
  return h;
}

interface Extensions {
  backingFormat: string | null;
  dataFile: string | null;
  featureNames: Map<number, string>;
}

/** Header extensions, between the header and the end of the first cluster (qcow2.txt "Header extensions"). */
function readExtensions(file: ByteSource, h: Qcow2Header): Extensions {
  const out: Extensions = { backingFormat: null, dataFile: null, featureNames: new Map() };
  const limit = Math.min(h.clusterSize, file.size);
  const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8').replace(/\0+$/, '');
  // Each extension takes at least 8 bytes, so this ends within clusterSize/8 steps.
  for (let off = h.headerLength; off + 8 <= limit;) {
    const eh = file.read(off, 8);
    const dv = new DataView(eh.buffer, eh.byteOffset, 8);
    const type = dv.getUint32(0, false);
    const len = dv.getUint32(4, false);
    if (type === EXT_END) break;
    if (off + 8 + len > limit) throw new ParseError('qcow2 header extension', off, `extension ${hex(type)} of ${len} bytes runs past the first cluster`);
    const data = file.read(off + 8, len);
    if (type === EXT_BACKING_FORMAT) out.backingFormat = text(data);
    else if (type === EXT_DATA_FILE) out.dataFile = text(data);
    else if (type === EXT_FEATURE_NAMES) {
      // 48-byte entries: type (0 = incompatible), bit number, 46-byte name.
      for (let i = 0; i + 48 <= len; i += 48) if (data[i] === 0) out.featureNames.set(data[i + 1]!, text(data.subarray(i + 2, i + 48)));
    }
    off += 8 + Math.ceil(len / 8) * 8;
  }
  return out;
}

/** The L1 table must exist in the file and cover the virtual size (QEMU refuses otherwise too). */
function checkL1(file: ByteSource, h: Qcow2Header): void {
  const l2Entries = h.clusterSize / (h.extendedL2 ? 16 : 8);
  const needed = Math.ceil(h.size / (h.clusterSize * l2Entries));
  if (h.l1Size * 8 > MAX_L1_BYTES) throw new ParseError('qcow2 header', 36, `l1_size ${h.l1Size} exceeds the ${MAX_L1_BYTES}-byte L1 table limit`);
  if (h.l1Size < needed) throw new ParseError('qcow2 header', 36, `l1_size ${h.l1Size} is too small for a ${h.size}-byte disk (needs ${needed})`);
  if (h.l1Size === 0) return;
  if (h.l1TableOffset % h.clusterSize !== 0) throw new ParseError('qcow2 L1 table', h.l1TableOffset, 'l1_table_offset is not cluster-aligned');
  if (h.l1TableOffset + h.l1Size * 8 > file.size) {
    throw new ParseError('qcow2 L1 table', h.l1TableOffset, `${h.l1Size} entries run past the end of ${file.name} (${file.size} bytes)`);
  }
}

/** backing_file_offset/size: the name, not NUL-terminated, at most 1023 bytes, inside the first cluster. */
function readBackingName(file: ByteSource, h: Qcow2Header): string | null {
  if (h.backingFileOffset === 0) return null;
  if (h.backingFileSize === 0 || h.backingFileSize > MAX_BACKING_NAME) throw new ParseError('qcow2 header', 16, `backing_file_size ${h.backingFileSize} is outside 1..${MAX_BACKING_NAME}`);
  if (h.backingFileOffset + h.backingFileSize > Math.min(h.clusterSize, file.size)) {
    throw new ParseError('qcow2 backing file name', h.backingFileOffset, `${h.backingFileSize} bytes run past the first cluster or the file`);
  }
  return Buffer.from(file.read(h.backingFileOffset, h.backingFileSize)).toString('utf8');
}

/** Container facts for the image.disk probe. */
export function qcow2Container(h: Qcow2Header): { [key: string]: string | number | boolean | null } {
  return {
    version: h.version,
    clusterBits: h.clusterBits,
    clusterSize: h.clusterSize,
    virtualSize: h.size,
    backingFile: h.backingFile,
    backingFormat: h.backingFormat,
    compressionType: COMPRESSION_TYPES[h.compressionType] ?? `type ${h.compressionType}`,
    encrypted: h.cryptMethod !== 0,
    l1Size: h.l1Size,
    l1TableOffset: h.l1TableOffset,
    refcountTableOffset: h.refcountTableOffset,
    refcountOrder: h.refcountOrder,
    nbSnapshots: h.nbSnapshots,
    headerLength: h.headerLength,
    dirty: (h.incompatibleFeatures & INCOMPAT_DIRTY) !== 0n,
    corrupt: (h.incompatibleFeatures & INCOMPAT_CORRUPT) !== 0n,
    extendedL2: h.extendedL2,
    lazyRefcounts: (h.compatibleFeatures & COMPAT_LAZY_REFCOUNTS) !== 0n,
    incompatibleFeatures: hex(h.incompatibleFeatures, 16),
    compatibleFeatures: hex(h.compatibleFeatures, 16),
    autoclearFeatures: hex(h.autoclearFeatures, 16),
  };
}


const L1_CHUNK_ENTRIES = 512;
const L2_CACHE_BYTES = 8 * 1024 * 1024;
/**
 * Decompressed clusters kept. Only clusters read in part are kept: reads
 * of metadata (a FAT, directories, inode tables, a loader's headers) come
 * back to the same cluster, while a file read whole streams through its
 * clusters once and would push all of those out.
 */
const CLUSTER_CACHE_BYTES = 4 * 1024 * 1024;

/** The virtual disk of a qcow2 image. `backing` supplies unallocated clusters (zeros past its end, or without one). */
export class Qcow2Disk implements ByteSource {
  readonly size: number;
  readonly name: string;
  readonly #cs: number;
  readonly #l2Entries: number;
  readonly #l1Chunks = new Lru<number, DataView>(64);
  readonly #l2Tables: Lru<number, DataView>;
  readonly #clusters: Lru<number, Uint8Array>;
  readonly #inflater = new RawInflater();
  /** Where a compressed cluster's bytes are read before they are decoded: one buffer reused, not a fresh one per cluster. */
  #input = new Uint8Array(0);
  /** Compressed descriptor split (qcow2.txt "Compressed Clusters Descriptor": x = 62 - (cluster_bits - 8)). */
  readonly #csizeShift: bigint;
  readonly #csizeMask: bigint;
  readonly #coffsetMask: bigint;

  constructor(readonly file: ByteSource, readonly header: Qcow2Header, readonly backing: ByteSource | null = null) {
    this.size = header.size;
    this.name = file.name;
    this.#cs = header.clusterSize;
    this.#l2Entries = this.#cs / (header.extendedL2 ? 16 : 8);
    this.#l2Tables = new Lru(Math.max(2, Math.floor(L2_CACHE_BYTES / this.#cs)));
    this.#clusters = new Lru(Math.max(4, Math.floor(CLUSTER_CACHE_BYTES / this.#cs)));
    const x = 62 - (header.clusterBits - 8);
    this.#csizeShift = BigInt(x);
    this.#csizeMask = (1n << BigInt(header.clusterBits - 8)) - 1n;
    this.#coffsetMask = (1n << BigInt(x)) - 1n;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    this.#fill(offset, out);
    return out;
  }

  readInto(offset: number, out: Uint8Array): void {
    checkRange(this, offset, out.length);
    this.#fill(offset, out);
  }

  /** Writes the guest bytes at `offset` into `out`, every byte of it (zeros for unallocated and zero clusters). */
  #fill(offset: number, out: Uint8Array): void {
    const length = out.length;
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const inCluster = pos % this.#cs;
      const n = Math.min(this.#cs - inCluster, length - done);
      this.#readInCluster(pos, out.subarray(done, done + n));
      done += n;
    }
  }

  /** Fills `out` with guest bytes [pos, pos+out.length), all in one guest cluster. */
  #readInCluster(pos: number, out: Uint8Array): void {
    const cluster = Math.floor(pos / this.#cs);
    const inCluster = pos - cluster * this.#cs;
    const l2 = this.#l2Table(Math.floor(cluster / this.#l2Entries));
    if (!l2) return this.#readUnallocated(pos, out);
    const index = cluster % this.#l2Entries;
    const entrySize = this.header.extendedL2 ? 16 : 8;
    const entry = l2.table.getBigUint64(index * entrySize, false);
    const where = (): number => l2.offset + index * entrySize;

    if (entry & L2_COMPRESSED) {
      // A whole cluster is decoded where it is wanted (and not kept); part of one is decoded apart and kept.
      if (out.length === this.#cs) return this.#decompressInto(entry, where(), out);
      const data = this.#decompress(entry, where(), true);
      out.set(data.subarray(inCluster, inCluster + out.length));
      return;
    }
    const host = this.#hostOffset(entry, where());
    if (!this.header.extendedL2) {
      if (entry & L2_ZERO) {
        // Zero clusters exist only from version 3 on (QEMU treats one in v2 as corruption).
        if (this.header.version < 3) throw new ParseError('qcow2 L2 entry', where(), `zero cluster flag in a version 2 image (${this.name})`);
        out.fill(0);
        return;
      }
      if (host === 0) return this.#readUnallocated(pos, out);
      return this.#readHost(host + inCluster, out, pos);
    }
    // Extended L2 entry: bits 0-31 allocated, bits 32-63 reads-as-zero, one per subcluster (qcow2.txt "Extended L2 Entries").
    const bitmap = l2.table.getBigUint64(index * 16 + 8, false);
    const alloc = bitmap & 0xffffffffn;
    const zero = bitmap >> 32n;
    if (alloc & zero) throw new ParseError('qcow2 L2 entry', where() + 8, `subcluster both allocated and zero (bitmap ${hex(bitmap, 16)})`);
    if (host === 0 && alloc) throw new ParseError('qcow2 L2 entry', where() + 8, `allocated subclusters in an unallocated cluster (bitmap ${hex(bitmap, 16)})`);
    const sc = this.#cs / 32;
    const state = (s: number): 'zero' | 'alloc' | 'unallocated' =>
      (zero >> BigInt(s)) & 1n ? 'zero' : (alloc >> BigInt(s)) & 1n ? 'alloc' : 'unallocated';
    for (let done = 0; done < out.length;) {
      const at = inCluster + done;
      let s = Math.floor(at / sc);
      const kind = state(s);
      // One read for a run of subclusters in the same state.
      while (s + 1 < 32 && (s + 1) * sc < inCluster + out.length && state(s + 1) === kind) s++;
      const n = Math.min((s + 1) * sc - at, out.length - done);
      const part = out.subarray(done, done + n);
      if (kind === 'alloc') this.#readHost(host + at, part, pos + done);
      else if (kind === 'unallocated') this.#readUnallocated(pos + done, part);
      else part.fill(0);
      done += n;
    }
  }

  /** Standard cluster descriptor bits 9-55: host offset, cluster-aligned (qcow2.txt "Standard Cluster Descriptor"). */
  #hostOffset(entry: bigint, at: number): number {
    const host = Number(entry & OFFSET_MASK);
    if (host % this.#cs !== 0) throw new ParseError('qcow2 L2 entry', at, `data cluster offset ${hex(host)} is not cluster-aligned`);
    return host;
  }

  #readHost(hostPos: number, out: Uint8Array, guestPos: number): void {
    if (hostPos + out.length > this.file.size) {
      throw new ParseError('qcow2 data cluster', hostPos, `guest offset ${guestPos} maps past the end of ${this.name} (${this.file.size} bytes): truncated image?`);
    }
    readInto(this.file, hostPos, out);
  }

  /** Unallocated: the backing file's bytes, zeros beyond it or without one. */
  #readUnallocated(pos: number, out: Uint8Array): void {
    const n = this.backing && pos < this.backing.size ? Math.min(out.length, this.backing.size - pos) : 0;
    if (n > 0) readInto(this.backing!, pos, out.subarray(0, n));
    out.fill(0, n);
  }

  /** The L2 table an L1 entry points to, or null when unallocated (qcow2.txt "L1 table entry"). */
  #l2Table(l1Index: number): { offset: number; table: DataView } | null {
    if (l1Index >= this.header.l1Size) return null;
    const chunk = Math.floor(l1Index / L1_CHUNK_ENTRIES);
    let l1 = this.#l1Chunks.get(chunk);
    if (!l1) {
      const first = chunk * L1_CHUNK_ENTRIES;
      const count = Math.min(L1_CHUNK_ENTRIES, this.header.l1Size - first);
      const b = this.file.read(this.header.l1TableOffset + first * 8, count * 8);
      l1 = new DataView(b.buffer, b.byteOffset, b.byteLength);
      this.#l1Chunks.set(chunk, l1);
    }
    const entryAt = this.header.l1TableOffset + l1Index * 8;
    const offset = Number(l1.getBigUint64((l1Index % L1_CHUNK_ENTRIES) * 8, false) & OFFSET_MASK);
    if (offset === 0) return null;
    if (offset % this.#cs !== 0) throw new ParseError('qcow2 L1 table', entryAt, `L2 table offset ${hex(offset)} is not cluster-aligned`);
    if (offset + this.#cs > this.file.size) {
      throw new ParseError('qcow2 L2 table', offset, `L2 table (from L1 entry ${l1Index}) lies past the end of ${this.name} (${this.file.size} bytes): truncated image?`);
    }
    let table = this.#l2Tables.get(offset);
    if (!table) {
      const b = this.file.read(offset, this.#cs);
      table = new DataView(b.buffer, b.byteOffset, b.byteLength);
      this.#l2Tables.set(offset, table);
    }
    return { offset, table };
  }

  /** A compressed cluster: raw deflate (compression_type zlib) or one zstd frame (zstd), exactly one cluster once decoded; `keep`: cache it. */
  #decompress(entry: bigint, at: number, keep: boolean): Uint8Array {
    const coffset = Number(entry & this.#coffsetMask);
    const cached = this.#clusters.get(coffset);
    if (cached) return cached;
    const data = new Uint8Array(this.#cs);
    this.#decompressInto(entry, at, data);
    if (keep) this.#clusters.set(coffset, data);
    return data;
  }

  /** Decodes a compressed cluster into `out` (one cluster's length), from the cache when it is there. */
  #decompressInto(entry: bigint, at: number, out: Uint8Array): void {
    const coffset = Number(entry & this.#coffsetMask);
    const cached = this.#clusters.get(coffset);
    if (cached) {
      out.set(cached);
      return;
    }
    const sectors = Number((entry >> this.#csizeShift) & this.#csizeMask) + 1;
    const csize = sectors * COMPRESSED_SECTOR - (coffset % COMPRESSED_SECTOR);
    if (coffset >= this.file.size) {
      throw new ParseError('qcow2 compressed cluster', coffset, `(L2 entry at ${at}) lies past the end of ${this.name} (${this.file.size} bytes): truncated image?`);
    }
    // The sector count rounds up, so the last compressed cluster may claim bytes past the end of the file.
    const n = Math.min(csize, this.file.size - coffset);
    if (this.#input.length < n) this.#input = new Uint8Array(Math.max(n, 2 * this.#cs + COMPRESSED_SECTOR));
    const input = this.#input.subarray(0, n);
    readInto(this.file, coffset, input);
    let length: number;
    if (this.header.compressionType === 1) {
      try {
        const data = zstdFrame(input, this.#cs, 'qcow2 compressed cluster');
        out.set(data.subarray(0, this.#cs));
        length = data.length;
      } catch (e) {
        throw new ParseError('qcow2 compressed cluster', coffset, `does not decode to one ${this.#cs}-byte cluster: ${(e as Error).message}`);
      }
    } else {
      try {
        // Straight into `out`, by one engine for the whole image (bytes/raw-inflate.ts).
        length = this.#inflater.inflateInto(input, out);
      } catch (e) {
        throw new ParseError('qcow2 compressed cluster', coffset, `does not inflate to one ${this.#cs}-byte cluster: ${(e as Error).message}`);
      }
    }
    if (length !== this.#cs) throw new ParseError('qcow2 compressed cluster', coffset, `decodes to ${length} bytes, expected ${this.#cs}`);
  }
}
