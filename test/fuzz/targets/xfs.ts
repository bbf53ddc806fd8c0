import { readFileSync } from 'node:fs';
import { isReadError } from '../../../bytes/errors.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { openXfs, type XfsFilesystem } from '../../../probes/fs/xfs.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import type { Tree } from '../../fixtures/ext4-builder.js';
import { buildXfs, type XfsSpec } from '../../fixtures/xfs-builder.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * xfs filesystems made by mkfs.xfs -p (v5 and v4, 1 KiB blocks, 16 MiB):
 * superblock, inodes, extent lists, short-form, block, leaf and node
 * directories, inline and (v4) remote symlinks; the log head finder.
 */

const TREE: Tree = {
  'etc/hostname': { file: 'vm\n' },
  'etc/os-release': { file: 'ID=rocky\nVERSION_ID=9\n' },
  'boot/vmlinuz-5.14.0-arm64': { random: 20_000, seed: 3 },
  'usr/lib/modules/5.14.0/kernel/a.ko': { random: 3000, seed: 4 },
  block: { many: 20, prefix: 'entry-' },
  node: { many: 300, prefix: 'a-long-directory-entry-name-' },
  vmlinuz: { symlink: 'boot/vmlinuz-5.14.0-arm64' },
};
/** mkfs.xfs 6.1 -p writes v5 remote symlinks without their block header (xfs_repair rejects them): remote ones on v4 only. */
const REMOTE_LINK: Tree = { 'remote-link': { symlink: `${'long/'.repeat(80)}target` } };

const SPECS: XfsSpec[] = [
  { name: 'fuzz-v5-1k', sizeMiB: 16, mkfs: ['-b', 'size=1024'], tree: TREE, protofile: true },
  { name: 'fuzz-v4-1k', sizeMiB: 16, mkfs: ['-b', 'size=1024', '-m', 'crc=0'], tree: { ...TREE, ...REMOTE_LINK }, protofile: true },
];

/** struct xfs_dsb fields ("XFS Algorithms & Data Structures", "Superblocks"), big-endian at 0. */
const SUPER: [number, 1 | 2 | 4 | 8, string][] = [
  [4, 4, 'sb_blocksize'], [8, 8, 'sb_dblocks'], [48, 8, 'sb_logstart'], [56, 8, 'sb_rootino'], [84, 4, 'sb_agblocks'],
  [88, 4, 'sb_agcount'], [96, 4, 'sb_logblocks'], [100, 2, 'sb_versionnum'], [102, 2, 'sb_sectsize'], [104, 2, 'sb_inodesize'],
  [106, 2, 'sb_inopblock'], [120, 1, 'sb_blocklog'], [122, 1, 'sb_inodelog'], [123, 1, 'sb_inopblog'], [124, 1, 'sb_agblklog'],
  [192, 1, 'sb_dirblklog'], [200, 4, 'sb_features2'], [216, 4, 'sb_features_incompat'],
];

function xfsSeed(spec: XfsSpec): Seed {
  const whole = readFileSync(buildXfs(spec).image);
  const fs = openXfs(new BufferByteSource(whole));
  const bs = fs.info.blockSize;
  const fields: Field[] = SUPER.map(([at, width, name]) => ({ at, width, endian: 'be' as const, name }));
  const hot: [number, number][] = [[0, 512]];
  let end = 512;
  for (const e of walk(fs, '/')) {
    const inode = fs.inode(e.ino);
    const o = inode.offset;
    hot.push([o, 256]);
    end = Math.max(end, o + fs.info.inodeSize);
    fields.push(
      { at: o + 2, width: 2, endian: 'be', name: `${e.path} di_mode` },
      { at: o + 5, width: 1, endian: 'be', name: `${e.path} di_format`, values: [1n, 2n, 3n, 4n] },
      { at: o + 56, width: 8, endian: 'be', name: `${e.path} di_size` },
      { at: o + 76, width: 4, endian: 'be', name: `${e.path} di_nextents` },
      { at: o + 82, width: 1, endian: 'be', name: `${e.path} di_forkoff` },
    );
    const fork = inode.dataForkOffset;
    // The first extent record (or short-form header): count, i8count, startblock and blockcount bits.
    for (const d of [0, 1, 6, 10, 14]) fields.push({ at: fork + d, width: 2, endian: 'be', name: `${e.path} data fork +${d}` });
    if (inode.di_format === 2 || inode.di_format === 3) {
      for (const run of fs.runs(inode)) {
        end = Math.max(end, (run.pblk + run.len) * bs);
        if (e.type !== 'directory') continue;
        hot.push([run.pblk * bs, Math.min(run.len * bs, 256)]);
        const hdr = fs.info.version === 5 ? 64 : 16;
        // The first entries' inumber high bytes, namelen and tag; a free tag.
        for (const d of [hdr, hdr + 8, hdr + 16, hdr + 24]) fields.push({ at: run.pblk * bs + d, width: 2, endian: 'be', name: `${e.path} dir data +${d}`, values: [0xffffn, 0n, 8n] });
      }
    }
  }
  const log = fs.info.log;
  if (log.location === 'internal') end = Math.max(end, (fs.sb.sb_logstart + fs.sb.sb_logblocks) * bs);
  // Past the last metadata and data in use the image is empty: a shorter seed keeps runs fast (the reader sees a truncated filesystem).
  const bytes = new Uint8Array(whole.subarray(0, Math.min(whole.length, Math.ceil(end / 65536) * 65536)));
  return { name: spec.name, bytes, fields, hot };
}

/** What the rootfs probes do: open, walk, read each file's head, follow symlinks. */
function exercise(fs: XfsFilesystem): number {
  let n = 0;
  for (const e of walk(fs, '/', { maxEntries: 5000, maxDepth: 64 })) {
    n++;
    try {
      if (e.type === 'file') fs.readFile(e.path, { maxBytes: 64 * 1024, truncate: true });
      else if (e.type === 'symlink') fs.readlink(e.path);
    } catch (err) {
      if (!isReadError(err) && !(err instanceof FsError)) throw err;
    }
  }
  return n;
}

export const xfsTarget: FuzzTarget = {
  name: 'xfs',
  runs: 1500,
  seeds: () => SPECS.map(xfsSeed),
  alsoTyped: (e) => e instanceof FsError,
  run: (bytes) => exercise(openXfs(new BufferByteSource(bytes, 'fuzz-xfs.img'))),
};
