/**
 * The text formats that name the root and the mounts: fstab(5) lines as
 * anaconda (Fedora, RHEL), Ubuntu's cloud images and openSUSE write them,
 * device names (tags, udev links, kernel names, device-mapper names) and
 * root=/rootflags= on kernel command lines; malformed lines reported.
 */
import t from 'tap';
import { describeRef, parseDeviceSpec } from '../../../probes/rootfs/device-spec.js';
import { mountOption, parseFstab } from '../../../probes/rootfs/fstab.js';
import { rootArgs } from '../../../probes/rootfs/kernel-cmdline.js';
import { normaliseMountPoint } from '../../../probes/rootfs/mounted-view.js';
import { mapperToVgLv } from '../../../probes/rootfs/os-view.js';

t.test('fstab lines as distributions write them', async (t) => {
  const f = parseFstab([
    '#',
    '# /etc/fstab',
    'UUID=3c8e1f52-7a4b-4d2e-9f61-0b5a7c2d8e41 /                       btrfs   subvol=root,compress=zstd:1 0 0',
    'LABEL=cloudimg-rootfs\t/\text4\tdiscard,errors=remount-ro\t0 1',
    'PARTUUID=2f0bf1a9-01 /boot/efi vfat umask=0077',
    '/dev/mapper/rhel-root   /                       xfs     defaults        0 0',
    '/dev/disk/by-label/My\\040Data /srv/my\\040data ext4',
    'UUID=abc /.snapshots btrfs subvol=/@/.snapshots,subvolid=267 0 0',
    '/dev/vdb1',
    '   ',
  ].join('\n'));
  t.same(f.entries.map((e) => [e.spec, e.file, e.vfstype, e.options, e.line]), [
    ['UUID=3c8e1f52-7a4b-4d2e-9f61-0b5a7c2d8e41', '/', 'btrfs', ['subvol=root', 'compress=zstd:1'], 3],
    ['LABEL=cloudimg-rootfs', '/', 'ext4', ['discard', 'errors=remount-ro'], 4],
    ['PARTUUID=2f0bf1a9-01', '/boot/efi', 'vfat', ['umask=0077'], 5],
    ['/dev/mapper/rhel-root', '/', 'xfs', ['defaults'], 6],
    ['/dev/disk/by-label/My Data', '/srv/my data', 'ext4', ['defaults'], 7],
    ['UUID=abc', '/.snapshots', 'btrfs', ['subvol=/@/.snapshots', 'subvolid=267'], 8],
  ]);
  t.same(f.problems, ['line 9: "/dev/vdb1" has 1 field; a mount needs at least fs_spec and fs_file']);
  t.equal(mountOption(f.entries[5]!.options, 'subvol'), '/@/.snapshots');
  t.equal(mountOption(f.entries[5]!.options, 'subvolid'), '267');
  t.equal(mountOption(f.entries[0]!.options, 'subvolid'), null);
  t.same(parseFstab('').entries, []);
  t.same(parseFstab('\0\0\0garbage').entries, [], 'one binary field is no mount');
});

