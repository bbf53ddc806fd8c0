/**
 * The xfs reader against real images (mkfs.xfs, populated through a loop
 * mount or a protofile) and their own tools: `xfs_db -r` for names, inode
 * numbers and fork formats, a read-only `norecovery` kernel mount (or the
 * protofile's source tree for v4, which this kernel cannot mount) for every
 * file's content, stat and symlink target. Images stay byte-identical.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { copyFileSparse } from '../../../bytes/sparse-copy.js';
import { join } from 'node:path';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { walk } from '../../../probes/fs/filesystem.js';
import { openXfs, type XfsFilesystem } from '../../../probes/fs/xfs.js';
import { inodeOffset } from '../../../probes/fs/xfs-inode.js';
import { sha256File } from '../../fixtures/disk-builder.js';
import type { Tree } from '../../fixtures/ext4-builder.js';
import {
  buildXfs, mkfsSupports, patchBytes, withMount, XFS_FIXTURE_UUID, xfsDb, xfsDbInode, xfsDbLs, xfsLogprint, xfsFixturesUnavailable, type XfsFixture,
} from '../../fixtures/xfs-builder.js';

const unavailable = xfsFixturesUnavailable();
if (unavailable) {
  t.plan(0, unavailable);
  process.exit(0);
}

/** Long enough (over 600 bytes) to be stored in a remote symlink block, short of XFS_SYMLINK_MAXLEN. */
const REMOTE_LINK = '/a/./b/./c/./d/./e/' + './'.repeat(300) + 'deep.txt';

function tree(blockSize: number): Tree {
  return {
    'etc/os-release': { file: 'ID=almalinux\nVERSION_ID="9.4"\n' },
    'sf/a.txt': { file: 'a\n' },
    'sf/b.bin': { random: 5000, seed: 1 },
    'sf/sub': { dir: true },
    block: { many: 40, prefix: 'entry-' },
    leaf: { many: 400, prefix: 'leaf-entry-' },
    node: { many: 3000, prefix: 'node-entry-with-a-longer-name-' },
    'files/empty': { file: '' },
    'files/small': { file: 'hello\n' },
    'files/random': { random: 300_000, seed: 7 },
    'files/sparse': { sparse: 20 << 20, chunks: [[0, 100, 1], [10 << 20, 5000, 2], [(20 << 20) - 10, 10, 3]] },
    'files/striped': { striped: 120, blockSize, seed: 9 },
    'a/b/c/d/e/deep.txt': { file: 'deep\n' },
    'links/inline': { symlink: '../files/small' },
    'links/abs': { symlink: '/files/random' },
    'links/remote': { symlink: REMOTE_LINK },
    'links/dotdot': { symlink: '../../../../../files/small' },
    'links/loop1': { symlink: 'loop2' },
    'links/loop2': { symlink: 'loop1' },
    'links/dangling': { symlink: 'nowhere' },
    'dev/fifo': { fifo: true },
  };
}

const nrext64 = mkfsSupports('i', 'nrext64');
const fixtures: { label: string; fx: XfsFixture; version: 4 | 5; incompat: string[] }[] = [
  {
    label: 'v5 (mkfs.xfs defaults)',
    fx: buildXfs({ name: 'v5-default', sizeMiB: 320, tree: tree(4096), fragmentedDir: { path: 'btree', entries: 4000, nameLength: 200 } }),
    version: 5,
    incompat: ['ftype'],
  },
  {
    label: 'v5, 1 KiB blocks, 8 KiB directory blocks, bigtime, nrext64',
    fx: buildXfs({
      name: 'v5-1k-big', sizeMiB: 320, tree: tree(1024), fragmentedDir: { path: 'btree', entries: 2000, nameLength: 120 },
      mkfs: ['-b', 'size=1024', '-n', 'size=8192', '-m', 'bigtime=1', ...(nrext64 ? ['-i', 'nrext64=1'] : [])],
    }),
    version: 5,
    incompat: ['ftype', 'bigtime', ...(nrext64 ? ['nrext64'] : [])],
  },
  {
    label: 'v4 (-m crc=0, no ftype), via protofile',
    fx: buildXfs({ name: 'v4', sizeMiB: 320, tree: (({ 'dev/fifo': _f, ...rest }) => rest)(tree(4096)), mkfs: ['-m', 'crc=0'], protofile: true }),
    version: 4,
    incompat: [],
  },
];

