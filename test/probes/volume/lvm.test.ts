/**
 * LVM2 volume groups made by lvm2's tools (pvcreate/vgcreate/lvcreate
 * --driverloaded n on loop devices), their LVs filled through the segment
 * map lvs reports: vmspec's reader agrees with `pvs/vgs/lvs --reportformat
 * json` on names, sizes, seqno and segments, and reads back exactly the
 * bytes written (sha256), for linear and striped LVs, a metadata ring that
 * has wrapped, an older metadata copy beside a newer one, and a missing PV.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { FileByteSource, type ByteSource } from '../../../bytes/byte-source.js';
import { openExt4 } from '../../../probes/fs/ext4.js';
import { detectFilesystem } from '../../../probes/fs/detect.js';
import { assembleVolumeGroups, readPhysicalVolume, type VolumeGroup } from '../../../probes/volume/lvm.js';
import { calcCrc, readPvLabel } from '../../../probes/volume/lvm-label.js';
import { buildLvm, lvmFixturesUnavailable } from '../../fixtures/lvm-builder.js';
import { buildExt4 } from '../../fixtures/ext4-builder.js';
import { patternBytes, sha256File } from '../../fixtures/disk-builder.js';
import { cachedDir } from '../../fixtures/cache.js';

const unavailable = lvmFixturesUnavailable();

function patternFile(name: string, bytes: number, seed: number): string {
  const dir = cachedDir(`lvm-pattern-${name}`, { bytes, seed }, (d) => writeFileSync(join(d, 'data'), patternBytes(bytes, seed)));
  return join(dir, 'data');
}

function sha256Source(src: ByteSource, length: number): string {
  const h = createHash('sha256');
  for (let pos = 0; pos < length; pos += 1 << 20) h.update(src.read(pos, Math.min(1 << 20, length - pos)));
  return h.digest('hex');
}

/** The one VG on these PV files (files closed again). */
function onlyVg(files: string[]): VolumeGroup {
  const o = open(files);
  o.close();
  return o.vgs[0]!;
}

function open(files: string[]): { vgs: VolumeGroup[]; close: () => void } {
  const srcs = files.map((f) => new FileByteSource(f));
  const vgs = assembleVolumeGroups(srcs.map((s, i) => readPhysicalVolume(s, `pv${i}`)));
  return { vgs, close: () => srcs.forEach((s) => s.close()) };
}

t.test('calc_crc is CRC-32 seeded with 0xf597a6cf and no final XOR (lib/misc/crc.c)', async (t) => {
  // Bitwise reference of LVM's loop, independent of the table.
  const ref = (d: Uint8Array): number => {
    let c = 0xf597a6cf;
    for (const b of d) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return c >>> 0;
  };
  for (const s of ['', 'a', 'LVM2 x[5A%r0N*>', 'x'.repeat(1000)]) t.equal(calcCrc(new TextEncoder().encode(s)), ref(new TextEncoder().encode(s)), JSON.stringify(s.slice(0, 20)));
});

