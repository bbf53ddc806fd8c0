import { ParseError } from '../../bytes/errors.js';
import { FsError, NodeFilesystem, type DirEntry, type FileStat, type PathWalker } from '../fs/filesystem.js';
import type { DirRef, FatDirEntry, FatVolume } from '../image/fat.js';

/**
 * A FAT volume (the ESP) as Linux's vfat driver shows it once mounted at
 * /boot, /boot/efi or /efi: long names (else the 8.3 name with its NT case
 * flags), names looked up case-insensitively, no symlinks, every file and
 * directory readable. Inode numbers are the short entry's byte offset (the
 * root is 1), unique within the volume. FAT has no owners or modes, so
 * they are the mount defaults (root, 0755 / 0644); timestamps are not read.
 */

interface FatFsNode {
  /** null: the root directory. */
  entry: FatDirEntry | null;
}

const ROOT_INO = 1;

export class FatFilesystem extends NodeFilesystem<FatFsNode> {
  readonly type = 'vfat';
  protected readonly walker: PathWalker<FatFsNode>;

  constructor(readonly volume: FatVolume) {
    super();
    this.walker = {
      root: () => ({ entry: null }),
      typeOf: (n) => (n.entry === null || n.entry.isDirectory ? 'directory' : 'file'),
      lookup: (dir, name) => {
        const want = name.toUpperCase();
        const hit = this.#entries(dir).find((e) => e.name.toUpperCase() === want || e.shortName.toUpperCase() === want);
        return hit ? { entry: hit } : undefined;
      },
      readlink: (n) => {
        throw new FsError('EINVAL', n.entry?.name ?? '/', 'FAT has no symbolic links');
      },
    };
  }

  #ref(n: FatFsNode): DirRef {
    return n.entry === null ? 'root' : this.volume.dirRefOf(n.entry);
  }

  #entries(dir: FatFsNode): FatDirEntry[] {
    return this.volume.readDir(this.#ref(dir)).entries.filter((e) => !e.isDotEntry);
  }

  statNode(n: FatFsNode): FileStat {
    const dir = n.entry === null || n.entry.isDirectory;
    return { type: dir ? 'directory' : 'file', mode: dir ? 0o755 : 0o644, size: dir ? 0 : n.entry!.size, uid: 0, gid: 0, nlink: 1, mtime: 0, ino: n.entry === null ? ROOT_INO : n.entry.offset };
  }

  protected dataSize(n: FatFsNode): number {
    return n.entry?.size ?? 0;
  }

  protected listDirectory(n: FatFsNode): DirEntry[] {
    return this.#entries(n).map((e) => ({ name: e.name, type: e.isDirectory ? 'directory' : 'file', ino: e.offset }));
  }

  /** Only the clusters that hold [offset, offset + length) are read; the chain before them is followed in the FAT. */
  readData(n: FatFsNode, offset: number, length: number): Uint8Array {
    const e = n.entry;
    if (!e || e.isDirectory) throw new FsError('EISDIR', e?.name ?? '/', 'is a directory');
    const end = Math.min(e.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const bpc = this.volume.geometry.bytesPerCluster;
    const first = Math.floor(offset / bpc);
    const needed = Math.ceil(end / bpc);
    const out = new Uint8Array(end - offset);
    let i = 0;
    for (const c of this.volume.table.chain(e.firstCluster, needed, `file "${e.name}"`)) {
      if (i >= first) {
        const start = i * bpc;
        const bytes = this.volume.readCluster(c);
        const from = Math.max(offset, start);
        const to = Math.min(end, start + bpc);
        out.set(bytes.subarray(from - start, to - start), from - offset);
      }
      if (++i === needed) break;
    }
    if (i < needed) {
      throw new ParseError('FAT', this.volume.table.entryOffset(e.firstCluster), `file "${e.name}": cluster chain ends after ${i} clusters but DIR_FileSize ${e.size} needs ${Math.ceil(e.size / bpc)}`);
    }
    return out;
  }

  symlinkTarget(n: FatFsNode): string {
    throw new FsError('EINVAL', n.entry?.name ?? '/', 'FAT has no symbolic links');
  }
}
