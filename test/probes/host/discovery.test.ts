import t from 'tap';
import { evaluate } from '../../../engine/evaluate.js';
import { compareDiscovery, guestDiscovery, memTotalBytes, systemRamBytes } from '../../../probes/host/discovery.js';
import type { ConfiguredVm, DiscoveryRecord, HostBootFacts } from '../../../probes/host/facts.js';
import { openSysroot } from '../../../probes/sysroot/open.js';
import { loadSpecOrThrow } from '../../../requirements/spec-load.js';
import { configuredVm } from '../../../boot/plan.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../../fixtures/evidence-bundles.js';

/**
 * PLAT-2 from the host: the VM vmspec boot configures (boot/plan.ts) beside
 * what the guest enumerated, read from bundles the real collector made of
 * QEMU virt guests (ACPI and DT), and V2-PLAT-DISCOVERABLE / V1-PLAT-
 * DISCOVERABLE judged on it both ways.
 */

const bundleOf = (name: string, recipe: BundleRecipe) => evidenceBundle(name, recipe).tar;

function discover(name: string, recipe: BundleRecipe, vm: ConfiguredVm, acpi = recipe.mode === 'acpi'): DiscoveryRecord {
  const s = openSysroot(bundleOf(name, recipe));
  try {
    return compareDiscovery('boot 1', acpi, vm, guestDiscovery(s));
  } finally {
    s.close();
  }
}

/** The host record around discovery records (other host facts as a passing boot has them). */
function host(discovery: DiscoveryRecord[]): HostBootFacts {
  return {
    hypervisor: 'QEMU 7.2.22 (TCG)', accelerator: 'tcg', boots: [],
    persistence: { nonce: 'N1', checked: false, writtenToStore: 'unreadable', stillInStoreAfterCheck: null, storeLayoutKnown: true, contentAfterWrite: null, contentAfterCheck: null },
    serial: { everyBootOnUart: true, osBoots: 1, everyBootFirmwareOrKernelAndCollector: true },
    failedBoots: [], everyBootCleanExit: true,
    removableBoot: { boot: 'boot 1', presetBootVariables: [], reachedOs: true, bootVariablesAfter: ['BootOrder', 'Boot0001'] },
    reset: { notExercised: null, boot: 'boot 2', requested: true, vmRestarted: true },
    discovery: { boots: discovery, judged: discovery.length > 0 && discovery.every((d) => d.problems.length === 0) },
  };
}

async function verdict(spec: 'vmspec-v2' | 'vmspec-v1', id: string, boot: HostBootFacts) {
  const req = loadSpecOrThrow(spec).requirements.find((r) => r.id === id);
  if (!req) throw new Error(`${id} missing`);
  const [r] = await evaluate([req], { boot });
  return r!;
}

const vm = configuredVm({ cpus: 2, memoryMiB: 1024, cloudInitSeed: false });

t.test('the configured VM is what qemuArgv attaches', async (t) => {
  t.same(vm, { cpus: 2, memoryMiB: 1024, devices: [{ kind: 'virtio-blk-pci', role: 'image' }, { kind: 'virtio-blk-pci', role: 'evidence disk' }] });
  t.equal(configuredVm({ cpus: 4, memoryMiB: 2048, cloudInitSeed: true }).devices.length, 3, 'a cloud-init seed is a third disk');
});

t.test('memory parsers', async (t) => {
  const iomem = '09000000-09000fff : pl011@9000000\n40000000-7fffffff : System RAM\n  40210000-4162ffff : Kernel code\n80000000-8fffffff : System RAM\n';
  t.equal(systemRamBytes(iomem), 0x50000000, 'top-level System RAM ranges summed; nested lines ignored');
  t.equal(systemRamBytes('00000000-00000000 : System RAM\n'), null, 'zeroed addresses (unprivileged read) tell nothing');
  t.equal(systemRamBytes(undefined), null);
  t.equal(memTotalBytes('MemTotal:         991204 kB\nMemFree: 1 kB\n'), 991204 * 1024);
  t.equal(memTotalBytes('nothing'), null);
});

t.test('a guest that found the whole VM passes, under ACPI and under DT', async (t) => {
  for (const name of ['acpiGicv2', 'dtGicv3'] as const) {
    const d = discover(name, RECIPES[name] as BundleRecipe, vm);
    t.match(d, { configured: { cpus: 2, memoryMiB: 1024, virtioBlockPci: 2 }, guest: { cpusPresent: 2, memoryMiB: 968, memorySource: 'MemTotal in /proc/meminfo', virtioBlockPci: 2 }, cpusFound: true, memoryPercent: 94, devicesFound: true, problems: [] }, name);
    for (const [spec, id] of [['vmspec-v2', 'V2-PLAT-DISCOVERABLE'], ['vmspec-v1', 'V1-PLAT-DISCOVERABLE']] as const) {
      t.equal((await verdict(spec, id, host([d]))).status, 'pass', `${name}: ${id} passes`);
    }
  }
});

