'use strict';
// Build step, used by build/code-cache.cjs: a small disk shaped like the ones `vmspec verify` reads (a GPT,
// a FAT32 ESP with \EFI\BOOT\BOOTAA64.EFI as GRUB builds it, an ext4 root as Debian lays it out: fstab,
// /boot with a kernel, its config, a gzip'd cpio initrd and grub.cfg, the modules directory), so the
// warm-up run compiles the code a real verify runs (GPT, FAT, PE and GRUB readers, the GRUB script
// evaluator, ext4, the kernel, config, initrd and module readers, the firmware-volume scan) and V8's code
// cache then holds it. A verify of a blank disk stops at "no partition table" and leaves all of that to
// be compiled on every start. None of it is a real kernel or module: only the layouts are real.
// Made with the tools the test fixtures use (sgdisk, mkfs.vfat, mtools, mkfs.ext4 -d, cpio, gzip);
// without them the build says so and the cache is warmed on a blank disk only (a slower start, nothing
// wrong).
const { execFileSync } = require('node:child_process');
const { closeSync, mkdirSync, openSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** FAT32 needs at least 65525 clusters: 40 MiB of 512-byte clusters (the reference ESP's geometry). */
const ESP_MIB = 40;
const ROOT_MIB = 16;
const DISK_MIB = ESP_MIB + ROOT_MIB + 2;
const KVER = '6.1.0-0-arm64';
const ROOT_UUID = '0b1e6f3c-8d52-4b8e-9c55-5f0c2a7d1e10';
const MODULES = ['kernel/drivers/block/virtio_blk.ko', 'kernel/drivers/net/virtio_net.ko', 'kernel/drivers/block/xen-blkfront.ko'];

/**
 * An AArch64 PE32+ EFI application shaped as grub-mkimage writes one: a .text section and a "mods"
 * section holding grub_module_info64 ("mimg", offset, size) and its objects (GRUB include/grub/kernel.h):
 * one placeholder ELF module, the embedded config and the prefix. Layouts: PE/COFF spec §2–§4.
 */
function grubLikePe(config, prefix) {
  const obj = (type, body) => {
    const size = 8 + body.length + ((8 - (body.length % 8)) % 8);
    const b = Buffer.alloc(size);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(size, 4);
    body.copy(b, 8);
    return b;
  };
  const objects = Buffer.concat([obj(0, Buffer.alloc(16)), obj(2, Buffer.from(`${config}\0`)), obj(3, Buffer.from(`${prefix}\0`))]);
  const info = Buffer.alloc(24);
  info.writeUInt32LE(0x676d696d, 0); // "mimg"
  info.writeBigUInt64LE(24n, 8); // offset of the first object
  info.writeBigUInt64LE(BigInt(24 + objects.length), 16); // size of the whole area
  const mods = Buffer.concat([info, objects]);

  const FILE_ALIGN = 0x200;
  const align = (n) => Math.ceil(n / FILE_ALIGN) * FILE_ALIGN;
  const text = Buffer.alloc(FILE_ALIGN, 0x1f); // not code; only its header is read
  const textAt = FILE_ALIGN;
  const modsAt = textAt + text.length;
  const modsRaw = align(mods.length);
  const image = Buffer.alloc(modsAt + modsRaw);
  image.write('MZ', 0, 'latin1');
  image.writeUInt32LE(0x40, 0x3c); // e_lfanew
  image.write('PE\0\0', 0x40, 'latin1');
  const coff = 0x44;
  image.writeUInt16LE(0xaa64, coff); // Machine: IMAGE_FILE_MACHINE_ARM64
  image.writeUInt16LE(2, coff + 2); // NumberOfSections
  image.writeUInt16LE(240, coff + 16); // SizeOfOptionalHeader (PE32+, 16 data directories)
  image.writeUInt16LE(0x0206, coff + 18); // Characteristics: executable, debug stripped
  const opt = coff + 20;
  image.writeUInt16LE(0x20b, opt); // Magic: PE32+
  image.writeUInt32LE(0x1000, opt + 16); // AddressOfEntryPoint
  image.writeUInt32LE(0x1000, opt + 20); // BaseOfCode
  image.writeUInt32LE(0x1000, opt + 32); // SectionAlignment
  image.writeUInt32LE(FILE_ALIGN, opt + 36); // FileAlignment
  image.writeUInt32LE(0x3000, opt + 56); // SizeOfImage
  image.writeUInt32LE(FILE_ALIGN, opt + 60); // SizeOfHeaders
  image.writeUInt16LE(10, opt + 68); // Subsystem: EFI application
  image.writeUInt32LE(16, opt + 108); // NumberOfRvaAndSizes
  const section = (at, name, va, rawAt, raw, virtual, flags) => {
    image.write(name, at, 'latin1');
    image.writeUInt32LE(virtual, at + 8);
    image.writeUInt32LE(va, at + 12);
    image.writeUInt32LE(raw, at + 16);
    image.writeUInt32LE(rawAt, at + 20);
    image.writeUInt32LE(flags, at + 36);
  };
  const sections = opt + 240;
  section(sections, '.text', 0x1000, textAt, text.length, text.length, 0x60000020);
  section(sections + 40, 'mods', 0x2000, modsAt, modsRaw, mods.length, 0xc0000040);
  text.copy(image, textAt);
  mods.copy(image, modsAt);
  return image;
}

/** An arm64 Image header (Documentation/arch/arm64/booting.rst): text_offset, image_size, flags, magic "ARM\x64". */
function arm64Image() {
  const image = Buffer.alloc(64 * 1024);
  image.writeBigUInt64LE(0x80000n, 8);
  image.writeBigUInt64LE(BigInt(image.length), 16);
  image.writeBigUInt64LE(0xan, 24);
  image.write('ARM\x64', 0x38, 'latin1');
  return image;
}

/** The root tree: what Debian's layout puts where the kernel, initrd and module readers look. */
function writeRootTree(root) {
  const put = (path, data) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), data);
  };
  put('etc/fstab', `UUID=${ROOT_UUID} / ext4 rw,discard,errors=remount-ro 0 1\n`);
  put('etc/os-release', 'PRETTY_NAME="vmspec warm-up"\nID=debian\nVERSION_ID="12"\n');
  put(`boot/vmlinuz-${KVER}`, arm64Image());
  const config = ['CONFIG_ARM64=y', 'CONFIG_SERIAL_AMBA_PL011=y', 'CONFIG_SERIAL_AMBA_PL011_CONSOLE=y', 'CONFIG_ARM_GIC=y',
    'CONFIG_ARM_GIC_V3=y', 'CONFIG_RTC_DRV_EFI=y', 'CONFIG_VIRTIO_PCI=y', 'CONFIG_VIRTIO_MMIO=y', 'CONFIG_VIRTIO_BLK=m',
    'CONFIG_VIRTIO_NET=m', 'CONFIG_XEN=y', 'CONFIG_XEN_BLKDEV_FRONTEND=m', '# CONFIG_XEN_NETDEV_FRONTEND is not set'];
  put(`boot/config-${KVER}`, `${config.join('\n')}\n`);
  put('boot/grub/grub.cfg', `set default="0"\nsearch --no-floppy --fs-uuid --set=root ${ROOT_UUID}\nmenuentry 'Debian GNU/Linux' {\n\tlinux /boot/vmlinuz-${KVER} root=UUID=${ROOT_UUID} ro console=ttyAMA0\n\tinitrd /boot/initrd.img-${KVER}\n}\n`);
  const mods = join('usr/lib/modules', KVER);
  for (const m of MODULES) put(join(mods, m), Buffer.alloc(1024, 0x7f));
  put(join(mods, 'modules.dep'), MODULES.map((m) => `${m}:`).join('\n') + '\n');
  put(join(mods, 'modules.builtin'), 'kernel/drivers/tty/serial/amba-pl011.ko\n');
  put(join(mods, 'modules.builtin.modinfo'), 'amba_pl011.license=GPL\0');
}

