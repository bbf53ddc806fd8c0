import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCpio } from '../../../boot/reference/cpio.js';
import { createEvidenceDisk, evidenceDiskHeader, EVIDENCE_DISK_MAGIC } from '../../../boot/reference/evidence-disk.js';
import { debFileName } from '../../../boot/reference/debs.js';
import { qemuArgv, qemuEscape } from '../../../boot/qemu-run.js';

const work = mkdtempSync(join(tmpdir(), 'vmspec-refimg-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('newc cpio: deterministic, parents first, devices without root', async (t) => {
  const entries = [
    { type: 'file' as const, path: 'usr/share/vmspec/collect.sh', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { type: 'chardev' as const, path: 'dev/console', major: 5, minor: 1 },
    { type: 'symlink' as const, path: 'bin/sh', target: 'busybox' },
    { type: 'file' as const, path: 'init', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { type: 'file' as const, path: 'odd', data: Buffer.from('12345') },
  ];
  const a = buildCpio(entries, 1700000000);
  const b = buildCpio([...entries].reverse(), 1700000000);
  t.same(a, b, 'same bytes whatever the input order');
  t.equal(a.length % 4, 0);
  t.equal(new TextDecoder().decode(a.subarray(0, 6)), '070701');
  t.throws(() => buildCpio([...entries, { type: 'file', path: 'init', data: Buffer.from('') }], 0), /duplicate entry init/);
  t.throws(() => buildCpio([{ type: 'file', path: '../x', data: Buffer.from('') }], 0), /"\.\."/);
  const cpio = spawnSync('cpio', ['-t', '-v', '--quiet'], { input: a, encoding: 'utf8' });
  if (cpio.error || cpio.status !== 0) {
    t.comment('cpio is not installed (apt-get install cpio): listing not checked');
    return;
  }
  const listing = cpio.stdout.trim().split('\n');
  t.same(
    listing.map((l) => l.replace(/^.*\s2023\s/, '')),
    ['bin', 'bin/sh -> busybox', 'dev', 'dev/console', 'init', 'odd', 'usr', 'usr/share', 'usr/share/vmspec', 'usr/share/vmspec/collect.sh'],
  );
  t.match(listing.find((l) => l.endsWith('dev/console')), /^crw-------\s+1 root\s+root\s+5,\s+1 /);
  t.match(listing.find((l) => l.endsWith(' init')), /^-rwxr-xr-x .* 18 Nov 14\s+2023 init$/);
});

t.test('evidence disk header', async (t) => {
  const h = evidenceDiskHeader({ phase: 'write', nonce: 'n0nce' });
  t.equal(h.length, 512);
  t.equal(new TextDecoder().decode(h).replace(/\0+$/, ''), `${EVIDENCE_DISK_MAGIC}\nphase=write\nnonce=n0nce\n`);
  t.equal(new TextDecoder().decode(evidenceDiskHeader()).replace(/\0+$/, ''), `${EVIDENCE_DISK_MAGIC}\n`);
  t.throws(() => evidenceDiskHeader({ phase: 'check' }), /needs a nonce/);
  t.throws(() => evidenceDiskHeader({ phase: 'check', nonce: 'a b' }), /letters and digits/);
  const disk = join(work, 'ev.img');
  createEvidenceDisk(disk, { sizeBytes: 2 * 1024 * 1024, phase: 'check', nonce: 'abc' });
  t.equal(statSync(disk).size, 2 * 1024 * 1024);
  t.match(readFileSync(disk).subarray(0, 64).toString('latin1'), /^VMSPEC-EVIDENCE-DISK 1\nphase=check\nnonce=abc\n/);
  t.throws(() => createEvidenceDisk(disk, { sizeBytes: 1000 }), /multiple of 512/);
});

t.test('QEMU argv: the measured command line', async (t) => {
  const fw = { code: '/fw/CODE.fd', varsTemplate: '/fw/VARS.fd' };
  const argv = qemuArgv(
    { image: '/img/disk,1.img', vars: '/tmp/vars.fd', evidenceDisk: '/tmp/ev.img', acpi: false, gic: 3, timeoutMs: 1000, serialLog: '/tmp/serial.log', fwCfg: { 'opt/vmspec/phase': 'write' } },
    fw,
  );
  const joined = argv.join(' ');
  t.match(joined, /^-M virt,acpi=off,gic-version=3 -cpu cortex-a57 -m 1024 -smp 2 -accel tcg,thread=multi /);
  t.match(joined, /-drive if=pflash,format=raw,unit=0,readonly=on,file=\/fw\/CODE\.fd -drive if=pflash,format=raw,unit=1,file=\/tmp\/vars\.fd/);
  t.match(joined, /-drive if=none,file=\/img\/disk,,1\.img,format=raw,id=hd0,snapshot=on -device virtio-blk-pci,drive=hd0/, 'commas escaped, boot disk never written');
  t.match(joined, /-drive if=none,file=\/tmp\/ev\.img,format=raw,id=evidence -device virtio-blk-pci,drive=evidence/);
  t.match(joined, /-fw_cfg name=opt\/vmspec\/phase,string=write/);
  t.match(joined, /-chardev file,id=serial0,path=\/tmp\/serial\.log -serial chardev:serial0 -no-reboot$/);
  t.match(qemuArgv({ image: 'i', vars: 'v', timeoutMs: 1, serialLog: 's' }, fw).join(' '), /^-M virt -cpu/);
  t.throws(() => qemuArgv({ image: 'i', vars: 'v', timeoutMs: 1, serialLog: 's', fwCfg: { 'bad name': 'x' } }, fw), /fw_cfg name/);
  t.equal(qemuEscape('a,b,,c'), 'a,,b,,,,c');
});

t.test('apt-get download file names', async (t) => {
  t.equal(debFileName('busybox-static', '1:1.35.0-4+deb12u1+b1'), 'busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb');
  t.equal(debFileName('grub-efi-arm64-bin', '2.06-13+deb12u2'), 'grub-efi-arm64-bin_2.06-13+deb12u2_arm64.deb');
});
