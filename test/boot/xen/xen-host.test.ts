/**
 * The L1 Xen host builder for real: Debian's arm64 packages (apt-get
 * download, cached), the dom0 initramfs with the toolstack, then the
 * cache. The first build takes about 2 minutes here; later runs find it.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { buildXenHost, DOM0_MODULES, dom0InitPath } from '../../../boot/xen/xen-host.js';

const arm64 = spawnSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' });
const skip = arm64.error || !arm64.stdout.split(/\s+/).includes('arm64') ? 'apt does not know arm64 packages (dpkg --add-architecture arm64 && apt-get update)' : spawnSync('cpio', ['--version']).error ? 'cpio is not installed' : false;

t.test('the Xen host: hypervisor, dom0 kernel, an initramfs with the toolstack; cached', { skip, timeout: 15 * 60 * 1000 }, async (t) => {
  const first = await buildXenHost({ onProgress: (m) => t.comment(m) });
  t.match(readFileSync(first.xen).subarray(0x38, 0x3c).toString('latin1'), 'ARM\x64', 'Xen is an arm64 Image (QEMU -kernel)');
  t.equal(readFileSync(first.dom0Kernel).subarray(0, 2).toString('latin1'), 'MZ', 'dom0 kernel: the Debian arm64 EFI-stub Image');
  const cpio = gunzipSync(readFileSync(first.dom0Initrd));
  const list = spawnSync('cpio', ['-t', '--quiet'], { input: cpio, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  t.equal(list.status, 0, list.stderr);
  const names = new Set(list.stdout.trim().split('\n'));
  for (const p of ['init', 'bin/busybox', 'bin/sh', 'bin/bash', 'usr/bin/flock', 'usr/lib/xen-4.17/bin/xl', 'usr/lib/xen-4.17/bin/xenstored', 'usr/lib/xen-4.17/bin/xenconsoled', 'usr/lib/xen-4.17/bin/xen-init-dom0', 'usr/bin/xenstore-read', 'etc/xen/scripts/block', 'lib/ld-linux-aarch64.so.1', 'etc/vmspec/dom0-modules']) {
    t.ok(names.has(p), `the initramfs holds ${p}`);
  }
  t.notOk([...names].some((n) => n.startsWith('usr/share/')), 'no documentation');
  const init = spawnSync('cpio', ['-i', '--quiet', '--to-stdout', 'init'], { input: cpio, maxBuffer: 64 * 1024 * 1024 });
  t.same(init.stdout, readFileSync(dom0InitPath()), '/init is boot/xen/dom0-init.sh');
  const mods = spawnSync('cpio', ['-i', '--quiet', '--to-stdout', 'etc/vmspec/dom0-modules'], { input: cpio, encoding: 'utf8' }).stdout.trim().split('\n');
  t.same(mods.map((m) => (m.split('/').pop() ?? '').replace(/\.ko$/, '').replace(/-/g, '_')), DOM0_MODULES, 'dom0 loads the virtio and Xen backend modules in order');
  for (const m of mods) t.ok(names.has(`lib/modules/${first.info.kernelVersion}/${m}`), `${m} is carried`);
  t.match(first.info.xenVersion, /^4\.17\./);

  const again = await buildXenHost();
  t.equal(again.cached, true, 'the second call finds the cache');
  t.equal(again.key, first.key);
  t.same(again.info.files, first.info.files);
});
