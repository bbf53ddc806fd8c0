/**
 * Kernels, module trees and image headers read from synthetic root
 * filesystems (mkfs.ext4 -d) holding the real Debian arm64 kernels'
 * configs, images and module files; kmod's modprobe is the oracle for
 * module dependencies and `sort -V` for version order.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openExt4 } from '../../../probes/fs/ext4.js';
import { FileByteSource } from '../../../bytes/byte-source.js';
import { compareVersions, kernelImageInfo, listKernels } from '../../../probes/rootfs/kernels.js';
import { builtinModinfoNames, lookupModule, moduleName, openModuleTree } from '../../../probes/rootfs/modules.js';
import { run } from '../../fixtures/cache.js';
import { buildSyntheticRoot, debianKernel, fastFixturesUnavailable, FIXTURE_MODULES } from '../../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable();

const nameOf = (p: string): string => p.split('/').pop()!.replace(/\.ko(\.(gz|xz|zst))?$/, '').replace(/-/g, '_');

/** Modules modprobe loads for a module's "softdep NAME pre:/post:" lines (resolved by modprobe itself). */
function softdepModules(root: string, version: string, module: string): string[] {
  const text = readFileSync(join(root, 'lib', 'modules', version, 'modules.softdep'), 'utf8');
  const want = module.replace(/-/g, '_');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^softdep (\S+) (.*)$/.exec(line);
    if (!m || m[1]!.replace(/-/g, '_') !== want) continue;
    for (const dep of m[2]!.split(/\s+/).filter((w) => w && !w.endsWith(':'))) {
      const shown = run('sh', ['-c', 'modprobe -d "$1" -S "$2" --show-depends "$3" 2>/dev/null || true', 'sh', root, version, dep]);
      out.push(...[...shown.matchAll(/^insmod (\S+)/gm)].map((x) => nameOf(x[1]!)));
    }
  }
  return out;
}

function open(image: string) {
  const src = new FileByteSource(image);
  t.teardown(() => src.close());
  return openExt4(src);
}

t.test('module lookups agree with modprobe --show-depends on the real tree', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const root = buildSyntheticRoot({ name: 'modules', kernels: [{ kernel: k }] });
  const fs = open(root.image);
  const dir = fs.realpath(`/lib/modules/${k.version}`);
  t.equal(dir, `/usr/lib/modules/${k.version}`, 'the /lib → usr/lib symlink is followed');
  const tree = openModuleTree(fs, dir);
  t.same(tree.problems, []);
  for (const m of [...FIXTURE_MODULES, 'amba-pl011', 'rtc-efi', 'virtio_pci_modern_dev']) {
    const out = run('sh', ['-c', 'modprobe -d "$1" -S "$2" --show-depends "$3" 2>&1 || true', 'sh', k.root, k.version, m]);
    const look = lookupModule(fs, tree, m);
    if (/^builtin /m.test(out)) {
      t.ok(look.builtin, `${m}: built in, as modprobe says`);
      t.equal(look.file, null, `${m}: no module file`);
      continue;
    }
    const insmods = [...out.matchAll(/^insmod \S+\/lib\/modules\/[^/]+\/(\S+)/gm)].map((x) => x[1]!);
    t.ok(insmods.length > 0, `${m}: modprobe resolves it`);
    t.equal(look.file, `${dir}/${insmods[insmods.length - 1]}`, `${m}: same module file`);
    // modprobe also loads soft dependencies (modules.softdep), which modules.dep does not list: leave those out.
    const soft = new Set(softdepModules(k.root, k.version, m));
    const hard = insmods.slice(0, -1).map(nameOf).filter((n) => !soft.has(n));
    t.same(look.deps.slice().sort(), hard.sort(), `${m}: same dependencies${soft.size ? ` (soft dependencies ${[...soft].join(', ')} left out)` : ''}`);
  }
  const missing = lookupModule(fs, tree, 'no_such_module');
  t.match(missing, { file: null, listed: false, builtin: false });
});

t.test('built-in modules from modules.builtin.modinfo agree with modinfo on the real tree', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const dir = join(k.root, 'lib', 'modules', k.version);
  const names = builtinModinfoNames(readFileSync(join(dir, 'modules.builtin.modinfo'), 'latin1'));
  const listed = readFileSync(join(dir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(moduleName);
  t.ok(listed.length > 50 && listed.every((n) => names.has(n)), `every one of the ${listed.length} modules.builtin names has its modinfo (${names.size} names)`);
  const sample = [...names].sort().filter((_, i) => i % Math.ceil(names.size / 12) === 0);
  for (const m of sample) {
    t.equal(run('modinfo', ['-b', k.root, '-k', k.version, '-F', 'filename', m]).trim(), '(builtin)', `${m}: modinfo calls it built in`);
  }
  t.notOk(names.has('virtio_blk'), 'a loadable module is not built in');
  const root = buildSyntheticRoot({ name: 'modules', kernels: [{ kernel: k }] });
  const tree = openModuleTree(open(root.image), `/usr/lib/modules/${k.version}`);
  t.same(tree.builtinFrom, ['modules.builtin', 'modules.builtin.modinfo']);
  t.ok(sample.every((m) => tree.builtin?.has(m)), 'the tree\'s built-ins include the modinfo names');
});

t.test('a module listed in modules.dep but not installed is not found', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const root = buildSyntheticRoot({ name: 'modules-dropped', kernels: [{ kernel: k, dropModules: ['virtio_pci'] }] });
  const fs = open(root.image);
  const tree = openModuleTree(fs, `/usr/lib/modules/${k.version}`);
  t.match(lookupModule(fs, tree, 'virtio_pci'), { listed: true, file: null });
  t.match(lookupModule(fs, tree, 'virtio_blk'), { listed: true, file: /virtio_blk\.ko$/ });
});

