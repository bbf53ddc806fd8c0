import t from 'tap';
import { dmesgLines, efiRevision, parseDmesg } from '../../../probes/evidence/dmesg.js';
import { hexAddress, parseConsoles, parseCpuList, parseInterrupts, parseModules, parseTtyDriver } from '../../../probes/evidence/procfs.js';
import { dmesgText, RELEASE, type BundleRecipe } from '../../fixtures/evidence-bundles.js';

/**
 * The text parsers under the evidence probes, on text in the exact formats
 * a real Debian 6.1 arm64 guest under QEMU/AAVMF printed (shared/reference
 * notes, a real reference-image boot) and on the kernel's other formats.
 */

t.test('dmesg: ACPI guest', async (t) => {
  const r: BundleRecipe = { mode: 'acpi', gic: 2 };
  const d = parseDmesg(dmesgText(r, 'BOOT_IMAGE=/vmlinuz panic=-1 quiet'));
  t.equal(d.coverage, 'complete');
  t.same(d.efi, { version: '2.70', major: 2, minor: 70, vendor: 'EDK II', configTables: { 'SMBIOS 3.0': '0x7fed0000', MEMATTR: '0x7e723018', 'ACPI 2.0': '0x7c430018', MEMRESERVE: '0x7c3f3d98' } });
  t.same(d.psci, { version: '1.1', major: 1, minor: 1, conduitFrom: 'ACPI', functionIds: '0.2' });
  t.same(d.archTimer, { frequency: '62.50MHz', mode: 'virt' });
  t.equal(d.bootEl, 'EL1');
  t.equal(d.cpusBroughtUp, 2);
  t.same(d.gic, { v3Lines: 0, v2Lines: 2, its: false, v2m: true });
  t.same(d.uarts, [{ device: 'ARMH0011:00', tty: 'ttyAMA0', mmio: '0x9000000', irq: 12, type: 'SBSA' }]);
  t.same(d.consolesEnabled, ['ttyAMA0']);
  t.equal(d.spcrConsole, 'pl011,mmio,0x9000000,9600');
  t.same(d.acpiRoot, { rsdpRevision: 2, xsdt: true, rsdt: false });
  t.same(d.rtcRegistered, [{ device: 'rtc-efi rtc-efi.0', rtc: 'rtc0' }]);
  t.same(d.ecam, ['0x4010000000-0x401fffffff']);
  t.equal(d.kernelRelease, RELEASE);
});

t.test('dmesg: DT guest with GICv3, and a wrapped ring buffer', async (t) => {
  const d = parseDmesg(dmesgText({ mode: 'dt', gic: 3 }, 'x'));
  t.equal(d.psci?.conduitFrom, 'DT');
  t.ok(d.gic.v3Lines > 3 && d.gic.its && !d.gic.v2m);
  t.same(d.uarts, [{ device: '9000000.pl011', tty: 'ttyAMA0', mmio: '0x9000000', irq: 13, type: 'PL011 rev1' }]);
  t.same(d.consolesEnabled, ['tty0', 'ttyAMA0']);
  t.same(d.efi?.configTables, { 'SMBIOS 3.0': '0x7fed0000', MEMATTR: '0x7e723018', MEMRESERVE: '0x7c3f3d98' }, 'no ACPI 2.0 table without ACPI');
  const cut = parseDmesg(dmesgText({ mode: 'acpi', gic: 2, truncatedDmesg: true }, 'x'), 'Linux version 6.1.0-50-arm64 (x)');
  t.match(cut.coverage, /^truncated/);
  t.equal(cut.efi, null, 'early facts unknown, not "absent"');
  t.equal(cut.psci, null);
  t.equal(cut.kernelRelease, '6.1.0-50-arm64', 'release from /proc/version');
  const none = parseDmesg(undefined);
  t.equal(none.present, false);
  t.match(none.coverage, /^absent/);
});

t.test('dmesg: prefixes, raw levels, other kernels\' wording', async (t) => {
  t.same(dmesgLines('<6>[    0.000000] psci: PSCIv0.2 detected in firmware.\r\nplain line\n'), ['psci: PSCIv0.2 detected in firmware.', 'plain line']);
  const d = parseDmesg([
    'Booting Linux on physical CPU 0x0',
    'psci: probing for conduit method from DT.',
    'psci: Using PSCI v0.1 Function IDs from DT',
    'arch_timer: cp15 and mmio timer(s) running at 100.00MHz (phys).',
    'CPU: CPUs started in inconsistent modes',
    'printk: legacy console [hvc0] enabled',
    'console [ttyS0] enabled',
    'ACPI: RSDT 0x00000000BFFE1A62 000034 (v01 BOCHS  BXPC     00000001 BXPC 00000001)',
    'ARMH0011:00: ttyAMA0 at MMIO 0x3f201000 (irq = 14, base_baud = 0) is a SBSA',
    '00:05: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A',
    'smp: Brought up 1 node, 1 CPU',
  ].join('\n'));
  t.same(d.psci, { version: '0.1', major: 0, minor: 1, conduitFrom: 'DT', functionIds: '0.1' }, 'PSCI 0.1: legacy function IDs, no PSCI_VERSION');
  t.same(d.archTimer, { frequency: '100.00MHz', mode: 'phys' });
  t.equal(d.bootEl, 'mixed');
  t.same(d.consolesEnabled, ['hvc0', 'ttyS0']);
  t.same(d.acpiRoot, { rsdpRevision: null, xsdt: false, rsdt: true });
  t.same(d.uarts.map((u) => [u.tty, u.mmio, u.type]), [['ttyAMA0', '0x3f201000', 'SBSA'], ['ttyS0', null, '16550A']]);
  t.equal(d.cpusBroughtUp, 1);
});

