/** The generic path resolver and tree walk, on a small in-memory filesystem. */
import t from 'tap';
import { ParseError } from '../../../bytes/errors.js';
import {
  type DirEntry,
  type FileStat,
  fileLimit,
  FsError,
  MAX_SYMLINK_HOPS,
  type PathWalker,
  type ReadOnlyFilesystem,
  resolvePath,
  walk,
} from '../../../probes/fs/filesystem.js';

interface Node {
  ino: number;
  type: 'file' | 'directory' | 'symlink';
  children?: Map<string, Node>;
  target?: string;
  data?: string;
}

let nextIno = 1;
const dir = (entries: { [name: string]: Node } = {}): Node => ({ ino: nextIno++, type: 'directory', children: new Map(Object.entries(entries)) });
const file = (data = ''): Node => ({ ino: nextIno++, type: 'file', data });
const link = (target: string): Node => ({ ino: nextIno++, type: 'symlink', target });

class MemFs implements ReadOnlyFilesystem {
  readonly type = 'mem';
  readonly walker: PathWalker<Node>;
  constructor(readonly root: Node) {
    this.walker = {
      root: () => root,
      typeOf: (n) => n.type,
      lookup: (d, name) => d.children?.get(name),
      readlink: (n) => n.target ?? '',
    };
  }
  #stat(n: Node): FileStat {
    return { type: n.type, mode: 0o644, size: n.data?.length ?? 0, uid: 0, gid: 0, nlink: 1, mtime: 0, ino: n.ino };
  }
  stat(p: string): FileStat {
    return this.#stat(resolvePath(this.walker, p, true).node);
  }
  lstat(p: string): FileStat {
    return this.#stat(resolvePath(this.walker, p, false).node);
  }
  readdir(p: string): DirEntry[] {
    const n = resolvePath(this.walker, p, true).node;
    if (!n.children) throw new FsError('ENOTDIR', p, 'not a directory');
    return [...n.children].map(([name, c]) => ({ name, type: c.type, ino: c.ino }));
  }
  readFile(p: string): Uint8Array {
    return new TextEncoder().encode(resolvePath(this.walker, p, true).node.data ?? '');
  }
  read(p: string, offset: number, length: number): Uint8Array {
    return this.readFile(p).subarray(offset, offset + length);
  }
  readlink(p: string): string {
    return resolvePath(this.walker, p, false).node.target ?? '';
  }
  realpath(p: string): string {
    return resolvePath(this.walker, p, true).path;
  }
  exists(p: string): boolean {
    try {
      resolvePath(this.walker, p, true);
      return true;
    } catch (e) {
      if (e instanceof FsError) return false;
      throw e;
    }
  }
}

const chain: { [name: string]: Node } = {};
for (let i = 0; i < 45; i++) chain[`l${i}`] = link(`l${i + 1}`);
chain.l45 = file('end');

const fs = new MemFs(
  dir({
    etc: dir({ passwd: file('root:x:0:0'), alt: link('../usr/share/alt') }),
    usr: dir({ share: dir({ alt: dir({ x: file('x') }) }), lib: link('/lib64') }),
    lib64: dir({ 'ld.so': file('ld') }),
    rel: link('etc/passwd'),
    chain: dir(chain),
    up: dir({ above: link('../../../../../../etc/passwd') }),
  }),
);

t.test('normalisation and ..', async (t) => {
  t.equal(fs.realpath('/'), '/');
  t.equal(fs.realpath(''), '/');
  t.equal(fs.realpath('.'), '/');
  t.equal(fs.realpath('/..'), '/');
  t.equal(fs.realpath('/../../..'), '/');
  t.equal(fs.realpath('//etc///./passwd'), '/etc/passwd');
  t.equal(fs.realpath('etc/../usr/./share'), '/usr/share');
  t.equal(fs.realpath('/up/above'), '/etc/passwd', '.. in a symlink target stops at the root');
});

t.test('symlinks', async (t) => {
  t.equal(fs.realpath('/rel'), '/etc/passwd', 'relative to the link directory');
  t.equal(fs.realpath('/usr/lib/ld.so'), '/lib64/ld.so', 'absolute target restarts at the root');
  t.equal(fs.realpath('/etc/alt/x'), '/usr/share/alt/x');
  t.equal(fs.realpath('/etc/alt/..'), '/usr/share', '.. after a symlinked directory is the target parent');
  t.equal(fs.lstat('/rel').type, 'symlink');
  t.equal(fs.stat('/rel').type, 'file');
  t.equal(fs.lstat('/etc/alt/').type, 'directory', 'a trailing slash follows the final symlink');
  // l5 → l6 → ... → l45 (file): 40 hops is the limit.
  t.equal(fs.realpath(`/chain/l${45 - MAX_SYMLINK_HOPS}`), '/chain/l45', `${MAX_SYMLINK_HOPS} hops resolve`);
  t.throws(() => fs.realpath(`/chain/l${44 - MAX_SYMLINK_HOPS}`), { code: 'ELOOP' }, 'one more is a loop');
});

t.test('errors', async (t) => {
  t.throws(() => fs.stat('/nope'), { code: 'ENOENT', path: '/nope' });
  t.throws(() => fs.stat('/etc/passwd/x'), { code: 'ENOTDIR' });
  t.throws(() => fs.stat('/etc/passwd/'), { code: 'ENOTDIR' });
  t.throws(() => fs.stat('/etc/passwd/..'), { code: 'ENOTDIR' }, '.. after a file');
  t.throws(() => fs.stat('/x'.repeat(3000)), { code: 'ENAMETOOLONG' });
  t.throws(() => fs.stat('/etc\0'), { code: 'EINVAL' });
  t.equal(fs.exists('/etc/passwd'), true);
  t.equal(fs.exists('/etc/nope'), false);
});

t.test('readFile limits', async (t) => {
  t.same(fileLimit(undefined), { maxBytes: 16 * 1024 * 1024, truncate: false });
  t.same(fileLimit({ maxBytes: 10, truncate: true }), { maxBytes: 10, truncate: true });
  t.throws(() => fileLimit({ maxBytes: -1 }), { code: 'EINVAL' });
  t.throws(() => fileLimit({ maxBytes: 2 ** 40 }), { code: 'EINVAL' }, 'above the hard cap');
});

t.test('walk: order, depth and entry caps, cycles', async (t) => {
  const paths = [...walk(fs, '/')].map((e) => e.path);
  t.ok(paths.includes('/usr/share/alt/x'));
  t.notOk(paths.includes('/usr/lib/ld.so'), 'symlinks not followed');
  t.equal(new Set(paths).size, paths.length);
  t.same([...walk(fs, '/etc/alt')].map((e) => e.path), ['/usr/share/alt/x'], 'start path is resolved');
  t.throws(() => [...walk(fs, '/', { maxEntries: 5 })], ParseError);
  t.throws(() => [...walk(fs, '/', { maxDepth: 2 })], /deeper than 2 levels/);

  const loopDir = dir();
  const cyclic = new MemFs(dir({ a: loopDir }));
  loopDir.children!.set('back', loopDir);
  t.throws(() => [...walk(cyclic, '/')], /directory cycle: \/a\/back is the same directory \(inode \d+\) as \/a/);
  t.equal(cyclic.realpath('/a/back/back/back'), '/a/back/back/back', 'resolution through a cycle is bounded by the path');
});
