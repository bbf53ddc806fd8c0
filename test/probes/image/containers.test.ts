import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedDir, run } from '../../fixtures/cache.js';
import { gptOnePartition, qemuImgInfo } from '../../fixtures/disk-builder.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { detectDiskFile } from '../../../probes/image/disk-format.js';
import { vmspec } from '../../cli/cli-runner.js';

/**
 * Every container qemu-img reads from a plain file is recognised by its
 * magic and refused by name (exit 2), never read as a raw disk. Images are
 * written by `qemu-img convert` where qemu-img can write the format
 * (parallels, qcow v1); bochs, cloop and dmg, which qemu-img only reads, are
 * written with the header their QEMU driver documents, and qemu-img's own
 * probe confirms bochs.
 */

const raw = gptOnePartition();
const written = cachedDir('containers-qemu-img', { v: 1, raw: readFileSync(raw).length, qemu: run('qemu-img', ['--version']).split('\n')[0] }, (d) => {
  for (const fmt of ['parallels', 'qcow']) run('qemu-img', ['convert', '-f', 'raw', '-O', fmt, raw, join(d, `disk.${fmt}`)]);
});

/** A Bochs "Redolog"/"Growing" image (QEMU block/bochs.c struct bochs_header): 512-byte header, then a catalog with every extent unallocated. */
function bochsImage(path: string): string {
  const h = Buffer.alloc(512);
  h.write('Bochs Virtual HD Image', 0, 'latin1');
  h.write('Redolog', 32, 'latin1');
  h.write('Growing', 48, 'latin1');
  h.writeUInt32LE(0x00020000, 64); // version HEADER_VERSION
  h.writeUInt32LE(512, 68); // header size
  const disk = readFileSync(raw).length;
  const extent = 4096;
  const catalog = Math.ceil(disk / extent);
  h.writeUInt32LE(catalog, 72); // redolog.catalog: entries
  h.writeUInt32LE(1, 76); // redolog.bitmap: sectors of bitmap per extent
  h.writeUInt32LE(extent, 80); // redolog.extent: bytes
  h.writeBigUInt64LE(BigInt(disk), 88); // redolog.disk: virtual size
  writeFileSync(path, Buffer.concat([h, Buffer.alloc(catalog * 4, 0xff)])); // every extent unallocated
  return path;
}

/** The cloop v2.0 shell header (QEMU block/cloop.c cloop_probe's magic_version_2_0), then zeros. */
function cloopImage(path: string): string {
  const magic = '#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n';
  writeFileSync(path, Buffer.concat([Buffer.from(magic, 'latin1'), Buffer.alloc(4096)]));
  return path;
}

/** A raw disk with an Apple UDIF trailer: its last 512 bytes start with "koly" (QEMU block/dmg.c). */
function dmgImage(path: string): string {
  const trailer = Buffer.alloc(512);
  trailer.write('koly', 0, 'latin1');
  trailer.writeUInt32BE(4, 4); // version
  trailer.writeUInt32BE(512, 8); // header size
  writeFileSync(path, Buffer.concat([readFileSync(raw), trailer]));
  return path;
}

const dir = t.testdir({});
const CASES: [string, string, string][] = [
  ['parallels (qemu-img convert -O parallels)', join(written, 'disk.parallels'), 'parallels'],
  ['qcow version 1 (qemu-img convert -O qcow)', join(written, 'disk.qcow'), 'qcow (version 1)'],
  ['bochs (documented header)', bochsImage(join(dir, 'disk.bochs')), 'bochs'],
  ['cloop (documented header)', cloopImage(join(dir, 'disk.cloop')), 'cloop'],
  ['dmg (UDIF trailer)', dmgImage(join(dir, 'disk.dmg')), 'dmg'],
];

t.test('qemu-img itself sees the written images as containers', async (t) => {
  t.equal(qemuImgInfo(join(written, 'disk.parallels')).format, 'parallels');
  t.equal(qemuImgInfo(join(written, 'disk.qcow')).format, 'qcow');
  t.equal(qemuImgInfo(join(dir, 'disk.bochs')).format, 'bochs', 'qemu-img probes our bochs header as bochs');
});

for (const [label, path, format] of CASES) {
  t.test(`${label}: refused by name, exit 2`, async (t) => {
    t.match(detectDiskFile(path).detected, { format: null, refused: { format } });
    t.throws(() => openDisk(path), { name: 'UnsupportedError', message: `${path}: ${format} images are not supported (raw and qcow2 are)` });
    const r = vmspec(['verify', path]);
    t.equal(r.status, 2, 'exit 2: an input vmspec does not read, not a failed GPT clause');
    t.match(r.stderr, `${format} images are not supported (raw and qcow2 are) (convert with \`qemu-img convert -O raw IMAGE OUT.raw\`)`);
    t.equal(r.stdout, '', 'no clause was judged');
  });
}

t.test('the raw disk the containers were made from still reads as raw', async (t) => {
  t.match(detectDiskFile(raw).detected, { format: 'raw', refused: null });
});