t.test('device names: tags, udev links, kernel names, device-mapper and VG/LV', async (t) => {
  t.same(parseDeviceSpec('UUID=3c8e1f52-7a4b-4d2e-9f61-0b5a7c2d8e41'), { by: 'uuid', value: '3c8e1f52-7a4b-4d2e-9f61-0b5a7c2d8e41' });
  t.same(parseDeviceSpec('LABEL="cloudimg-rootfs"'), { by: 'label', value: 'cloudimg-rootfs' });
  t.same(parseDeviceSpec('PARTUUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4'), { by: 'partuuid', value: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' });
  t.same(parseDeviceSpec('PARTLABEL=root'), { by: 'partlabel', value: 'root' });
  t.same(parseDeviceSpec('/dev/disk/by-uuid/abcd-1234'), { by: 'uuid', value: 'abcd-1234' });
  t.same(parseDeviceSpec('/dev/disk/by-label/My\\x20Data'), { by: 'label', value: 'My Data' });
  t.same(parseDeviceSpec('/dev/disk/by-partlabel/boot'), { by: 'partlabel', value: 'boot' });
  t.same(parseDeviceSpec('/dev/vda2'), { by: 'partition', number: 2 });
  t.same(parseDeviceSpec('/dev/sda15'), { by: 'partition', number: 15 });
  t.same(parseDeviceSpec('/dev/xvda1'), { by: 'partition', number: 1 });
  t.same(parseDeviceSpec('/dev/nvme0n1p3'), { by: 'partition', number: 3 });
  t.same(parseDeviceSpec('/dev/mmcblk0p2'), { by: 'partition', number: 2 });
  t.same(parseDeviceSpec('/dev/vda'), { by: 'disk' });
  t.same(parseDeviceSpec('/dev/mapper/rhel-root'), { by: 'mapper', name: 'rhel-root' });
  t.same(parseDeviceSpec('/dev/rhel/root'), { by: 'vg-lv', vg: 'rhel', lv: 'root' });
  t.match(parseDeviceSpec('/dev/vdb1'), { by: 'unknown', why: '/dev/vdb1 is a second disk, not this image' });
  t.match(parseDeviceSpec('/dev/nvme1n1p1'), { by: 'unknown', why: /second disk/ });
  t.match(parseDeviceSpec('/dev/disk/by-path/pci-0000:00:04.0-part1'), { by: 'unknown', why: /depend on the machine/ });
  t.match(parseDeviceSpec('ZFS=rpool/ROOT'), { by: 'unknown', why: /not a UUID=, LABEL=, PARTUUID= or PARTLABEL= tag/ });
  t.match(parseDeviceSpec('UUID='), { by: 'unknown' });
  t.match(parseDeviceSpec('live:CDLABEL=x'), { by: 'unknown', why: /does not name a device/ });
  t.match(parseDeviceSpec('/dev/md0'), { by: 'unknown' });
  t.equal(describeRef(parseDeviceSpec('LABEL=root')), 'LABEL=root');
});

t.test('device-mapper names back to VG/LV (a doubled dash is a dash in a name)', async (t) => {
  t.equal(mapperToVgLv('rhel-root'), 'rhel/root');
  t.equal(mapperToVgLv('vmspec--ext4-root'), 'vmspec-ext4/root');
  t.equal(mapperToVgLv('vg-lv--with--dashes'), 'vg/lv-with-dashes');
  t.equal(mapperToVgLv('nodash'), null);
  t.equal(mapperToVgLv('-root'), null);
  t.equal(mapperToVgLv('vg-'), null);
});

t.test('root=, rootflags=, rootfstype= on a kernel command line (the last one wins)', async (t) => {
  t.same(rootArgs(['BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.8', 'root=UUID=x', 'ro', 'rootflags=subvol=root', 'console=ttyAMA0']), { root: 'UUID=x', rootflags: ['subvol=root'], rootfstype: null });
  t.same(rootArgs(['root=/dev/vda1', 'root=/dev/mapper/rhel-root', 'rootfstype=xfs', 'rootflags=subvolid=256,compress=zstd']), { root: '/dev/mapper/rhel-root', rootflags: ['subvolid=256', 'compress=zstd'], rootfstype: 'xfs' });
  t.same(rootArgs(['quiet']), { root: null, rootflags: [], rootfstype: null });
});

t.test('mount points: absolute and canonical, never climbing', async (t) => {
  t.equal(normaliseMountPoint('/boot/'), '/boot');
  t.equal(normaliseMountPoint('/boot/./efi'), '/boot/efi');
  t.equal(normaliseMountPoint('/'), '/');
  t.equal(normaliseMountPoint('boot'), null);
  t.equal(normaliseMountPoint('/boot/../etc'), null);
});