interface Seen {
  type: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  nlink?: number;
  mtime?: number;
  sha?: string;
  link?: string;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** What the oracle tree (a mount or the source) holds, by path. */
function oracleTree(root: string, withStat: boolean): Map<string, Seen> {
  const out = new Map<string, Seen>();
  const visit = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const r = `${rel}/${name}`;
      const st = lstatSync(p);
      const seen: Seen = { type: st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : 'other' };
      if (withStat) Object.assign(seen, { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, nlink: st.nlink, mtime: Math.floor(st.mtimeMs / 1000) });
      if (seen.type === 'file') Object.assign(seen, { size: st.size, sha: sha(readFileSync(p)) });
      if (seen.type === 'symlink') seen.link = readlinkSync(p);
      out.set(r, seen);
      if (seen.type === 'directory') visit(p, r);
    }
  };
  visit(root, '');
  return out;
}

function ourTree(fs: XfsFilesystem, withStat: boolean): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const e of walk(fs, '/')) {
    const st = fs.lstat(e.path);
    const seen: Seen = { type: st.type };
    if (withStat) Object.assign(seen, { mode: st.mode, uid: st.uid, gid: st.gid, nlink: st.nlink, mtime: st.mtime });
    if (st.type === 'file') Object.assign(seen, { size: st.size, sha: sha(fs.readFile(e.path, { maxBytes: 64 << 20 })) });
    if (st.type === 'symlink') seen.link = fs.readlink(e.path);
    out.set(e.path, seen);
  }
  return out;
}

