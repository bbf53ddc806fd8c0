'use strict';
// Build step, used by build/code-cache.cjs: a small disk shaped like the ones `vmspec verify` reads (a GPT,
// a FAT32 ESP with \EFI\BOOT\BOOTAA64.EFI as GRUB builds it, a kernel and an initrd), so the warm-up run
// compiles the code a real verify runs (GPT and FAT readers, PE and GRUB readers, the GRUB script
// evaluator, the firmware-volume scan) and V8's code cache then holds it. A verify of a blank disk
// stops at "no partition table" and leaves all of that to be compiled on every start.
// Made with the tools the test fixtures use (sgdisk, mkfs.vfat, mtools); without them the build says
// so and the cache is warmed on a blank disk only (a slower start, nothing wrong).
const { execFileSync } = require('node:child_process');
const { closeSync, openSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const MIB = 1 << 20;
/** FAT32 needs at least 65525 clusters: 40 MiB of 512-byte clusters (the reference ESP's geometry). */
const ESP_MIB = 40;
const DISK_MIB = ESP_MIB + 2;

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

/** The disk's path in `dir`, or `{ why }` when a tool it is made with is missing or fails. */
exports.warmUpImage = function warmUpImage(dir) {
  const disk = join(dir, 'warm-up.img');
  const esp = join(dir, 'esp.img');
  try {
    const fd = openSync(disk, 'w');
    closeSync(fd);
    execFileSync('truncate', ['-s', `${DISK_MIB}M`, disk]);
    execFileSync('sgdisk', ['-o', '-n', `1:1M:+${ESP_MIB}M`, '-t', '1:EF00', '-c', '1:ESP', disk], { stdio: 'ignore' });
    execFileSync('truncate', ['-s', `${ESP_MIB}M`, esp]);
    execFileSync('mkfs.vfat', ['-F', '32', '-S', '512', '-s', '1', '-n', 'WARM-UP', esp], { stdio: 'ignore' });
    const config = 'search --no-floppy --file /vmlinuz --set=root\nlinux /vmlinuz root=LABEL=root console=ttyAMA0\ninitrd /initrd.img\nboot\n';
    writeFileSync(join(dir, 'BOOTAA64.EFI'), grubLikePe(config, '/EFI/BOOT'));
    writeFileSync(join(dir, 'grub.cfg'), config);
    // A kernel-sized file and an initrd: the firmware-volume scan and the kernel checks read them.
    writeFileSync(join(dir, 'vmlinuz'), Buffer.alloc(2 * MIB, 0x5a));
    writeFileSync(join(dir, 'initrd.img'), Buffer.alloc(MIB));
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    execFileSync('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT'], { env });
    execFileSync('mcopy', ['-i', esp, join(dir, 'BOOTAA64.EFI'), join(dir, 'grub.cfg'), '::/EFI/BOOT/'], { env });
    execFileSync('mcopy', ['-i', esp, join(dir, 'vmlinuz'), join(dir, 'initrd.img'), '::/'], { env });
    execFileSync('dd', [`if=${esp}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none']);
    return disk;
  } catch (e) {
    return { why: e.code === 'ENOENT' ? `${e.path} is not installed` : String(e.message).split('\n')[0] };
  }
};
