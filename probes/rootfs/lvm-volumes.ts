import { ParseError } from '../../bytes/errors.js';
import type { ByteSource } from '../../bytes/byte-source.js';
import type { Partition } from '../image/partition-table.js';
import { assembleVolumeGroups, readPhysicalVolume, type LogicalVolume, type PhysicalVolume } from '../volume/lvm.js';

/**
 * The LVM2 layer of the root search: every LVM2 physical volume among the
 * candidate partitions is read, their volume groups assembled once (a VG may
 * span partitions), and each VG's logical volumes offered as candidate
 * volumes under the partition of its first PV. What cannot be assembled is
 * named, with how to judge such an image instead.
 */

/** What one PV partition contributes to the search. */
export interface PvCandidates {
  /** The PV partition's own line in `scanned`. */
  note: string;
  /** The LVs to try as filesystems, in metadata order (refused ones carry `refused`). */
  lvs: LogicalVolume[];
}

/** How to judge what vmspec does not read: the OS assembles it at boot. */
export const BOOT_TO_JUDGE = 'boot the image (vmspec boot) to judge the guest';

export function lvmCandidates(pvPartitions: { partition: Partition; src: ByteSource }[]): Map<number, PvCandidates> {
  const out = new Map<number, PvCandidates>();
  const pvs: PhysicalVolume[] = [];
  for (const { partition, src } of pvPartitions) {
    try {
      pvs.push(readPhysicalVolume(src, `partition ${partition.number}`));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.set(partition.number, { note: `is an LVM2 physical volume that cannot be read: ${e.message}`, lvs: [] });
    }
  }
  let vgs;
  try {
    vgs = assembleVolumeGroups(pvs);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    for (const pv of pvs) out.set(numberOf(pv), { note: `is an LVM2 physical volume whose metadata cannot be read: ${e.message}`, lvs: [] });
    return out;
  }
  for (const pv of pvs) {
    const own = vgs.filter((vg) => vg.pvs.some((p) => p.name === pv.name));
    const names = own.map((vg) => vg.name).join(', ');
    out.set(numberOf(pv), { note: own.length ? `is an LVM2 physical volume of volume group ${names}` : 'is an LVM2 physical volume in no volume group', lvs: [] });
  }
  for (const vg of vgs) {
    const first = vg.pvs.find((p) => p.name !== null)?.name;
    const entry = [...out.entries()].find(([n]) => `partition ${n}` === first)?.[1];
    if (!entry) continue;
    if (vg.refused) entry.note += ` (${vg.refused})`;
    entry.lvs.push(...vg.lvs);
  }
  return out;
}

function numberOf(pv: PhysicalVolume): number {
  return Number(pv.name.slice('partition '.length));
}

/** GRUB's name for an LV's device: "lvm/VG-LV", dashes doubled as in device-mapper names. */
export function grubLvmName(lv: LogicalVolume): string {
  return `lvm/${lv.mapperName.slice('/dev/mapper/'.length)}`;
}