for (const { label, fx, version, incompat } of fixtures) {
  t.test(label, async (t) => {
    const before = sha256File(fx.image);
    const src = new FileByteSource(fx.image);
    t.teardown(() => src.close());
    const fs = openXfs(src);

    t.test('superblock facts match xfs_db', async (t) => {
      t.equal(fs.type, 'xfs');
      t.equal(fs.info.version, version);
      t.equal(fs.info.uuid, XFS_FIXTURE_UUID.replace(/-/g, ''));
      t.equal(fs.info.label, fx.spec.name.slice(0, 12));
      const dbSb = (field: string): string => /= (.*)/.exec(xfsDb(fx.image, ['sb 0', `print ${field}`]))?.[1] ?? '';
      t.equal(fs.info.blockSize, Number(dbSb('blocksize')));
      t.equal(fs.info.agCount, Number(dbSb('agcount')));
      t.equal(fs.info.blocksCount, Number(dbSb('dblocks')));
      t.equal(fs.info.dirBlockSize, fs.info.blockSize * 2 ** Number(dbSb('dirblklog')));
      for (const f of incompat) t.ok(fs.info.features.incompat.includes(f), `incompat ${f}`);
      const lp = xfsLogprint(fx.image);
      t.same(fs.info.log, { location: 'internal', state: 'clean', headBlock: lp?.head, cycle: fs.info.log.cycle }, 'xfs_logprint: clean, same head');
      t.equal(fs.info.needsRecovery, false);
    });

    t.test('every directory lists what xfs_db lists, with the same inode numbers', async (t) => {
      let dirs = 0;
      for (const e of [{ path: '/', type: 'directory' }, ...walk(fs, '/')]) {
        if (e.type !== 'directory') continue;
        dirs++;
        const db = xfsDbLs(fx.image, e.path).filter((x) => x.name !== '.' && x.name !== '..').map((x) => [x.name, x.ino]).sort();
        const ours = fs.readdir(e.path).map((x) => [x.name, x.ino]).sort();
        if (JSON.stringify(db) !== JSON.stringify(ours)) t.same(ours, db, `${e.path}`);
      }
      t.ok(dirs >= 10, `${dirs} directories compared`);
    });

    t.test('every file, symlink and stat matches the oracle', async (t) => {
      const ours = ourTree(fs, fx.src === null);
      const theirs = fx.src ? oracleTree(fx.src, false) : withMount(fx.image, true, (mnt) => oracleTree(mnt, true));
      t.same([...ours.keys()].sort(), [...theirs.keys()].sort(), 'same paths');
      const bad = [...theirs].filter(([p, s]) => JSON.stringify(ours.get(p)) !== JSON.stringify(s)).map(([p, s]) => ({ path: p, theirs: s, ours: ours.get(p) }));
      t.same(bad.slice(0, 5), [], 'same types, sizes, contents, link targets (and modes, owners, link counts, mtimes)');
      t.ok(ours.size > 3400, `${ours.size} entries compared`);
    });

    t.test('directory and fork formats are the ones xfs_db reports', async (t) => {
      const fmt = (p: string): string => /\((\w+)\)/.exec(xfsDbInode(fx.image, p, ['core.format'])['core.format'] ?? '')?.[1] ?? '';
      const dirFormat = (p: string): string => fs.dirFormat(fs.resolve(p).node);
      t.equal(dirFormat('/sf'), 'shortform');
      t.equal(fmt('/sf'), 'local');
      t.equal(dirFormat('/block'), 'block');
      t.equal(dirFormat('/leaf'), 'leaf');
      t.equal(dirFormat('/node'), 'node');
      t.equal(fs.resolve('/links/inline', false).node.di_format, 1, 'inline symlink: local');
      t.equal(fmt('/links/remote'), 'extents', 'remote symlink: extents');
      t.equal(fs.readlink('/links/remote'), REMOTE_LINK);
      t.equal(new TextDecoder().decode(fs.readFile('/links/remote')), 'deep\n', 'a remote symlink is followed');
      if (fx.spec.fragmentedDir) {
        t.equal(fmt('/btree'), 'btree', 'xfs_db: the big directory is btree-format');
        t.ok(fs.bmbtLevels(fs.resolve('/btree').node)! >= 1, 'btree directory');
        t.equal(dirFormat('/btree'), 'node');
        t.equal(fmt('/btree/filler'), 'btree');
        t.ok(fs.bmbtLevels(fs.resolve('/btree/filler').node)! >= 1, 'bmap btree file');
        const nextents = Number(xfsDbInode(fx.image, '/btree/filler', ['core.nextents'])['core.nextents'] ?? xfsDbInode(fx.image, '/btree/filler', ['core.big_nextents'])['core.big_nextents']);
        t.equal(fs.runs(fs.resolve('/btree/filler').node).length, nextents, 'as many extents as xfs_db counts');
      }
    });

    t.test('path resolution follows the shared rules', async (t) => {
      t.equal(fs.realpath('/links/dotdot'), '/files/small', '.. never climbs above the root');
      t.equal(fs.realpath('/links/abs'), '/files/random', 'absolute targets restart at the root');
      t.throws(() => fs.stat('/links/loop1'), { code: 'ELOOP' });
      t.equal(fs.exists('/links/dangling'), false);
      t.throws(() => fs.readFile('/files/random', { maxBytes: 1000 }), { code: 'EFBIG' });
      t.equal(fs.readFile('/files/random', { maxBytes: 1000, truncate: true }).length, 1000);
      t.same(fs.read('/files/sparse', (10 << 20) - 2, 6).slice(0, 2), new Uint8Array(2), 'holes read as zeros');
    });

    t.test('metadata CRCs', async (t) => {
      if (version === 5) {
        t.ok(fs.info.crc.checked > 100, `${fs.info.crc.checked} CRCs checked`);
        t.equal(fs.info.crc.failed, 0, 'none failed');
      } else {
        t.equal(fs.info.crc.checked, 0, 'v4 has no CRCs');
      }
    });

    t.equal(sha256File(fx.image), before, 'the image is unchanged');
  });
}


