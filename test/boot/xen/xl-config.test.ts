import t from 'tap';
import { xlConfig, type XlConfigOptions } from '../../../boot/xen/xl-config.js';
import { checkHostPath, xlString } from '../../../boot/xen/xl-string.js';

/**
 * The xl domain configuration, checked for content line by line and for
 * quoting. No Xen host is available here (see docs/xen.md), so this is the
 * whole of the Xen route's testing: what `xl create` would be given.
 */

const base: XlConfigOptions = {
  name: 'vmspec-debian12',
  firmware: '/usr/lib/xen/boot/XEN_EFI.fd',
  image: { path: '/var/lib/vmspec/debian-12.overlay.qcow2', format: 'qcow2' },
  evidenceDisk: '/var/lib/vmspec/evidence.img',
  seed: '/var/lib/vmspec/seed/seed.img',
};

t.test('the full configuration, line by line', async (t) => {
  const lines = xlConfig({ ...base, memoryMiB: 4096, vcpus: 4, gicVersion: 'v3', acpi: true }).split('\n');
  const settings = lines.filter((l) => l !== '' && !l.startsWith('#'));
  t.same(settings, [
    'name = "vmspec-debian12"',
    'type = "pvh"',
    'kernel = "/usr/lib/xen/boot/XEN_EFI.fd"',
    'memory = 4096',
    'vcpus = 4',
    'gic_version = "v3"',
    'acpi = 1',
    'vuart = "sbsa_uart"',
    'disk = [',
    '    "format=qcow2, vdev=xvda, access=rw, backendtype=qdisk, target=/var/lib/vmspec/debian-12.overlay.qcow2",',
    '    "format=raw, vdev=xvdb, access=rw, target=/var/lib/vmspec/evidence.img",',
    '    "format=raw, vdev=xvdc, access=ro, target=/var/lib/vmspec/seed/seed.img"',
    ']',
    'vif = []',
    'on_poweroff = "destroy"',
    'on_reboot = "destroy"',
    'on_crash = "destroy"',
  ]);
  t.ok(lines.filter((l) => l.startsWith('#')).length >= 3, 'commented');
  t.equal(lines.at(-1), '', 'ends with a newline');
  t.ok(lines.every((l) => !/\s$/.test(l)), 'no trailing blanks');
});

t.test('defaults: 2 GiB, 2 vCPUs, the host GIC, device tree, no seed, a read-only raw image', async (t) => {
  const { seed: _seed, ...noSeed } = base;
  const text = xlConfig({ ...noSeed, image: { path: '/images/debian.raw', format: 'raw', readOnly: true } });
  t.match(text, /^memory = 2048$/m);
  t.match(text, /^vcpus = 2$/m);
  t.match(text, /^gic_version = "default"$/m);
  t.match(text, /^acpi = 0$/m);
  t.match(text, /^ {4}"format=raw, vdev=xvda, access=ro, target=\/images\/debian\.raw",$/m, 'raw: no backend forced, read-only');
  t.notMatch(text, /xvdc/, 'no seed disk');
  t.match(text, /^ {4}"format=raw, vdev=xvdb, access=rw, target=\/var\/lib\/vmspec\/evidence\.img"$/m, 'last disk without a comma');
  t.match(xlConfig({ ...base, gicVersion: 'v2' }), /^gic_version = "v2"$/m);
});

t.test('escaping: backslashes and double quotes are escaped, commas and "=" stay in target=', async (t) => {
  t.equal(xlString('plain', 'x'), '"plain"');
  t.equal(xlString('a"b', 'x'), '"a\\"b"');
  t.equal(xlString('a\\b', 'x'), '"a\\\\b"');
  t.equal(xlString('it\'s', 'x'), '"it\'s"', 'single quotes need nothing inside double quotes');
  t.equal(xlString('\\"', 'x'), '"\\\\\\""');
  const text = xlConfig({ ...base, image: { path: '/vm s/a,b=c:"d"\\e.qcow2', format: 'qcow2' }, firmware: '/fw/"XEN"\\EFI.fd' });
  t.match(text, /^kernel = "\/fw\/\\"XEN\\"\\\\EFI\.fd"$/m);
  const disk = text.split('\n').find((l) => l.includes('vdev=xvda'));
  t.equal(disk, '    "format=qcow2, vdev=xvda, access=rw, backendtype=qdisk, target=/vm s/a,b=c:\\"d\\"\\\\e.qcow2",');
});