/** A gzip'd newc cpio of `tree` (as update-initramfs writes one), written to `out`. */
function initrd(tree, out) {
  const files = MODULES.map((m) => join('usr/lib/modules', KVER, m));
  for (const f of files) {
    mkdirSync(dirname(join(tree, f)), { recursive: true });
    writeFileSync(join(tree, f), Buffer.alloc(1024, 0x7f));
  }
  writeFileSync(join(tree, 'init'), '#!/bin/sh\n');
  const cpio = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: tree, input: `${['init', ...files].join('\n')}\n` });
  writeFileSync(out, execFileSync('gzip', ['-9', '-n'], { input: cpio }));
}

/** The disk's path in `dir`, or `{ why }` when a tool it is made with is missing or fails. */
exports.warmUpImage = function warmUpImage(dir) {
  const disk = join(dir, 'warm-up.img');
  const esp = join(dir, 'esp.img');
  try {
    const fd = openSync(disk, 'w');
    closeSync(fd);
    execFileSync('truncate', ['-s', `${DISK_MIB}M`, disk]);
    execFileSync('sgdisk', ['-o', '-n', `1:1M:+${ESP_MIB}M`, '-t', '1:EF00', '-c', '1:ESP', '-n', `2:0:+${ROOT_MIB}M`, '-t', '2:8305', '-c', '2:root', disk], { stdio: 'ignore' });
    execFileSync('truncate', ['-s', `${ESP_MIB}M`, esp]);
    execFileSync('mkfs.vfat', ['-F', '32', '-S', '512', '-s', '1', '-n', 'WARM-UP', esp], { stdio: 'ignore' });
    // As Debian's grub-install embeds it: find the root by UUID, then its /boot/grub/grub.cfg.
    const config = `search.fs_uuid ${ROOT_UUID} root\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n`;
    writeFileSync(join(dir, 'BOOTAA64.EFI'), grubLikePe(config, '/EFI/BOOT'));
    writeFileSync(join(dir, 'grub.cfg'), config);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    execFileSync('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT', '::/EFI/debian'], { env });
    execFileSync('mcopy', ['-i', esp, join(dir, 'BOOTAA64.EFI'), '::/EFI/BOOT/'], { env });
    execFileSync('mcopy', ['-i', esp, join(dir, 'grub.cfg'), '::/EFI/debian/'], { env });
    execFileSync('dd', [`if=${esp}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
    const tree = join(dir, 'root');
    writeRootTree(tree);
    initrd(join(dir, 'initrd-tree'), join(tree, 'boot', `initrd.img-${KVER}`));
    const rootImg = join(dir, 'root.img');
    execFileSync('truncate', ['-s', `${ROOT_MIB}M`, rootImg]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-U', ROOT_UUID, '-L', 'root', '-d', tree, rootImg], { stdio: 'ignore', env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' } });
    execFileSync('dd', [`if=${rootImg}`, `of=${disk}`, 'bs=1M', `seek=${1 + ESP_MIB}`, 'conv=notrunc,sparse', 'status=none']);
    return disk;
  } catch (e) {
    return { why: e.code === 'ENOENT' ? `${e.path} is not installed` : String(e.message).split('\n')[0] };
  }
};