t.test('a guest that misses part of the VM fails, naming what is missing', async (t) => {
  // The firmware described one CPU of the two the VM was given (MADT / DT with one GICC / cpu node).
  const oneCpu = discover('words-one-cpu', { ...(RECIPES.acpiGicv2 as BundleRecipe), cpus: 1 }, vm);
  t.equal(oneCpu.cpusFound, false);
  const cpu = await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([oneCpu]));
  t.match(cpu, { status: 'fail', message: /cpusFound/ });
  t.equal((await verdict('vmspec-v1', 'V1-PLAT-DISCOVERABLE', host([oneCpu]))).status, 'fail', 'v1 takes the same check');
  // The VM had 2 GiB but the guest found 968 MiB: half the memory went undescribed.
  const mem = discover('acpiGicv2', RECIPES.acpiGicv2 as BundleRecipe, { ...vm, memoryMiB: 2048 });
  t.equal(mem.memoryPercent, 47);
  t.match(await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([mem])), { status: 'fail', message: /memoryPercent/ });
  // A third disk attached (a cloud-init seed) that the guest never found on PCI.
  const disks = discover('dtGicv2', RECIPES.dtGicv2 as BundleRecipe, configuredVm({ cpus: 2, memoryMiB: 1024, cloudInitSeed: true }));
  t.equal(disks.devicesFound, false);
  t.match(await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([disks])), { status: 'fail', message: /devicesFound/ });
  // One good boot does not excuse a bad one.
  const good = discover('acpiGicv2', RECIPES.acpiGicv2 as BundleRecipe, vm);
  t.equal((await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([good, oneCpu]))).status, 'fail');
});

t.test('no evidence, or no host record: not judged', async (t) => {
  const none = compareDiscovery('boot 1', true, vm, null);
  t.same(none.problems, ['no evidence from this boot']);
  t.match(await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([none])), { status: 'skip', message: /discovery\.judged/ });
  t.match(await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([])), { status: 'skip' });
  const req = loadSpecOrThrow('vmspec-v2').requirements.find((r) => r.id === 'V2-PLAT-DISCOVERABLE')!;
  const [r] = await evaluate([req], {});
  t.match(r, { status: 'skip' }, 'vmspec verify has no host record');
});

t.test('a Xen domain: its disks are PV block devices on xenbus, not virtio on PCI', async (t) => {
  const { alteredBundle } = await import('../evidence/altered-bundle.js');
  const { join } = await import('node:path');
  const base = evidenceBundle('dtGicv3', RECIPES.dtGicv3 as BundleRecipe).dir;
  // As a Xen Arm domU's collector finds it (xl: xvda image, xvdb evidence disk): no PCI bus, xenbus devices vbd-<vdev>.
  const domU = (name: string, vbds: string[]) => alteredBundle(base, join(t.testdir(), name), {
    remove: ['/sys/bus/pci'],
    write: Object.fromEntries(['console-0', ...vbds].map((d) => [`/sys/bus/xen/devices/${d}/devtype`, new TextEncoder().encode(`${d.split('-')[0]}\n`)])),
  });
  const xenVm = configuredVm({ cpus: 2, memoryMiB: 1024, cloudInitSeed: false, disks: 'xen-vbd' });
  t.same(xenVm.devices.map((d) => d.kind), ['xen-vbd', 'xen-vbd']);
  const judge = (dir: string, configured: ConfiguredVm) => {
    const s = openSysroot(dir);
    try {
      return compareDiscovery('boot 1', false, configured, guestDiscovery(s));
    } finally {
      s.close();
    }
  };
  const both = judge(domU('xen-two', ['vbd-51712', 'vbd-51728']), xenVm);
  t.match(both, { configured: { virtioBlockPci: 0, xenVbd: 2 }, guest: { virtioBlockPci: null, xenVbd: 2 }, devicesFound: true, problems: [] });
  t.equal((await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([both]))).status, 'pass', 'both disks found on xenbus: passes');
  const one = judge(domU('xen-one', ['vbd-51712']), xenVm);
  t.equal(one.devicesFound, false);
  t.match(await verdict('vmspec-v2', 'V2-PLAT-DISCOVERABLE', host([one])), { status: 'fail', message: /devicesFound/ }, 'the evidence disk missing from xenbus fails');
  const asVirtio = judge(domU('xen-two', ['vbd-51712', 'vbd-51728']), vm);
  t.same(asVirtio.problems, ['no /sys/bus/pci/devices in the evidence'], 'virtio disks expected where the guest has no PCI bus: not judged, never passed');
});
