/**
 * modules.dep looked up by name: each module is found by a search of the
 * text and only its lines are read, which must give exactly what reading
 * every line gives (`all()`), on Debian's real modules.dep (written by the
 * real depmod) and on lines written to be awkward. modprobe as the oracle
 * for what those lookups mean is in kernels.test.ts.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModulesDep, moduleName } from '../../../probes/rootfs/modules.js';
import { debianKernel, fastFixturesUnavailable } from '../../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable();

/** Every name `all()` has, plus each with a character changed or cut: found exactly as `all()` says, or not at all. Returns how many names were checked. */
function agreeWithFullRead(t: Test, text: string, what: string): number {
  const all = new ModulesDep(text).all();
  const dep = new ModulesDep(text);
  const names = [...all.keys()].flatMap((n) => [n, n.slice(1), n.slice(0, -1), `${n}x`, `x${n}`]);
  const differ = names.filter((n) => JSON.stringify(dep.get(n)) !== JSON.stringify(all.get(n)));
  t.same(differ, [], `${what}: ${names.length} names (${all.size} present, the rest altered) found as reading every line finds them`);
  return all.size;
}

t.test("Debian's modules.dep: every module found by search is the one reading every line finds", { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const text = readFileSync(join(k.root, 'lib', 'modules', k.version, 'modules.dep'), 'utf8');
  const lines = text.split('\n').filter(Boolean).length;
  const checked = agreeWithFullRead(t, text, 'debian');
  t.equal(checked, lines, `all ${lines} lines are modules, each with its own name`);
  const dep = new ModulesDep(text);
  // Files written with '-' are found by their '_' name, as kmod folds them.
  t.match(dep.get('xen_blkfront'), { path: /\/xen-blkfront\.ko(\.xz|\.zst|\.gz)?$/ });
  t.match(dep.get('virtio_blk'), { path: /\/virtio_blk\.ko/, deps: [] });
  t.equal(dep.get('blk'), undefined, 'a name that ends another is not that one');
});

t.test('awkward lines: the search judges each as reading every line does', async (t) => {
  const text = [
    'kernel/a/virtio-blk.ko: kernel/b/virtio_ring.ko kernel/c/virtio.ko',
    'kernel/a/virtio_blk.ko.zst: kernel/c/virtio.ko', // a later line for the same name wins
    '  kernel/d/spaced.ko.xz  :  kernel/e/dep-one.ko.gz\tkernel/f/dep_two.ko  ',
    'kernel/g/crlf.ko: kernel/h/x.ko\r',
    'kernel/i/not-a-module.txt: kernel/j/y.ko',
    'kernel/k/only-in-deps-holder.ko: kernel/l/onlydep.ko',
    'no colon kernel/m/nocolon.ko',
    ':kernel/n/colonfirst.ko',
    'kernel/o/two.ko: a: b',
    'kernel/p/has space.ko: kernel/q/z.ko',
    'kernel/r/a b/inner.ko: ',
    'kernel/s/trailing.ko x: kernel/t/w.ko',
    'kernel/u/dotted.name.ko:',
    'kernel/v/ONE_Upper.ko:',
    '',
  ].join('\n');
  agreeWithFullRead(t, text, 'awkward');
  const dep = new ModulesDep(text);
  t.same(dep.get('virtio_blk'), { path: 'kernel/a/virtio_blk.ko.zst', deps: ['virtio'] }, 'the later line wins');
  t.same(dep.get('spaced'), { path: 'kernel/d/spaced.ko.xz', deps: ['dep_one', 'dep_two'] }, 'spaces trimmed, suffixes dropped, names folded');
  t.same(dep.get('crlf'), { path: 'kernel/g/crlf.ko', deps: ['x'] }, 'a CR ends the line as whitespace');
  t.equal(dep.get('onlydep'), undefined, 'a name only among the dependencies has no line');
  t.equal(dep.get('nocolon'), undefined);
  t.equal(dep.get('colonfirst'), undefined);
  t.same(dep.get('two'), { path: 'kernel/o/two.ko', deps: ['a:', 'b'] }, 'the first colon ends the path');
  t.equal(dep.get('trailing'), undefined, 'the path must end in the suffix');
  t.same(dep.get('dotted.name'), { path: 'kernel/u/dotted.name.ko', deps: [] }, 'a name that is not plain is read from every line');
  t.same(dep.get('ONE_Upper'), { path: 'kernel/v/ONE_Upper.ko', deps: [] });
  t.equal(moduleName('kernel/a/virtio-blk.ko.zst'), 'virtio_blk');
});