t.test('installed kernels: images, configs, initrds, module trees; newest first', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const cloud = debianKernel('cloud-arm64');
  const root = buildSyntheticRoot({
    name: 'kernels',
    kernels: [
      { kernel: k, fullImage: true, initrd: { modules: ['virtio_pci'], compression: 'gzip' } },
      { kernel: cloud },
      { kernel: k, renameTo: '6.1.0-9-arm64', noConfig: true },
    ],
    files: {
      'vmlinuz': { symlink: `boot/vmlinuz-${cloud.version}` },
      'boot/vmlinuz-6.1.0-9-arm64.old': 'leftover',
      'boot/initrd.img-5.10.0-1-arm64': 'initrd of a purged kernel',
      'usr/lib/modules/5.10.0-1-arm64/modules.alias': 'a leftover tree without modules',
    },
  });
  const fs = open(root.image);
  const kernels = listKernels(fs);
  const versions = [k.version, cloud.version, '6.1.0-9-arm64'];
  const sorted = run('sh', ['-c', 'printf "%s\\n" "$@" | sort -V -r', 'sh', ...versions]).trim().split('\n');
  t.same(kernels.map((x) => x.version), sorted, `newest first, as sort -V orders them: ${sorted.join(', ')}`);
  const main = kernels.find((x) => x.version === k.version)!;
  t.same(main, {
    version: k.version, image: `/boot/vmlinuz-${k.version}`, config: `/boot/config-${k.version}`,
    initrd: `/boot/initrd.img-${k.version}`, modulesDir: `/usr/lib/modules/${k.version}`,
  });
  t.match(kernels.find((x) => x.version === '6.1.0-9-arm64'), { config: null, initrd: null, image: '/boot/vmlinuz-6.1.0-9-arm64' });
  t.notOk(kernels.some((x) => x.version.startsWith('5.10')), 'an initrd or an empty module tree alone is not a kernel');
  // The real image header.
  const head = fs.read(main.image!, 0, 1024);
  t.same(kernelImageInfo(head), { format: 'arm64-image', arch: 'arm64', efiStub: true, compression: null }, 'Debian vmlinuz: arm64 Image with EFI stub');
  t.match(run('file', ['-b', join(k.root, 'boot', `vmlinuz-${k.version}`)]), /ARM64|aarch64/i, 'file(1) agrees it is an arm64 kernel');
  t.equal(fs.stat(main.image!).size, readFileSync(join(k.root, 'boot', `vmlinuz-${k.version}`)).length);
});

t.test('kernel image formats by header', async (t) => {
  const b = new Uint8Array(1024);
  t.equal(kernelImageInfo(b).format, 'unknown');
  b.set([0x1f, 0x8b, 8], 0);
  t.equal(kernelImageInfo(b).format, 'gzip', 'gzip-compressed Image (Ubuntu arm64)');
  const z = new Uint8Array(1024);
  z.set([0x4d, 0x5a, 0, 0], 0);
  z.set(Buffer.from('zimg'), 4);
  z.set(Buffer.from('zstd'), 0x18);
  t.same(kernelImageInfo(z), { format: 'efi-zboot', arch: null, efiStub: true, compression: 'zstd' }, 'EFI zboot image');
  const x = new Uint8Array(1024);
  x.set(Buffer.from('HdrS'), 0x202);
  t.equal(kernelImageInfo(x).arch, 'x86', 'x86 bzImage');
  const elf = new Uint8Array(64);
  elf.set([0x7f, 0x45, 0x4c, 0x46], 0);
  elf[18] = 183;
  t.same(kernelImageInfo(elf), { format: 'elf', arch: 'arm64', efiStub: false, compression: null });
});

t.test('version order matches sort -V', async (t) => {
  const vs = ['6.1.0-50-arm64', '6.1.0-9-arm64', '6.1.0-50-cloud-arm64', '6.10.0-1-arm64', '5.10.0-28-arm64', '6.1.0-50-rt-arm64', '6.1.0', '6.1.0-50-arm64+debug'];
  const want = run('sh', ['-c', 'printf "%s\\n" "$@" | sort -V', 'sh', ...vs]).trim().split('\n');
  t.same([...vs].sort(compareVersions), want);
});
