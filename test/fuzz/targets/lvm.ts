import { readFileSync } from 'node:fs';
import { isReadError } from '../../../bytes/errors.js';
import { detectFilesystem } from '../../../probes/fs/detect.js';
import { openExt4 } from '../../../probes/fs/ext4.js';
import { FsError, walk } from '../../../probes/fs/filesystem.js';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { calcCrc } from '../../../probes/volume/lvm-label.js';
import { assembleVolumeGroups, readPhysicalVolume } from '../../../probes/volume/lvm.js';
import { buildExt4 } from '../../fixtures/ext4-builder.js';
import { buildLvm } from '../../fixtures/lvm-builder.js';
import type { Field, FuzzTarget, Seed } from '../harness.js';

/**
 * LVM2 physical volumes made by lvm2's tools: the label, pv_header, mda_header,
 * raw_locn and the metadata text (config syntax, VG/PV/LV sections, segments),
 * then the LVs read through their segment map and opened as ext4. The fixup
 * re-seals label_header.crc_xl, the text checksum and mda_header.checksum_xl
 * so mutations reach the text parser and the segment map.
 */

const le32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
const le64 = (b: Uint8Array, o: number): number => le32(b, o) + le32(b, o + 4) * 0x100000000;
const put32 = (b: Uint8Array, o: number, v: number): void => {
  for (let i = 0; i < 4; i++) b[o + i] = (v >>> (8 * i)) & 0xff;
};

/** label.h / layout.h offsets of the seed's structures (they do not move under mutation of other bytes). */
function layout(b: Uint8Array): { label: number; mdas: { at: number; size: number }[] } | null {
  for (let s = 0; s < 4; s++) {
    const at = s * 512;
    if (at + 512 > b.length || String.fromCharCode(...b.subarray(at, at + 8)) !== 'LABELONE') continue;
    const o = at + Math.min(le32(b, at + 20), 400);
    const mdas: { at: number; size: number }[] = [];
    let p = o + 40;
    let lists = 0;
    while (p + 16 <= at + 512 && lists < 2) {
      const off = le64(b, p);
      if (off === 0) lists++;
      else if (lists === 1) mdas.push({ at: off, size: le64(b, p + 8) });
      p += 16;
    }
    return { label: at, mdas };
  }
  return null;
}

function seal(b: Uint8Array): void {
  const l = layout(b);
  if (!l) return;
  for (const m of l.mdas) {
    if (!Number.isSafeInteger(m.at) || m.at + 512 > b.length || m.size < 1024 || m.at + m.size > b.length) continue;
    const off = le64(b, m.at + 40);
    const len = le64(b, m.at + 48);
    if (off >= 512 && off < m.size && len > 0 && len <= m.size - 512) {
      const first = Math.min(len, m.size - off);
      const text = new Uint8Array(len);
      text.set(b.subarray(m.at + off, m.at + off + first), 0);
      if (first < len) text.set(b.subarray(m.at + 512, m.at + 512 + len - first), first);
      put32(b, m.at + 56, calcCrc(text));
    }
    put32(b, m.at, calcCrc(b.subarray(m.at + 4, m.at + 512)));
  }
  put32(b, l.label + 16, calcCrc(b.subarray(l.label + 20, l.label + 512)));
}

function pvSeed(name: string, file: string, keep: number): Seed {
  const bytes = new Uint8Array(readFileSync(file).subarray(0, keep));
  const l = layout(bytes)!;
  const at = l.label;
  const fields: Field[] = [
    { at: at + 8, width: 8, endian: 'le', name: 'label_header.sector_xl' },
    { at: at + 20, width: 4, endian: 'le', name: 'label_header.offset_xl' },
    { at: at + 72, width: 8, endian: 'le', name: 'pv_header.device_size_xl' },
  ];
  for (let d = 0; d < 4; d++) {
    fields.push({ at: at + 80 + 16 * d, width: 8, endian: 'le', name: `disk_locn[${d}].offset` }, { at: at + 88 + 16 * d, width: 8, endian: 'le', name: `disk_locn[${d}].size` });
  }
  const hot: [number, number][] = [[at, 512]];
  for (const m of l.mdas) {
    fields.push(
      { at: m.at + 24, width: 8, endian: 'le', name: 'mda_header.start' }, { at: m.at + 32, width: 8, endian: 'le', name: 'mda_header.size' },
      { at: m.at + 40, width: 8, endian: 'le', name: 'raw_locn.offset' }, { at: m.at + 48, width: 8, endian: 'le', name: 'raw_locn.size' },
      { at: m.at + 60, width: 4, endian: 'le', name: 'raw_locn.flags' },
    );
    hot.push([m.at, Math.min(m.size, keep - m.at)]);
  }
  return { name, bytes, fields, hot };
}

function seeds(): Seed[] {
  const ext = buildExt4({ name: 'fuzz-lvm-root', sizeMiB: 2, blockSize: 1024, tree: { 'etc/os-release': { file: 'ID=rhel\n' }, 'usr/bin/a': { random: 5000, seed: 2 } } });
  const linear = buildLvm({ vg: 'fuzz', pvSizesMiB: [4], extentMiB: 1, lvs: [{ name: 'root', sizeMiB: 2, content: ext.image }] });
  const wrapped = buildLvm({ vg: 'churn', pvSizesMiB: [16, 16], metadataKiB: 32, lvs: [{ name: 'root', sizeMiB: 4 }], churnUntilWrapped: true, keepOlder: true });
  // Up to pe_start plus the LV's extents: what the reader touches.
  return [pvSeed('linear-ext4', linear.pvs[0]!, 3 << 20), pvSeed('wrapped-ring', wrapped.pvs[0]!, 128 << 10)];
}

/** What the rootfs search does: the PV, its VGs, each LV's filesystem by magic, an ext4 one opened and walked. */
function exercise(bytes: Uint8Array): number {
  const pv = readPhysicalVolume(new BufferByteSource(bytes, 'fuzz-pv.img'), 'fuzz-pv');
  let n = 0;
  for (const vg of assembleVolumeGroups([pv])) {
    for (const lv of vg.lvs) {
      if (!lv.source) continue;
      const kind = detectFilesystem(lv.source);
      if (kind !== 'ext4') continue;
      try {
        const fs = openExt4(lv.source);
        for (const e of walk(fs, '/', { maxEntries: 200, maxDepth: 16 })) {
          n++;
          if (e.type === 'file') fs.readFile(e.path, { maxBytes: 16 * 1024, truncate: true });
        }
      } catch (err) {
        if (!isReadError(err) && !(err instanceof FsError)) throw err;
      }
    }
  }
  return n;
}

export const lvmTarget: FuzzTarget = {
  name: 'lvm',
  runs: 1500,
  seeds,
  fixup: seal,
  alsoTyped: (e) => e instanceof FsError,
  run: exercise,
};
