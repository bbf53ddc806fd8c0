/**
 * Names of block devices as fstab's fs_spec and the kernel's `root=` write
 * them, and which volume of the image each one names. Tags (fstab(5),
 * libblkid): UUID= and LABEL= name a filesystem, PARTUUID= and PARTLABEL=
 * a GPT partition (PARTUUID= on MBR is "SSSSSSSS-PP": disk signature and
 * partition number), and the udev links /dev/disk/by-{uuid,label,partuuid,
 * partlabel}/X the same. Kernel names: /dev/vdaN, /dev/sdaN, /dev/xvdaN,
 * /dev/nvme0n1pN, /dev/mmcblk0pN are partition N of the first disk (the
 * image is that disk); /dev/mapper/VG-LV and /dev/VG/LV an LVM2 logical
 * volume.
 */

export type DeviceRef =
  | { by: 'uuid' | 'label' | 'partuuid' | 'partlabel'; value: string }
  | { by: 'partition'; number: number }
  | { by: 'disk' }
  | { by: 'mapper'; name: string }
  | { by: 'vg-lv'; vg: string; lv: string }
  /** A name vmspec cannot tie to this image (another disk, /dev/dm-N, a network root…): `why` says so. */
  | { by: 'unknown'; why: string };

const TAGS: Record<string, 'uuid' | 'label' | 'partuuid' | 'partlabel'> = { UUID: 'uuid', LABEL: 'label', PARTUUID: 'partuuid', PARTLABEL: 'partlabel' };
const BY_LINK: Record<string, 'uuid' | 'label' | 'partuuid' | 'partlabel'> = { 'by-uuid': 'uuid', 'by-label': 'label', 'by-partuuid': 'partuuid', 'by-partlabel': 'partlabel' };

/** udev's \xHH escapes in /dev/disk/by-label names (blkid_encode_string). */
function udevUnescape(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function parseDeviceSpec(spec: string): DeviceRef {
  const tag = /^([A-Z]+)=(.*)$/.exec(spec);
  if (tag) {
    const by = TAGS[tag[1]!];
    let value = tag[2]!;
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    if (by && value !== '') return { by, value };
    return { by: 'unknown', why: `"${spec}" is not a UUID=, LABEL=, PARTUUID= or PARTLABEL= tag` };
  }
  const link = /^\/dev\/disk\/(by-[a-z]+)\/([^/]+)$/.exec(spec);
  if (link) {
    const by = BY_LINK[link[1]!];
    if (by) return { by, value: udevUnescape(link[2]!) };
    return { by: 'unknown', why: `${spec}: /dev/disk/${link[1]} links depend on the machine` };
  }
  const mapper = /^\/dev\/mapper\/([^/]+)$/.exec(spec);
  if (mapper) return { by: 'mapper', name: mapper[1]! };
  const kernel = /^\/dev\/(?:(?:[sv]|xv|h)d([a-z]+)(\d*)|(?:nvme(\d+)n1|mmcblk(\d+))(?:p(\d+))?)$/.exec(spec);
  if (kernel) {
    const [, letters, sdNum, nvme, mmc, pNum] = kernel;
    const first = letters !== undefined ? letters === 'a' : (nvme ?? mmc) === '0';
    if (!first) return { by: 'unknown', why: `${spec} is a second disk, not this image` };
    const n = letters !== undefined ? sdNum : pNum;
    return n ? { by: 'partition', number: Number(n) } : { by: 'disk' };
  }
  const vgLv = /^\/dev\/([^/]+)\/([^/]+)$/.exec(spec);
  if (vgLv && !['disk', 'mapper', 'md', 'block', 'char', 'pts', 'shm', 'loop'].includes(vgLv[1]!)) return { by: 'vg-lv', vg: vgLv[1]!, lv: vgLv[2]! };
  return { by: 'unknown', why: `${spec} does not name a device of this image vmspec can find (not UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/disk/by-*, /dev/vdaN, /dev/mapper or /dev/VG/LV)` };
}

export function describeRef(ref: DeviceRef): string {
  switch (ref.by) {
    case 'uuid': case 'label': case 'partuuid': case 'partlabel': return `${ref.by.toUpperCase()}=${ref.value}`;
    case 'partition': return `partition ${ref.number}`;
    case 'disk': return 'the whole disk';
    case 'mapper': return `/dev/mapper/${ref.name}`;
    case 'vg-lv': return `/dev/${ref.vg}/${ref.lv}`;
    case 'unknown': return ref.why;
  }
}
