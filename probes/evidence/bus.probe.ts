import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { loadDt } from './devicetree.js';
import { dmesgFacts } from './dmesg.js';
import { readPcieSlot } from './pci-config.js';
import { pciClassIs, pciDevices } from './procfs.js';
import { SOURCE_FACTS, tracker, type Tracker } from './read.js';
import { arr, enumOf, type FactsOf, int, nbool, nint, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.bus`: the buses the guest found devices on. PCI: the devices in
 * /sys/bus/pci/devices (vendor, device, class, bound driver) and how the
 * host bridge's configuration space is reached (ECAM, from the MCFG, the
 * pci-host-ecam-generic node, or the kernel's "ECAM at" line). Xen: the
 * xenbus devices and /sys/hypervisor/type. `hotplugBus` names the bus the
 * VM spec counts as hot-pluggable (PCI Express with ECAM, or the Xen PV
 * bus); `bridges` counts PCI-to-PCI bridges (root ports), the slots hot-added
 * PCIe devices go into — an actual hot-add is beyond what evidence shows.
 * `hotPlug` judges the capability itself: a PCIe port whose Slot
 * Capabilities say Hot-Plug Capable (read from the port's configuration
 * space, as lspci -vv does), or the Xen PV bus; the hot-plug slots the
 * kernel registered (/sys/bus/pci/slots) decide only when no port's
 * configuration space is in the evidence (bundles of collector 1.0).
 */

const MAX_CONFIG_BYTES = 4096;

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
  hotPlug: obj({
    capable: nbool('a PCIe port with a Hot-Plug Capable slot, or the Xen PV bus; null when the evidence cannot tell (ports without their configuration space and no slot list)'),
    via: nstr('what decided: "PCIe Slot Capabilities Hot-Plug Capable", "/sys/bus/pci/slots", "Xen PV bus", or why not'),
    ports: arr(obj({
      address: str(),
      portType: nstr('PCI Express Device/Port Type (root port, switch downstream port, …)'),
      slotImplemented: nbool(),
      hotPlugCapable: nbool('Slot Capabilities bit 6 (PCIe Base §7.5.3.9)'),
      hotPlugSurprise: nbool('Slot Capabilities bit 5'),
      physicalSlotNumber: nint(),
      problem: nstr('why the configuration space could not tell'),
    }), 'PCI-to-PCI bridges (class 0x0604) and their slots'),
    slots: arr(obj({ name: str(), address: nstr() }), '/sys/bus/pci/slots: hot-plug slots the kernel registered'),
  }),
  ...SOURCE_FACTS,
});

type HotPlug = FactsOf<typeof facts>['hotPlug'];

function hotPlugOf(t: Tracker, devices: { address: string; class: string | null }[], xenDevices: string[]): HotPlug {
  const ports: HotPlug['ports'] = devices.filter((d) => pciClassIs(d.class, '0604')).map((d) => {
    const none = { portType: null, slotImplemented: null, hotPlugCapable: null, hotPlugSurprise: null, physicalSlotNumber: null };
    const config = t.bytes(`/sys/bus/pci/devices/${d.address}/config`, MAX_CONFIG_BYTES);
    if (config === undefined) return { address: d.address, ...none, problem: 'configuration space not in the evidence' };
    const r = readPcieSlot(config);
    if (r.kind === 'unknown') return { address: d.address, ...none, problem: r.problem };
    if (r.kind === 'not pcie') return { address: d.address, ...none, problem: 'no PCI Express Capability' };
    return { address: d.address, ...r.slot, problem: null };
  });
  const slotNames = t.isDir('/sys/bus/pci/slots') ? (t.list('/sys/bus/pci/slots') ?? []) : undefined;
  const slots = (slotNames ?? []).map((name) => ({ name, address: t.line(`/sys/bus/pci/slots/${name}/address`) ?? null }));
  const hpc = ports.find((p) => p.hotPlugCapable === true);
  if (hpc) return { capable: true, via: `PCIe Slot Capabilities Hot-Plug Capable (${hpc.portType} ${hpc.address})`, ports, slots };
  if (xenDevices.length > 0) return { capable: true, via: 'Xen PV bus', ports, slots };
  const unknown = ports.filter((p) => p.problem !== null && p.problem !== 'no PCI Express Capability');
  if (unknown.length > 0) {
    if (slots.length > 0) return { capable: true, via: '/sys/bus/pci/slots', ports, slots };
    if (slotNames === undefined) return { capable: null, via: `undecided: ${unknown[0]?.address}: ${unknown[0]?.problem}`, ports, slots };
  }
  return {
    capable: false,
    via: ports.length === 0 ? 'no PCIe port (PCI-to-PCI bridge) and no Xen PV bus' : 'no PCIe port has a Hot-Plug Capable slot, and no Xen PV bus',
    ports,
    slots,
  };
}

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
      hotPlug: hotPlugOf(t, devices, xenDevices),
      ...t.sourceFacts(),
    };
    return out;
  },
});
