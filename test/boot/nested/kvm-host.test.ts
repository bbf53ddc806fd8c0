/**
 * The L1 KVM host (boot/nested/kvm-host.ts), built for real (cached after
 * the first build: Debian arm64 packages through apt): its initramfs,
 * unpacked by the real cpio, holds a runnable qemu-system-aarch64, checked
 * with binutils' readelf independently of the builder: every DT_NEEDED
 * library of every ELF file in it, and each one's program interpreter, is
 * in the archive (links followed inside it). Skipped, with the reason,
 * where apt has no arm64 or binutils is missing.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildKvmHost, KVM_HOST_MODULES, type KvmHost } from '../../../boot/nested/kvm-host.js';
import { checkArm64 } from '../../../boot/reference/debs.js';

const work = mkdtempSync(join(tmpdir(), 'vmspec-kvmhost-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const readelf = ['aarch64-linux-gnu-readelf', 'readelf'].find((r) => spawnSync(r, ['--version']).status === 0);

let host: KvmHost | undefined;
let skip: string | false = false;
t.before(async () => {
  if (readelf === undefined) {
    skip = 'readelf not found (apt-get install binutils)';
    return;
  }
  try {
    await checkArm64();
  } catch (e) {
    skip = (e as Error).message;
    return;
  }
  host = await buildKvmHost({});
});

/** A root-relative path with its symlinks followed inside `root`. */
function inTree(root: string, rel: string): string | null {
  let cur = rel.replace(/^\/+/, '');
  for (let hop = 0; hop < 40; hop++) {
    const parts = cur.split('/');
    let done = true;
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      let st;
      try {
        st = lstatSync(join(root, p));
      } catch {
        return null;
      }
      if (st.isSymbolicLink()) {
        const target = readlinkSync(join(root, p));
        const base = target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join(posix.dirname(p), target));
        cur = [base, ...parts.slice(i)].join('/');
        done = false;
        break;
      }
    }
    if (done) return statSync(join(root, cur)).isFile() ? cur : null;
  }
  return null;
}

function elfFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(root, p));
    if (st.isDirectory()) out.push(...elfFiles(root, p));
    else if (st.isFile() && readFileSync(join(root, p)).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) out.push(p);
  }
  return out;
}

t.test('the initramfs holds qemu-system-aarch64 and every library it loads', async (t) => {
  if (skip || host === undefined) return t.plan(0, skip || 'no host');
  const h = host;
  const initrd = readFileSync(h.initrd);
  t.equal(createHash('sha256').update(initrd).digest('hex'), h.info.files['initrd.img']?.sha256, 'build.json records the initramfs');
  const kernel = readFileSync(h.kernel);
  t.equal(kernel.subarray(0, 2).toString('latin1'), 'MZ', 'an EFI-stub arm64 Image');
  const tree = join(work, 'tree');
  rmSync(tree, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', tree]);
  const x = spawnSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames'], { input: gunzipSync(initrd), cwd: tree, maxBuffer: 1 << 30 });
  if (x.error) return t.plan(0, `cpio not runnable: ${x.error.message}`);
  t.equal(x.status, 0, String(x.stderr));
  for (const p of ['init', 'bin/busybox', 'usr/bin/qemu-system-aarch64']) t.ok(inTree(tree, p), `${p} is there`);
  t.equal(readlinkSync(join(tree, 'bin/sh')), 'busybox', '/init\'s interpreter');
  t.match(readFileSync(join(tree, 'init'), 'utf8'), /VMSPEC-L1-END/);
  const modules = readFileSync(join(tree, 'etc/vmspec/modules'), 'utf8').trim().split('\n');
  t.equal(modules.length, KVM_HOST_MODULES.length);
  for (const m of modules) t.ok(existsSync(join(tree, 'lib/modules', h.info.kernelVersion, m)), `module ${m} packed`);

  const elves = elfFiles(tree);
  t.ok(elves.includes('usr/bin/qemu-system-aarch64'));
  const missing: string[] = [];
  for (const f of elves) {
    const r = spawnSync(readelf as string, ['-h', '-d', '-l', '-W', join(tree, f)], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    t.equal(r.status, 0, `${readelf} ${f}`);
    t.match(r.stdout, /Machine:\s+AArch64/, `${f} is AArch64`);
    const interp = /\[Requesting program interpreter: ([^\]]+)\]/.exec(r.stdout)?.[1];
    if (interp !== undefined && inTree(tree, interp) === null) missing.push(`${f}: interpreter ${interp}`);
    for (const m of r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
      const lib = m[1] as string;
      if (!['lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib', 'usr/lib'].some((d) => inTree(tree, `${d}/${lib}`) !== null)) missing.push(`${f}: ${lib}`);
    }
  }
  t.same(missing, [], 'every DT_NEEDED library and interpreter is in the initramfs');
  t.ok(elves.length > 20, `qemu and its ${elves.length - 2} libraries`);
  t.notOk(elves.some((f) => /python|perl/.test(f)), 'nothing qemu does not load at run time');

  const again = await buildKvmHost({});
  t.equal(again.key, h.key);
  t.equal(again.cached, true, 'cached');
});