t.test('EFI revision: the kernel printed it two ways', async (t) => {
  // Before 6.2: "v%u.%.02u" of the raw minor; since 6.2: tenths, plus a third part for x.y.z.
  t.same(efiRevision('2.70', '6.1.0-50-arm64'), { major: 2, minor: 70 });
  t.same(efiRevision('2.7', '6.6.0'), { major: 2, minor: 70 });
  t.same(efiRevision('2.7', null), { major: 2, minor: 70 }, 'one digit is always the new format');
  t.same(efiRevision('2.10', '6.8.0'), { major: 2, minor: 100 }, 'UEFI 2.10 on a new kernel');
  t.same(efiRevision('2.10', '5.10.0'), { major: 2, minor: 10 }, 'UEFI 2.1 on an old kernel');
  t.same(efiRevision('2.3.1', '6.8.0'), { major: 2, minor: 31 });
  t.equal(efiRevision('two', null), null);
  const d = parseDmesg('Linux version 6.8.0-1-arm64 (x)\nefi: EFI v2.10 by EDK II\n');
  t.equal(d.efi?.version, '2.100');
});

t.test('/proc/consoles', async (t) => {
  const c = parseConsoles('ttyAMA0              -W- (EC p a)  204:64\ntty0                 -WU (E  p  )    4:1\nnetcon0              -W- (E     )\n');
  t.same(c.map((x) => [x.name, x.driver, x.flags, x.enabled, x.preferred, x.device]), [
    ['ttyAMA0', 'ttyAMA', 'ECpa', true, true, '204:64'],
    ['tty0', 'tty', 'Ep', true, false, '4:1'],
    ['netcon0', 'netcon', 'E', true, false, null],
  ]);
  t.same(parseConsoles('garbage\n\n'), []);
});

t.test('/proc/interrupts: GICv2 and GICv3 drivers, MSI and IPI rows', async (t) => {
  const v2 = parseInterrupts(`           CPU0       CPU1       
 10:       1032       1033 GIC-0  27 Level     arch_timer
 12:          0          0 GIC-0  33 Level     uart-pl011
 51:          0          0       MSI 16384 Edge      virtio0-config
IPI0:        81         62       Rescheduling interrupts
Err:          0
`);
  t.equal(v2.cpus, 2);
  t.same(v2.rows[0], { irq: '10', count: 2065, chip: 'GIC-0', hwirq: 27, trigger: 'Level', actions: 'arch_timer' });
  t.same(v2.rows[2], { irq: '51', count: 0, chip: 'MSI', hwirq: 16384, trigger: 'Edge', actions: 'virtio0-config' });
  t.same(v2.rows[3], { irq: 'IPI0', count: 143, chip: null, hwirq: null, trigger: null, actions: 'Rescheduling interrupts' });
  t.same(v2.rows[4], { irq: 'Err', count: 0, chip: null, hwirq: null, trigger: null, actions: '' });
  const v3 = parseInterrupts(`           CPU0       CPU1       
 11:       1270       1467     GICv3  27 Level     arch_timer
 18:          0          0   ITS-MSI 16384 Edge      virtio0-config
`);
  t.same(v3.rows.map((r) => [r.chip, r.hwirq, r.count]), [['GICv3', 27, 2737], ['ITS-MSI', 16384, 0]]);
  const spaced = parseInterrupts('           CPU0\n 20:          5  GICv2m-MSI 524288 Edge      aerdrv, PCIe PME\n');
  t.same(spaced.rows[0], { irq: '20', count: 5, chip: 'GICv2m-MSI', hwirq: 524288, trigger: 'Edge', actions: 'aerdrv, PCIe PME' });
});

t.test('CPU lists, tty driver info, modules, addresses', async (t) => {
  t.same(parseCpuList('0-1\n'), [0, 1]);
  t.same(parseCpuList('0,2-3,7'), [0, 2, 3, 7]);
  t.same(parseCpuList('\n'), []);
  t.equal(parseCpuList('1-0'), null);
  t.equal(parseCpuList('a'), null);
  t.equal(parseCpuList(undefined), null);
  t.same(parseTtyDriver('serinfo:1.0 driver revision:\n0: uart:SBSA mmio:0x09000000 irq:12 tx:416 rx:0 RTS|DTR\n1: uart:PL011 rev1 mmio:0x09040000 irq:14 tx:0 rx:0\n'), [
    { line: 0, uart: 'SBSA', mmio: '0x9000000', irq: 12 },
    { line: 1, uart: 'PL011 rev1', mmio: '0x9040000', irq: 14 },
  ]);
  t.same(parseModules('virtio_pci 28672 0 - Live 0xffff800000d0a000\nvirtio_pci_modern_dev 16384 1 virtio_pci, Live 0x0\n'), ['virtio_pci', 'virtio_pci_modern_dev']);
  t.equal(hexAddress('0x0000000009000000'), '0x9000000');
  t.equal(hexAddress('nope'), null);
  t.equal(hexAddress(null), null);
});