t.test('values that would break the syntax are refused, saying why and how', async (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    ['newline in a path', () => xlConfig({ ...base, evidenceDisk: '/x/evi\ndence.img' }), /evidence disk .* contains control character 0x0a at position 6, which an xl config string cannot hold: rename it/],
    ['NUL in firmware', () => xlConfig({ ...base, firmware: '/fw\u0000' }), /firmware .* control character 0x00/],
    ['DEL', () => xlString('a\u007f', 'thing'), /control character 0x7f/],
    ['relative image', () => xlConfig({ ...base, image: { path: 'disk.img', format: 'raw' } }), /image "disk\.img" must be an absolute path \(xl reads a relative disk target as \/dev\/disk\.img\)/],
    ['trailing blank', () => xlConfig({ ...base, seed: '/x/seed.img ' }), /seed .* ends in whitespace/],
    ['empty firmware', () => xlConfig({ ...base, firmware: '' }), /firmware needs a path/],
    ['name with a quote', () => xlConfig({ ...base, name: 'a"b' }), /domain name "a\\"b" must be 1-64 characters/],
    ['name too long', () => xlConfig({ ...base, name: 'x'.repeat(65) }), /domain name/],
    ['name with a leading dash', () => xlConfig({ ...base, name: '-x' }), /starting with a letter or digit/],
    ['memory', () => xlConfig({ ...base, memoryMiB: 64 }), /memory \(MiB\) 64 must be a whole number from 128 to 1048576/],
    ['fractional vcpus', () => xlConfig({ ...base, vcpus: 1.5 }), /vcpus 1\.5 must be a whole number from 1 to 128/],
    ['gic', () => xlConfig({ ...base, gicVersion: 'v4' as 'v3' }), /gic_version "v4" must be v2, v3 or default/],
    ['format', () => xlConfig({ ...base, image: { path: '/x.vmdk', format: 'vmdk' as 'raw' } }), /image format "vmdk" must be raw or qcow2/],
    ['same file twice', () => xlConfig({ ...base, seed: base.evidenceDisk }), /must be different files/],
  ];
  for (const [name, fn, msg] of cases) t.throws(fn, { name: 'UnsupportedError', message: msg }, name);
  t.equal(checkHostPath('/ok/path', 'x'), '/ok/path');
});

t.test('no guest firmware: the image\'s kernel and initrd, booted directly', async (t) => {
  const cfg = xlConfig({ ...base, firmware: '/job/kernel', direct: { ramdisk: '/job/ramdisk', cmdline: 'panic=-1 quiet' }, image: { path: '/dev/vdb', format: 'raw' }, evidenceDisk: '/dev/vdc' });
  const settings = cfg.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  t.same(settings.slice(0, 5), ['name = "vmspec-debian12"', 'type = "pvh"', 'kernel = "/job/kernel"', 'ramdisk = "/job/ramdisk"', 'extra = "panic=-1 quiet"']);
  t.match(cfg, /# No guest firmware: the image's own kernel and initrd, booted directly \(no UEFI\)\./);
  t.notMatch(cfg, /ArmVirtXen/, 'no claim of UEFI');
  t.ok(settings.includes('    "format=raw, vdev=xvda, access=rw, target=/dev/vdb",'), 'dom0 block devices as phy targets, no qdisk');
  t.notOk(xlConfig({ ...base, direct: { cmdline: 'x' } }).includes('ramdisk ='), 'no ramdisk line without one');
  t.match(xlConfig({ ...base, direct: { cmdline: 'a "quoted" \\ arg' } }), /^extra = "a \\"quoted\\" \\\\ arg"$/m, 'the command line is quoted');
  t.throws(() => xlConfig({ ...base, direct: { cmdline: 'a\nb' } }), /kernel command line .* control character 0x0a/);
  t.throws(() => xlConfig({ ...base, direct: { ramdisk: 'initrd.img', cmdline: '' } }), /ramdisk "initrd.img" must be an absolute path/);
  t.notMatch(xlConfig(base), /^(ramdisk|extra) =/m, 'the firmware route has neither');
});