t.test('a dirty log is detected as xfs_logprint sees it and replayed; norecovery reads the on-disk state', async (t) => {
  const fx = buildXfs({ name: 'dirty-log', sizeMiB: 320, tree: { 'etc/hostname': { file: 'dirty\n' } }, dirtyLog: true });
  const before = sha256File(fx.image);
  const src = new FileByteSource(fx.image);
  t.teardown(() => src.close());
  const fs = openXfs(src);
  const lp = xfsLogprint(fx.image);
  t.equal(lp?.state, 'dirty', 'xfs_logprint: dirty');
  t.match(fs.info.log, { location: 'internal', state: 'dirty', headBlock: lp?.head });
  t.equal(fs.info.needsRecovery, true);
  t.match(fs.info.journal, { replayed: true, tail: lp?.tail, head: lp?.head });
  // Its data never reached the disk (delayed allocation, then shutdown): the log holds the create, not the size.
  t.equal(fs.stat('/after-shutdown-not-on-disk').type, 'file', 'a file created only in the log is there after replay');
  t.equal(fs.stat('/logged-dir').type, 'directory');
  const db = xfsDbLs(fx.image, '/').map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
  const raw = openXfs(src, { norecovery: true });
  t.same(raw.readdir('/').map((e) => e.name).sort(), db, 'norecovery: the unreplayed state, as xfs_db reads it');
  t.notOk(db.includes('logged-dir'), 'the on-disk state lacks what only the log holds');
  t.equal(sha256File(fx.image), before, 'the image is unchanged');
});

t.test('a metadata CRC mismatch is counted and named, and the intact structure still reads', async (t) => {
  const fx = fixtures[0]!.fx;
  const copy = join(t.testdir(), 'crc.img');
  copyFileSparse(fx.image, copy);
  const ino = Number(xfsDbLs(fx.image, '/files').find((e) => e.name === 'small')!.ino);
  const sb = openXfs(new FileByteSource(fx.image)).sb;
  // di_gen (+92) is not read by the reader: only the CRC notices the change.
  patchBytes(copy, inodeOffset(sb, ino) + 92, [0xde, 0xad]);
  const src = new FileByteSource(copy);
  t.teardown(() => src.close());
  const fs = openXfs(src);
  t.equal(new TextDecoder().decode(fs.readFile('/files/small')), 'hello\n');
  t.equal(fs.info.crc.failed, 1);
  t.match(fs.info.crc.failures, [`inode ${ino} at ${inodeOffset(sb, ino)}`]);
});

t.test('damage is a ParseError, unknown features an UnsupportedError', async (t) => {
  const fx = fixtures[0]!.fx;
  const dir = t.testdir();
  const patched = (name: string, offset: number, bytes: number[]): FileByteSource => {
    const p = join(dir, `${name}.img`);
    copyFileSparse(fx.image, p);
    patchBytes(p, offset, bytes);
    const src = new FileByteSource(p);
    t.teardown(() => src.close());
    return src;
  };
  t.throws(() => openXfs(patched('magic', 0, [0x58, 0x46, 0x53, 0x43])), { name: 'ParseError', message: /bad magic/ });
  t.throws(() => openXfs(patched('incompat', 216, [0x80, 0, 0, 0])), { name: 'UnsupportedError', message: /unknown\(0x80000000\)/ });
  t.throws(() => openXfs(patched('blocksize', 4, [0, 0, 0x30, 0])), { name: 'ParseError', message: /sb_blocksize/ });
  const sb = openXfs(new FileByteSource(fx.image)).sb;
  const rootOff = inodeOffset(sb, sb.sb_rootino);
  t.throws(() => openXfs(patched('root-magic', rootOff, [0, 0])), { name: 'ParseError', message: /bad inode magic/ });
});
