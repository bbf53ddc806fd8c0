/**
 * boot/nested/debian-root.ts with real apt (arm64 packages, `apt-get
 * download`, `dpkg-deb -x`) and boot/nested/initramfs.ts read back by the
 * real cpio. Small closures only: zlib1g (→ libc6 → libgcc-s1 →
 * gcc-12-base) and tzdata (architecture all; its debconf | debconf-2.0
 * dependency excluded). Skipped, with the reason, where apt has no arm64.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildDebianRoot, debianRootKey, parseDependsField, readDebianRootInfo } from '../../../boot/nested/debian-root.js';
import { packInitramfs } from '../../../boot/nested/initramfs.js';
import { checkArm64 } from '../../../boot/reference/debs.js';

const work = mkdtempSync(join(tmpdir(), 'vmspec-debroot-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('Depends fields: alternatives, versions and qualifiers dropped; hostile names refused', async (t) => {
  t.same(parseDependsField('libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any, libfoo:arm64 (= 1:2)'), [['libc6'], ['debconf', 'debconf-2.0'], ['python3'], ['libfoo']]);
  t.same(parseDependsField(''), []);
  t.same(parseDependsField(' , ,'), []);
  t.throws(() => parseDependsField('libc6, ../../etc/passwd'), /not a Debian package name/);
  t.throws(() => parseDependsField('$(reboot)'), /not a Debian package name/);
});

t.test('the key is the sorted deb hashes', async (t) => {
  const a = { sha256: 'a'.repeat(64) };
  const b = { sha256: 'b'.repeat(64) };
  t.equal(debianRootKey([a, b]), debianRootKey([b, a]));
  t.not(debianRootKey([a]), debianRootKey([a, b]));
});

t.test('a directory packed as a gzip newc initramfs, read back by cpio', async (t) => {
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  mkdirSync(join(tree, 'usr/share/doc/x'), { recursive: true });
  writeFileSync(join(tree, 'usr/bin/tool'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(tree, 'usr/share/doc/x/README'), 'docs');
  writeFileSync(join(tree, 'init'), 'old init');
  symlinkSync('usr/bin', join(tree, 'bin'));
  const pack = () => packInitramfs(tree, {
    mtime: 1700000000,
    keep: (p) => !p.startsWith('usr/share/doc'),
    extra: [{ type: 'file', path: 'init', data: Buffer.from('new init'), mode: 0o755 }, { type: 'chardev', path: 'dev/console', major: 5, minor: 1 }],
  });
  const a = pack();
  t.same(a, pack(), 'deterministic');
  const cpio = spawnSync('cpio', ['-t', '-v', '--quiet'], { input: gunzipSync(a), encoding: 'utf8' });
  if (cpio.error) return t.plan(0, `cpio not runnable: ${cpio.error.message}`);
  t.equal(cpio.status, 0, cpio.stderr);
  const lines = cpio.stdout.split('\n');
  t.ok(lines.some((l) => /^-rwxr-xr-x .* usr\/bin\/tool$/.test(l)), 'file with its mode');
  t.ok(lines.some((l) => /^lrwxrwxrwx .* bin -> usr\/bin$/.test(l)), 'symlink');
  t.ok(lines.some((l) => /^crw------- .* dev\/console$/.test(l)), 'extra device node');
  t.notOk(lines.some((l) => l.includes('usr/share/doc')), 'kept out');
  const dir = join(work, 'out');
  mkdirSync(dir);
  const x = spawnSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames', 'init'], { input: gunzipSync(a), cwd: dir });
  t.equal(x.status, 0);
  t.equal(readFileSync(join(dir, 'init'), 'utf8'), 'new init', 'an extra entry replaces the tree\'s');
});

t.test('real apt: a closure resolved, fetched, verified, extracted and cached', async (t) => {
  try {
    await checkArm64();
  } catch (e) {
    return t.plan(0, (e as Error).message);
  }
  const progress: string[] = [];
  const root = await buildDebianRoot({ packages: ['zlib1g'], onProgress: (m) => progress.push(m) });
  const names = root.debs.map((d) => d.name);
  t.same(names, [...names].sort(), 'sorted by name');
  for (const n of ['zlib1g', 'libc6', 'libgcc-s1', 'gcc-12-base']) t.ok(names.includes(n), `${n} in the closure`);
  t.ok(existsSync(join(root.dir, 'lib/aarch64-linux-gnu/libc.so.6')), 'libc6 extracted');
  t.ok(existsSync(join(root.dir, 'lib/ld-linux-aarch64.so.1')), 'the arm64 dynamic loader link');
  const elf = readFileSync(join(root.dir, 'lib/aarch64-linux-gnu/libc.so.6')).subarray(0, 20);
  t.equal(elf.readUInt16LE(18), 183, 'an AArch64 ELF (e_machine EM_AARCH64)');
  t.equal(root.key, debianRootKey(root.debs));
  const info = readDebianRootInfo(root);
  t.same(info.packages.map((p) => p.name), names);
  const again = await buildDebianRoot({ packages: ['zlib1g'], onProgress: (m) => progress.push(m) });
  t.equal(again.dir, root.dir);
  t.ok(progress.some((m) => m.includes('is cached')), 'the second build comes from the cache');

  const tz = await buildDebianRoot({ packages: ['tzdata'], exclude: ['debconf'] });
  t.same(tz.debs.map((d) => d.name), ['tzdata'], 'an excluded alternative satisfies its group; nothing else follows');
  t.match(tz.debs[0]?.path, /_all\.deb$/, 'an architecture-independent package keeps apt\'s _all name');
  t.ok(existsSync(join(tz.dir, 'usr/share/zoneinfo/UTC')));

  await t.rejects(buildDebianRoot({ packages: ['no-such-package-vmspec'] }), /apt knows no arm64 package no-such-package-vmspec/);
  await t.rejects(buildDebianRoot({ packages: ['../x'] }), /not a Debian package name/);
});
