import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { dtVirtualTimerIntid, loadDt } from './devicetree.js';
import { SBSA_UART_COMPATIBLES } from './devicetree.probe.js';
import { dmesgFacts } from './dmesg.js';
import { cpuCounts, parseTtyDriver, pciDevices } from './procfs.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, enumOf, type FactsOf, int, nint, NO_PARAMS, obj, str } from '../facts-schema.js';

/**
 * `evidence.description`: did the hardware description the guest booted
 * with describe the whole VM, judged by what a mainline Linux found with
 * it? `booted` says which description the kernel used (Linux exposes ACPI
 * tables only when it runs with ACPI; otherwise the device tree is the
 * description). `gaps` lists what the description in use did not give the
 * kernel: CPUs running without an entry, no interrupt controller, no timer,
 * no UART, a PCIe host without devices. Whether it names as many CPUs,
 * devices and as much memory as the VM was configured with needs the VM
 * configuration (V2-PLAT-DISCOVERABLE stays manual). The other description cannot be
 * judged from this guest: boot a second one with it.
 */

const facts = obj({
  booted: enumOf(['ACPI', 'device tree', 'none'], 'the description the kernel booted with'),
  cpusOnline: nint(),
  cpusPresent: nint(),
  cpusDescribed: nint('enabled GICC structures (ACPI) or cpu nodes (DT)'),
  uartsFound: int('UARTs the kernel registered (ttyAMA ports, /sys/class/tty/ttyAMA*, boot log)'),
  pciDevices: int(),
  gaps: arr(str(), 'what the description in use did not provide; [] when it covered every part checked'),
  descriptionErrors: arr(str(), 'why the description in use does not read as its standard defines it, each as the parser says it: the FDT that does not parse, malformed DT properties, ACPI tables that do not parse or contradict themselves (GTDT platform timers); [] when it reads cleanly'),
  ...SOURCE_FACTS,
});

export const descriptionEvidenceProbe = defineProbe({
  name: 'evidence.description',
  summary: 'Which hardware description the guest booted with and what it failed to describe (CPUs, GIC, timer, UART, PCIe)',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.description');
    const acpi = loadAcpi(t);
    const dt = loadDt(t);
    const cpus = cpuCounts(t);
    const dmesg = dmesgFacts(t);
    const pci = pciDevices(t);
    const ports = parseTtyDriver(t.text('/proc/tty/driver/ttyAMA') ?? '');
    const ttys = (t.list('/sys/class/tty') ?? []).filter((n) => /^ttyAMA\d+$/.test(n));
    const uarts = new Set([...ports.map((p) => `ttyAMA${p.line}`), ...ttys, ...dmesg.uarts.map((u) => u.tty)]);
    // A blob that does not parse is still the description a guest without ACPI booted with: it is judged, not ignored.
    const booted = acpi.present ? 'ACPI' : dt.kind === 'machine' || (dt.present && dt.error !== null) ? 'device tree' : 'none';
    const gaps: string[] = [];
    const descriptionErrors: string[] = [];
    let described: number | null = null;
    // The kernel's present CPUs come from the description itself, so only a description that names
    // fewer CPUs than are running (or none) is a gap here; described CPUs that did not come online
    // are a CPU bring-up (PSCI) failure, judged by V2-ARCH-PSCI.
    const cpuGap = (what: string) => {
      if (described === null) return;
      if (described === 0) gaps.push(`${what} no CPU`);
      else if (cpus.online !== null && described < cpus.online) gaps.push(`${what} ${described} CPU(s) but ${cpus.online} are online`);
    };
    if (booted === 'ACPI') {
      const m = acpi.madt;
      if (!m) gaps.push('no MADT: no CPUs or interrupt controller described');
      else {
        described = m.giccEnabledCount;
        cpuGap('the MADT has enabled GICC structures for');
        if (m.gicd.length === 0) gaps.push('the MADT describes no GIC distributor');
      }
      for (const r of acpi.results) if (!r.ok) descriptionErrors.push(r.error.message);
      for (const p of acpi.gtdt?.problems ?? []) descriptionErrors.push(p);
      const gtdtError = acpi.results.find((r) => !r.ok && r.name.replace(/\d+$/, '') === 'GTDT');
      if (!acpi.gtdt) gaps.push(gtdtError ? 'the GTDT does not parse: the generic timer is not described' : 'no GTDT: the generic timer is not described');
      else if (acpi.gtdt.virtualEl1.gsiv === 0) gaps.push('the GTDT gives no virtual timer interrupt');
      if (uarts.size === 0) gaps.push('the kernel found no PL011/SBSA UART through ACPI');
      if (acpi.mcfg && acpi.mcfg.allocations.length > 0 && pci.length === 0) gaps.push('the MCFG describes an ECAM window but the kernel enumerated no PCI device');
    } else if (booted === 'device tree' && dt.error !== null) {
      descriptionErrors.push(dt.error);
      gaps.push('the device tree does not parse, so it describes nothing the kernel could use');
    } else if (booted === 'device tree' && dt.facts && dt.tree) {
      const f = dt.facts;
      for (const m of f.malformed) descriptionErrors.push(m);
      described = f.cpus.nodes.filter((c) => c.status === 'okay' || c.status === 'ok').length;
      cpuGap('the device tree has enabled cpu nodes for');
      if (!f.interruptControllers.some((n) => n.gicVersion !== null && (n.status === 'okay' || n.status === 'ok'))) gaps.push('no enabled GIC node in the device tree');
      if (!f.timer) gaps.push('no arm,armv8-timer node in the device tree');
      else if (dtVirtualTimerIntid(dt.tree) === null) gaps.push('the timer node gives no virtual timer interrupt');
      const stdout = f.chosen?.stdoutNode ? f.nodes.find((n) => n.path === f.chosen?.stdoutNode) : undefined;
      if (!stdout) gaps.push(f.chosen?.stdoutPath ? `/chosen stdout-path "${f.chosen.stdoutPath}" does not resolve to a node` : 'no /chosen stdout-path: the console UART is not named');
      else if (!(stdout.status === 'okay' || stdout.status === 'ok') || !stdout.compatible.some((c) => SBSA_UART_COMPATIBLES.includes(c) || c.startsWith('ns16550'))) gaps.push(`stdout-path names ${stdout.path}, which is not an enabled UART`);
      if (uarts.size === 0) gaps.push('the kernel found no PL011/SBSA UART through the device tree');
      if (f.memory.length === 0) gaps.push('no memory node in the device tree');
      const hosts = f.pciHosts.filter((h) => h.status === 'okay' || h.status === 'ok');
      if (hosts.length > 0 && pci.length === 0) gaps.push('the device tree describes a PCI host but the kernel enumerated no PCI device');
    } else {
      gaps.push('the guest booted with neither ACPI tables nor a machine device tree');
    }
    const out: FactsOf<typeof facts> = {
      booted,
      cpusOnline: cpus.online,
      cpusPresent: cpus.present,
      cpusDescribed: described,
      uartsFound: uarts.size,
      pciDevices: pci.length,
      gaps,
      descriptionErrors,
      ...t.sourceFacts(),
    };
    return out;
  },
});
