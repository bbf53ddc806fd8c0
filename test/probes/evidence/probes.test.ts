import t from 'tap';
import { Ajv } from 'ajv';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError } from '../../../bytes/errors.js';
import { EvidenceReader } from '../../../probes/evidence/read.js';
import { PROBES } from '../../../probes/registry.js';
import { DirectorySysroot } from '../../../probes/sysroot/directory.js';
import { TarSysroot } from '../../../probes/sysroot/tar.js';
import type { Sysroot } from '../../../probes/sysroot/types.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { copyBundle, COLLECTED_AT, evidenceBundle, RECIPES, type BundleRecipe } from '../../fixtures/evidence-bundles.js';

/**
 * Every evidence probe on every fixture bundle (made by the real collector
 * from real QEMU tables and device trees): facts valid against the probe's
 * own schema, the same from the directory and the tar, and the facts each
 * mutation is about.
 */

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const evidenceProbes = PROBES.filter((p) => p.input === 'evidence');
const work = mkdtempSync(join(tmpdir(), 'vmspec-evidence-probes-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
type Obj = { [k: string]: unknown };

async function all(root: Sysroot): Promise<Record<string, Facts>> {
  const memo = new Memo();
  const out: Record<string, Facts> = {};
  for (const p of evidenceProbes) {
    const params: Facts = p.name === 'evidence.rtc' ? { toleranceSeconds: 300 } : {};
    out[p.name.replace('evidence.', '')] = await p.run({ evidence: root, memo }, params);
  }
  return out;
}

const cache = new Map<string, Promise<Record<string, Facts>>>();
function factsOf(name: keyof typeof RECIPES): Promise<Record<string, Facts>> {
  let f = cache.get(name);
  if (!f) {
    f = all(new DirectorySysroot(evidenceBundle(name, RECIPES[name] as BundleRecipe).dir));
    cache.set(name, f);
  }
  return f;
}

t.test('twelve evidence probes are registered, each with schemas', async (t) => {
  t.same(evidenceProbes.map((p) => p.name).sort(), [
    'evidence.acpi', 'evidence.bus', 'evidence.console', 'evidence.cpus', 'evidence.description', 'evidence.devicetree',
    'evidence.efivars', 'evidence.gic', 'evidence.kernel', 'evidence.rtc', 'evidence.timer', 'evidence.uefi',
  ]);
});

t.test('facts match each probe\'s schema on every bundle, directory and tar alike', async (t) => {
  for (const name of Object.keys(RECIPES) as (keyof typeof RECIPES)[]) {
    const b = evidenceBundle(name, RECIPES[name] as BundleRecipe);
    const fromDir = await factsOf(name);
    const tar = new TarSysroot(b.tar);
    const fromTar = await all(tar);
    tar.close();
    for (const p of evidenceProbes) {
      const key = p.name.replace('evidence.', '');
      const validate = ajv.compile(p.facts);
      t.ok(validate(fromDir[key]), `${name}: ${p.name} facts are schema-valid ${JSON.stringify(validate.errors ?? [])}`);
      t.same(fromTar[key], fromDir[key], `${name}: ${p.name} reads the tar as the directory`);
      t.same((fromDir[key] as Obj).unreadable, [], `${name}: ${p.name}: nothing unreadable`);
    }
  }
});

t.test('uefi: configuration tables as each boot mode shows them', async (t) => {
  const acpi = (await factsOf('acpiGicv2')).uefi!;
  t.match(acpi, {
    present: true, fwPlatformSize: 64, firmware: { version: '2.70', systemTableRevision: (2 << 16) | 70, vendor: 'EDK II' }, runtimeServices: true,
    systab: { ACPI20: '0x7c430018', SMBIOS3: '0x7fed0000' }, efiStub: true, cmdlineDtb: false,
    configTables: { acpi20: 'present', acpi20Address: '0x7c430018', deviceTree: 'absent' },
    hardwareDescription: 'ACPI', hardwareDescriptionViaConfigTable: /^ACPI 2\.0 table/,
  });
  t.match((acpi.configTables as Obj).deviceTreeEvidence, /only \/chosen/);
  const dt = (await factsOf('dtGicv3')).uefi!;
  t.match(dt, { configTables: { acpi20: 'absent', acpi20Address: null, deviceTree: 'present' }, hardwareDescription: 'device tree', hardwareDescriptionViaConfigTable: /^device-tree table/ });
  const cut = (await factsOf('configGz')).uefi!;
  t.match(cut, { firmware: { version: null, systemTableRevision: null }, configTables: { acpi20: 'present' } }, 'systab still decides ACPI when the log lost its head');
});

t.test('efivars: listing, attributes, and both persistence phases', async (t) => {
  const w = (await factsOf('acpiGicv2')).efivars!;
  t.match(w, { available: true, efivarfs: 'not-mounted-by-request', count: 31, truncated: false });
  t.same(w.boot, { bootOrder: ['Boot0000', 'Boot0001', 'Boot0002', 'Boot0003'], bootCurrent: 'Boot0001', secureBoot: 0, setupMode: 1 });
  const vars = w.variables as Obj[];
  t.match(vars.find((v) => v.name === 'SecureBoot'), { guid: '8be4df61-93ca-11d2-aa0d-00e098032b8c', attributes: 6, attributeNames: ['BOOTSERVICE_ACCESS', 'RUNTIME_ACCESS'], nonVolatile: false, runtimeAccess: true, dataBytes: 1 });
  t.match(vars.find((v) => v.name === 'BootOrder'), { attributes: 7, nonVolatile: true, dataBytes: 8 });
  t.same(w.persistence, {
    phase: 'write', nonce: 'N1234', variable: 'VmspecNonceN1234-d960bf04-3984-4c09-8f49-6e746736ed9f', result: 'written', reason: null,
    inEvidence: true, content: 'N1234', contentMatchesNonce: true, attributes: 7, nonVolatile: true,
  }, 'write phase: the nonce recorded and the new variable in the listing');
  const present = (await factsOf('checkPresent')).efivars!;
  t.match(present.persistence, { phase: 'check', result: 'present', inEvidence: true, content: 'N1234', contentMatchesNonce: true, nonVolatile: true });
  const absent = (await factsOf('checkAbsent')).efivars!;
  t.same(absent.persistence, {
    phase: 'check', nonce: 'N1234', variable: 'VmspecNonceN1234-d960bf04-3984-4c09-8f49-6e746736ed9f', result: 'absent', reason: null,
    inEvidence: false, content: null, contentMatchesNonce: false, attributes: null, nonVolatile: null,
  }, 'check phase without the variable: absent, and the listing (evidence) has no such variable');
  t.notOk((absent.variables as Obj[]).some((v) => String(v.name).startsWith('VmspecNonce')), 'and the check phase did not create it');
  t.equal((await factsOf('configGz')).efivars!.persistence && ((await factsOf('configGz')).efivars!.persistence as Obj).phase, null, 'no test run: phase null');
});

t.test('rtc: rtc-efi against the collection clock; pl031 instead', async (t) => {
  const r = (await factsOf('acpiGicv2')).rtc!;
  t.same(r.efi, { present: true, rtc: 'rtc0', sinceEpoch: COLLECTED_AT + 1, readable: true, plausible: true, driftSeconds: 1, withinTolerance: true });
  t.same(r.reference, { source: 'collection clock (manifest)', from: COLLECTED_AT, to: COLLECTED_AT });
  t.match(r.rtc0, { name: 'rtc-efi rtc-efi.0', driver: 'rtc-efi', date: '2026-11-27', time: '05:22:36', hctosys: true });
  const p = (await factsOf('pl031')).rtc!;
  t.match(p, { rtc0: { driver: 'rtc-pl031', name: 'rtc-pl031 9010000.pl031' }, efi: { present: false, rtc: null, readable: false, withinTolerance: null } });
  const rtc = PROBES.find((x) => x.name === 'evidence.rtc')!;
  const tight = await rtc.run({ evidence: new DirectorySysroot(evidenceBundle('acpiGicv2', RECIPES.acpiGicv2).dir), memo: new Memo() }, { toleranceSeconds: 0 });
  t.match(tight.efi, { driftSeconds: 1, withinTolerance: false }, 'tolerance is a parameter');
});

t.test('console: the UART console and the firmware\'s description of it', async (t) => {
  const a = (await factsOf('acpiGicv2')).console!;
  t.match(a, {
    enabled: ['ttyAMA0'], uartConsole: { name: 'ttyAMA0', preferred: true, uart: 'SBSA', mmio: '0x9000000' },
    serialConsole: { name: 'ttyAMA0', kind: 'PL011/SBSA UART' },
    firmwareDescription: { source: 'SPCR', base: '0x9000000', type: 'ARM PL011 UART', sbsaCompatible: true },
    firmwareUartSbsaCompatible: true, agreesWithFirmware: true,
  });
  const d = (await factsOf('dtGicv3')).console!;
  t.match(d, { enabled: ['ttyAMA0', 'tty0'], uartConsole: { uart: 'PL011 rev1' }, firmwareDescription: { source: 'stdout-path', base: '0x9000000', type: 'arm,pl011, arm,primecell' }, agreesWithFirmware: true });
  t.match((await factsOf('noSpcr')).console!, { uartConsole: { name: 'ttyAMA0' }, firmwareDescription: null, firmwareUartSbsaCompatible: null, agreesWithFirmware: null });
  t.match((await factsOf('consoleTty0')).console!, { enabled: ['tty0'], uartConsole: null, serialConsole: null });
});

t.test('cpus, gic, timer, bus, description', async (t) => {
  const a = await factsOf('acpiGicv2');
  t.match(a.cpus, { online: 2, present: 2, possible: 2, allPresentOnline: true, secondaryCpusStarted: true, broughtUp: 2, bootEl: 'EL1',
    psci: { version: '1.1', atLeast02: true, conduitFrom: 'ACPI' }, firmwarePsci: { source: 'FADT', declared: true, conduit: 'hvc' }, dmesgCoverage: 'complete' });
  t.match(a.gic, { inUse: 'GICv2', version: 2, firmwareVersion: 2, firmwareSource: 'MADT', consistent: true, interruptsDelivered: true, msi: 'GICv2m', redistributors: 0 });
  t.match(a.timer, { kernelMode: 'virt', archTimerIntid: 27, archTimerInterrupts: 2065, firmwareVirtualTimerIntid: 27, firmwareSource: 'GTDT', described: true, counting: true, virtualTimerInUse: true });
  t.match(a.bus, { pci: { count: 4, hostBridges: 1, bridges: 1, ecam: 'MCFG' }, xen: { hypervisor: null, devices: [] }, hotplugBus: 'PCI Express (ECAM)' });
  t.match(a.bus, { hotPlug: { capable: true, ports: [{ address: '0000:00:03.0', portType: 'root port', slotImplemented: true, hotPlugCapable: true, hotPlugSurprise: true, physicalSlotNumber: 1, problem: null }] } }, 'the pcie-root-port vmspec boot adds');
  t.match(a.timer, { clocksource: 'arch_sys_counter', counterRunning: true, counterEvidence: /62\.50MHz \(virt\)/ });
  t.match(a.cpus, { secondariesBooted: [1], psciBootFailures: [], enableMethod: 'psci', secondariesViaPsci: true });
  t.match((a.bus!.pci as Obj).devices, [{ address: '0000:00:00.0', vendor: '0x1b36', device: '0x0008', class: '0x060000', driver: null }, { driver: 'virtio-pci' }, { driver: 'virtio-pci' }]);
  t.match(a.description, { booted: 'ACPI', cpusDescribed: 2, uartsFound: 1, pciDevices: 4, gaps: [] });
  const d = await factsOf('dtGicv3');
  t.match(d.cpus, { firmwarePsci: { source: 'device tree', declared: true, conduit: 'hvc', dtAtLeast02: true }, psci: { conduitFrom: 'DT' } });
  t.match(d.gic, { inUse: 'GICv3', firmwareVersion: 3, firmwareSource: 'device tree', consistent: true, msi: 'ITS', redistributors: null });
  t.match(d.timer, { firmwareSource: 'device tree', firmwareVirtualTimerIntid: 27 });
  t.match(d.bus, { pci: { ecam: 'device tree' }, hotplugBus: 'PCI Express (ECAM)' });
  t.match(d.description, { booted: 'device tree', cpusDescribed: 2, gaps: [] });
  t.match((await factsOf('acpiGicv3')).gic, { inUse: 'GICv3', firmwareVersion: 3, firmwareSource: 'MADT', redistributors: 1, msi: 'ITS' });
  const down = await factsOf('cpuDown');
  t.match(down.cpus, { online: 1, present: 2, allPresentOnline: false, secondaryCpusStarted: false, broughtUp: 1 });
  t.same(down.description!.gaps, [], 'a CPU that did not start is PSCI\'s failure, not a gap in the description');
  const cut = await factsOf('configGz');
  t.match(cut.cpus, { bootEl: 'EL1', psci: { version: null, atLeast02: null }, dmesgCoverage: /^truncated/ }, 'early lines (PSCI) are lost, later ones (EL) kept');
  t.match(cut.timer, { kernelMode: null, virtualTimerInUse: true, decidedBy: /^\/proc\/interrupts: arch_timer on INTID 27/ }, '/proc/interrupts decides when the log cannot');
});

t.test('kernel: drivers from /boot/config-*, /proc/config.gz (gunzipped), or nothing', async (t) => {
  const k = (await factsOf('acpiGicv2')).kernel!;
  t.match(k, { release: '6.1.0-50-arm64', configSource: '/boot/config-6.1.0-50-arm64', modulesListed: true });
  const drivers = k.drivers as Record<string, Obj>;
  t.match(drivers.pl011Console, { status: 'built in', available: true, options: { CONFIG_SERIAL_AMBA_PL011: 'y', CONFIG_SERIAL_AMBA_PL011_CONSOLE: 'y' } });
  t.match(drivers.gicv2, { status: 'built in', available: true });
  t.match(drivers.gicv3, { status: 'built in', available: true });
  t.match(drivers.rtcEfi, { status: 'built in', available: true });
  t.match(drivers.virtioPci, { status: /^module, not loaded/, available: null, modulesNotLoaded: ['virtio_net'] }, 'virtio_pci and virtio_blk are loaded, virtio_net is not');
  t.match(drivers.virtioConsole, { status: /^module, not loaded/, available: null });
  t.match(drivers.hvcXen, { status: 'built in', available: true });
  t.match(drivers.xenBlkfront, { status: /^module, not loaded/, options: { CONFIG_XEN: 'y', CONFIG_XEN_BLKDEV_FRONTEND: 'm' } });
  const gz = (await factsOf('configGz')).kernel!;
  t.equal(gz.configSource, '/proc/config.gz');
  t.same(gz.drivers, k.drivers, 'the same config read gzipped');
  const none = (await factsOf('noConfig')).kernel!;
  t.match(none, { configSource: null, configOptions: 0 });
  t.match((none.drivers as Record<string, Obj>).gicv3, { status: /^unknown: no kernel config/, available: null });
});

t.test('a bundle that contradicts its manifest errors; a missing file is a fact', async (t) => {
  const src = evidenceBundle('acpiGicv2', RECIPES.acpiGicv2).dir;
  const memoRun = async (dir: string, name: string) => {
    const p = PROBES.find((x) => x.name === name)!;
    try {
      return { facts: await p.run({ evidence: new DirectorySysroot(dir), memo: new Memo() }, {}) };
    } catch (e) {
      return { error: e as Error };
    }
  };
  const deleted = copyBundle(src, join(work, 'deleted'));
  rmSync(join(deleted, 'sys/firmware/acpi/tables/SPCR'));
  const del = await memoRun(deleted, 'evidence.acpi');
  t.ok(del.error instanceof ParseError && /SPCR is listed in the bundle's manifest but missing/.test(del.error.message), 'a deleted table is an altered bundle, not a missing table', { error: del.error?.message });

  const added = copyBundle(src, join(work, 'added'));
  writeFileSync(join(added, 'sys/firmware/acpi/tables/SSDT'), readFileSync(join(added, 'sys/firmware/acpi/tables/DSDT')));
  const add = await memoRun(added, 'evidence.acpi');
  t.ok(add.error instanceof ParseError && /SSDT is in the bundle but not in its manifest/.test(add.error.message), 'an added table is refused', { error: add.error?.message });

  const changed = copyBundle(src, join(work, 'changed'));
  appendFileSync(join(changed, 'proc/consoles'), 'ttyS0                -W- (EC   a)    4:64\n');
  const ch = await memoRun(changed, 'evidence.console');
  t.ok(ch.error instanceof ParseError && /does not match the manifest/.test(ch.error.message), 'a changed file is refused');
  t.ok((await memoRun(changed, 'evidence.acpi')).facts, 'probes that do not read it still run');

  const unreadable = copyBundle(src, join(work, 'unreadable'));
  rmSync(join(unreadable, 'proc/tty/driver/ttyAMA'));
  const m = JSON.parse(readFileSync(join(unreadable, 'manifest.json'), 'utf8')) as { files: Record<string, unknown>; unreadable: { path: string; reason: string }[] };
  delete m.files['proc/tty/driver/ttyAMA'];
  m.unreadable.push({ path: '/proc/tty/driver/ttyAMA', reason: 'Permission denied' });
  writeFileSync(join(unreadable, 'manifest.json'), JSON.stringify(m));
  const u = await memoRun(unreadable, 'evidence.console');
  t.match(u.facts, { unreadable: [{ path: '/proc/tty/driver/ttyAMA', reason: 'Permission denied' }], ports: [], uartConsole: { mmio: '0x9000000', uart: 'SBSA' } }, 'unreadable in the guest is a fact; the kernel log supplies the address');

  const reader = new EvidenceReader(new DirectorySysroot(src));
  t.equal(reader.text('/no/such/file'), undefined);
  t.equal(reader.list('/no/such/dir'), undefined);
  t.equal(reader.text('/sys/firmware'), undefined, 'a directory read as a file is absent, not an error');
});
