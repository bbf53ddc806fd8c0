import t from 'tap';
import { DOM0_DISKS, domainConfig, hypervisorLines, xenFiles, xenHostArgv } from '../../../boot/xen/xen-runner.js';
import type { DomuBoot } from '../../../boot/xen/domu-boot.js';
import type { QemuRunOptions } from '../../../boot/qemu-run.js';

/** The Xen route's pure parts: the domain's xl.cfg as dom0 sees it, and L0 QEMU's command line. */

const direct: DomuBoot = { kind: 'direct', kernel: Buffer.from('k'), ramdisk: Buffer.from('r'), cmdline: 'panic=-1 quiet', from: 'reference:builtin' };
const run: QemuRunOptions = { image: '/w/image.qcow2', imageFormat: 'qcow2', evidenceDisk: '/w/boot1-evidence.img', serialLog: '/w/boot1-serial.log', timeoutMs: 300_000, gic: 2, acpi: false, memoryMiB: 1024, smp: 2 };

t.test('the domain: dom0\'s virtio disks handed over by blkback, the plan\'s GIC and description', async (t) => {
  const cfg = domainConfig(run, direct);
  t.match(cfg, /^kernel = "\/job\/kernel"$/m);
  t.match(cfg, /^ramdisk = "\/job\/ramdisk"$/m);
  t.match(cfg, /^extra = "panic=-1 quiet"$/m);
  t.match(cfg, /^gic_version = "v2"$/m);
  t.match(cfg, /^acpi = 0$/m);
  t.match(cfg, /^vuart = "sbsa_uart"$/m);
  t.match(cfg, /"format=raw, vdev=xvda, access=rw, target=\/dev\/vdb"/, 'a qcow2 image reaches the domain raw: L0 QEMU reads the qcow2');
  t.match(cfg, /"format=raw, vdev=xvdb, access=rw, target=\/dev\/vdc"/);
  t.notMatch(cfg, /xvdc|qdisk/, 'no seed, no QEMU backend (Debian builds none for arm64)');
  const seeded = domainConfig({ ...run, gic: 3, acpi: true, readOnlyDisks: ['/w/seed.img'] }, { kind: 'firmware', path: '/fw/XEN_EFI.fd', data: Buffer.from('fw') });
  t.match(seeded, /"format=raw, vdev=xvdc, access=ro, target=\/dev\/vdd"/);
  t.match(seeded, /^gic_version = "v3"$/m);
  t.match(seeded, /^acpi = 1$/m);
  t.notMatch(seeded, /^(ramdisk|extra) =/m, 'a guest firmware boots the image itself');
  t.throws(() => domainConfig({ ...run, readOnlyDisks: ['/a', '/b'] }, direct), /one read-only disk/);
});

t.test('L0 QEMU: Xen at EL2, dom0 by guest-loader, disks in dom0\'s order, consoles to files', async (t) => {
  const host = { xen: '/c/xen', dom0Kernel: '/c/vmlinuz', dom0Initrd: '/c/dom0-initrd.img' };
  const argv = xenHostArgv(run, host, { kernel: 32956352, initrd: 5315088 }, '/w/job.cpio');
  const after = (flag: string, i = 0): string[] => argv.flatMap((a, j) => (a === flag ? [argv[j + 1] as string] : [])).slice(i);
  t.same(after('-M'), ['virt,virtualization=on,gic-version=2']);
  t.same(after('-kernel'), ['/c/xen']);
  t.match(after('-append')[0], /^dom0_mem=512M,max:512M dom0_max_vcpus=1 console=dtuart$/);
  t.same(after('-m'), ['1792'], 'dom0 + the domain + Xen');
  const loaders = after('-device').filter((d) => d.startsWith('guest-loader'));
  const kAddr = Number(/addr=(0x[0-9a-f]+)/.exec(loaders[0] as string)?.[1]);
  const iAddr = Number(/addr=(0x[0-9a-f]+)/.exec(loaders[1] as string)?.[1]);
  t.ok(iAddr >= kAddr + 32956352, 'the initrd is loaded above the whole kernel');
  t.equal(iAddr % 0x200000, 0, '2 MiB aligned');
  t.match(loaders[0], /kernel=\/c\/vmlinuz,bootargs=console=hvc0 pci=nomsi rdinit=\/init$/);
  const drives = after('-drive');
  t.match(drives[0], /file=\/w\/job.cpio,format=raw,readonly=on,id=job/, `job first: ${DOM0_DISKS.job}`);
  t.match(drives[1], /file=\/w\/image.qcow2,format=qcow2,id=hd0,snapshot=on/, `image second (${DOM0_DISKS.image}), never written`);
  t.match(drives[2], /file=\/w\/boot1-evidence.img,format=raw,id=evidence/);
  const files = xenFiles(run.serialLog);
  t.same(files, { pvConsole: '/w/boot1-serial-pv.log', xenConsole: '/w/boot1-serial-xen.log', job: '/w/boot1-serial-xen-job.cpio' });
  t.same(after('-chardev'), ['file,id=vuart,path=/w/boot1-serial.log', 'file,id=pv,path=/w/boot1-serial-pv.log', 'file,id=xencons,path=/w/boot1-serial-xen.log'], 'the vUART is the serial log the host clauses judge');
  t.ok(argv.includes('-no-reboot'));
  t.match(xenHostArgv({ ...run, image: '/w/a,b.img' }, host, { kernel: 1, initrd: 1 }, '/w/j').join(' '), /file=\/w\/a,,b\.img/, 'commas escaped');
  t.throws(() => xenHostArgv({ ...run, memoryMiB: 128 }, host, { kernel: 1, initrd: 2 ** 30 }, '/w/j'), /do not fit/);
});

t.test('what the hypervisor said: Xen and dom0-init lines, not dom0\'s kernel log', async (t) => {
  const log = '(XEN) Xen version 4.17\r\r\n[    3.1] virtio_blk virtio0\nvmspec-dom0: xl: libxl: error: x\nVMSPEC-XEN-END reason=error:create domid=- seconds=6\n';
  t.equal(hypervisorLines(log), '(XEN) Xen version 4.17\nvmspec-dom0: xl: libxl: error: x\nVMSPEC-XEN-END reason=error:create domid=- seconds=6');
});
