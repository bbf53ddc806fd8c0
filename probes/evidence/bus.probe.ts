import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { loadDt } from './devicetree.js';
import { dmesgFacts } from './dmesg.js';
import { pciClassIs, pciDevices } from './procfs.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, enumOf, type FactsOf, int, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.bus`: the buses the guest found devices on. PCI: the devices in
 * /sys/bus/pci/devices (vendor, device, class, bound driver) and how the
 * host bridge's configuration space is reached (ECAM, from the MCFG, the
 * pci-host-ecam-generic node, or the kernel's "ECAM at" line). Xen: the
 * xenbus devices and /sys/hypervisor/type. `hotplugBus` names the bus the
 * VM spec counts as hot-pluggable (PCI Express with ECAM, or the Xen PV
 * bus); `bridges` counts PCI-to-PCI bridges (root ports), the slots hot-added
 * PCIe devices go into — an actual hot-add is beyond what evidence shows.
 */

const facts = obj({
  pci: obj({
    devices: arr(obj({ address: str(), vendor: nstr(), device: nstr(), class: nstr(), driver: nstr() })),
    count: int(),
    hostBridges: int('class 0x0600xx'),
    bridges: int('class 0x0604xx: PCI-to-PCI bridges / PCIe ports'),
    ecam: enumOf(['MCFG', 'device tree', 'kernel log', null], 'where the ECAM window is described'),
    ecamWindows: arr(str()),
  }),
  xen: obj({
    hypervisor: nstr('/sys/hypervisor/type'),
    devices: arr(str(), '/sys/bus/xen/devices entries (vbd-768, vif-0, …)'),
  }),
  hotplugBus: enumOf(['PCI Express (ECAM)', 'Xen PV bus', null], 'a bus the VM spec counts as hot-pluggable, with devices found on it'),
  ...SOURCE_FACTS,
});

export const busEvidenceProbe = defineProbe({
  name: 'evidence.bus',
  summary: 'PCI devices and the ECAM host bridge, xenbus devices: the hot-pluggable bus the guest found',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.bus');
    const devices = pciDevices(t);
    const acpi = loadAcpi(t);
    const dt = loadDt(t);
    const dmesg = dmesgFacts(t);
    let ecam: 'MCFG' | 'device tree' | 'kernel log' | null = null;
    let windows: string[] = [];
    if (acpi.mcfg && acpi.mcfg.allocations.length > 0) {
      ecam = 'MCFG';
      windows = acpi.mcfg.allocations.map((a) => `${a.baseAddress} segment ${a.pciSegmentGroup} buses ${a.startBusNumber}-${a.endBusNumber}`);
    } else if (!acpi.present && dt.facts?.pciHosts.some((h) => h.compatible.includes('pci-host-ecam-generic') && (h.status === 'okay' || h.status === 'ok'))) {
      ecam = 'device tree';
      windows = dt.facts.pciHosts.filter((h) => h.compatible.includes('pci-host-ecam-generic')).map((h) => `${h.path} ${h.reg.map((r) => r.address).join(' ')}`);
    } else if (dmesg.ecam.length > 0) {
      ecam = 'kernel log';
      windows = dmesg.ecam;
    }
    const xenType = t.line('/sys/hypervisor/type') ?? null;
    const xenDevices = t.list('/sys/bus/xen/devices') ?? [];
    const hotplugBus = ecam !== null && devices.length > 0 ? 'PCI Express (ECAM)' : xenDevices.length > 0 ? 'Xen PV bus' : null;
    const out: FactsOf<typeof facts> = {
      pci: {
        devices: devices.map((d) => ({ ...d })),
        count: devices.length,
        hostBridges: devices.filter((d) => pciClassIs(d.class, '0600')).length,
        bridges: devices.filter((d) => pciClassIs(d.class, '0604')).length,
        ecam,
        ecamWindows: windows,
      },
      xen: { hypervisor: xenType, devices: xenDevices },
      hotplugBus,
      ...t.sourceFacts(),
    };
    return out;
  },
});