t.test('LVM2 volume groups as lvm2 reports them', { skip: unavailable }, async (t) => {
  t.test('a linear LV holding ext4: the same bytes, the same names and segments as lvs', async (t) => {
    const ext = buildExt4({ name: 'lvm-linear', sizeMiB: 12, blockSize: 4096, tree: { 'etc/os-release': { file: 'ID=rhel\n' }, 'usr/bin/x': { random: 300_000, seed: 7 } } });
    const fx = buildLvm({ vg: 'vmspec-vg', pvSizesMiB: [48], lvs: [{ name: 'root', sizeMiB: 12, content: ext.image }, { name: 'home-x', sizeMiB: 8 }] });
    const before = sha256File(fx.pvs[0]!);
    const { vgs, close } = open(fx.pvs);
    t.teardown(close);
    t.equal(vgs.length, 1);
    const vg = vgs[0]!;
    t.equal(vg.name, fx.oracle.vgs[0]!.vg_name);
    t.equal(vg.seqno, Number(fx.oracle.vgs[0]!.vg_seqno), 'seqno as vgs reports it');
    t.equal(vg.extentSize * 512, Number(fx.oracle.vgs[0]!.vg_extent_size));
    t.same(vg.lvs.map((l) => l.lv), ['root', 'home-x']);
    const root = vg.lvs[0]!;
    t.equal(root.fullName, 'vmspec-vg/root');
    t.equal(root.mapperName, '/dev/mapper/vmspec--vg-root', 'dashes doubled as device-mapper names it');
    t.equal(vg.lvs[1]!.mapperName, '/dev/mapper/vmspec--vg-home--x');
    for (const lv of vg.lvs) t.equal(lv.source!.size, Number(fx.oracle.segments.find((s) => s.lv_name === lv.lv)!.lv_size), `${lv.lv} size as lvs reports it`);
    t.equal(sha256Source(root.source!, readFileSync(ext.image).length), sha256File(ext.image), 'the LV reads back the ext4 image written through the segment map');
    t.equal(detectFilesystem(root.source!), 'ext4');
    const fs = openExt4(root.source!);
    t.equal(new TextDecoder().decode(fs.readFile('/etc/os-release')), 'ID=rhel\n');
    t.equal(sha256File(fx.pvs[0]!), before, 'the PV file is unchanged');
  });

  t.test('a striped LV across two PVs (-i 2 -I 64k), several segments', async (t) => {
    const data = patternFile('striped', 24 << 20, 11);
    const fx = buildLvm({
      vg: 'stripes', pvSizesMiB: [40, 40], extentMiB: 1,
      lvs: [{ name: 'gap', sizeMiB: 3 }, { name: 'data', sizeMiB: 16, stripes: { count: 2, sizeKiB: 64 }, content: data }],
    });
    const { vgs, close } = open(fx.pvs);
    t.teardown(close);
    const seg = fx.oracle.segments.find((s) => s.lv_name === 'data')!;
    t.match(seg, { segtype: 'striped', stripes: '2', stripe_size: String(64 * 1024) });
    const lv = vgs[0]!.lvs.find((l) => l.lv === 'data')!;
    t.same(lv.pvNames.sort(), ['pv0', 'pv1']);
    t.equal(lv.source!.size, 16 << 20);
    t.equal(sha256Source(lv.source!, 16 << 20), createHash('sha256').update(readFileSync(data).subarray(0, 16 << 20)).digest('hex'), 'chunks come back in LV order');
    // A read straddling chunk and stripe boundaries.
    t.same(lv.source!.read(65536 - 100, 200_000), readFileSync(data).subarray(65536 - 100, 65536 - 100 + 200_000));

    t.test('with one PV missing the striped LV is refused, naming the PV', async (t) => {
      const one = open([fx.pvs[0]!]);
      t.teardown(one.close);
      const vg = one.vgs[0]!;
      t.match(vg.refused, /missing physical volume pv1 \(/);
      t.match(vg.lvs.find((l) => l.lv === 'data'), { source: null, refused: /uses pv1, a physical volume that is not on this disk/ });
    });
  });

  t.test('a metadata ring that has wrapped, and an older copy beside the newest', async (t) => {
    const fx = buildLvm({ vg: 'churn', pvSizesMiB: [16, 16], metadataKiB: 32, lvs: [{ name: 'root', sizeMiB: 4 }], churnUntilWrapped: true, keepOlder: true });
    const dump = fx.oracle.pvck;
    const src = new FileByteSource(fx.pvs[0]!);
    t.teardown(() => src.close());
    const label = readPvLabel(src);
    t.equal(label.labelSector, Number(dump['label_header.sector']), 'label sector as pvck reports it');
    t.equal(label.pvUuid, dump['pv_header.pv_uuid']);
    t.equal(label.deviceSize, Number(dump['pv_header.device_size']));
    t.same(label.dataAreas, [{ offset: Number(dump['pv_header.disk_locn[0].offset']), size: Number(dump['pv_header.disk_locn[0].size']) }]);
    t.same(label.metadataAreas, [{ offset: Number(dump['pv_header.disk_locn[2].offset']), size: Number(dump['pv_header.disk_locn[2].size']) }]);
    const copy = label.metadata[0]!;
    t.equal(copy.offset, Number(dump['mda_header_1.raw_locn[0].offset']));
    t.equal(copy.size, Number(dump['mda_header_1.raw_locn[0].size']));
    t.ok(copy.offset + copy.size > label.metadataAreas[0]!.size, `the text wraps (${copy.offset}+${copy.size} in a ${label.metadataAreas[0]!.size}-byte area)`);
    t.match(copy.text, /^churn \{/, 'the wrapped text is read whole, its checksum matching');
    const seqno = Number(fx.oracle.vgs[0]!.vg_seqno);
    t.equal(onlyVg(fx.pvs).seqno, seqno, 'seqno as vgs reports it');
    t.match(onlyVg(fx.pvs).lvs[0], { lv: 'root', refused: null });
    t.equal(onlyVg(fx.older).seqno, seqno - 1, 'the older copy has the previous seqno');
    t.equal(onlyVg([fx.older[0]!, fx.pvs[1]!]).seqno, seqno, 'the newest seqno wins (new copy second)');
    t.equal(onlyVg([fx.pvs[0]!, fx.older[1]!]).seqno, seqno, 'the newest seqno wins (new copy first)');
});
});
