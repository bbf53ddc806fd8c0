import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { loadDt } from './devicetree.js';
import { SBSA_UART_COMPATIBLES } from './devicetree.probe.js';
import { dmesgFacts } from './dmesg.js';
import { hexAddress, parseConsoles, parseTtyDriver, pciDevices } from './procfs.js';
import { MISSING_FACT, missingDescription } from './missing.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, bool, type FactsOf, int, nbool, nint, NO_PARAMS, nobj, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.console`: the guest's consoles (/proc/consoles), which of them
 * is a serial console and of which kind, and whether the UART console is
 * the one the firmware described: the SPCR base address under ACPI, the
 * /chosen stdout-path node's reg under DT. The UART's MMIO address comes
 * from /proc/tty/driver/ttyAMA (root only) or the kernel's "ttyAMA0 at MMIO
 * 0x9000000 ... is a SBSA" line.
 *
 * Which console the guest enables is its own choice (console=tty0), so the
 * hypervisor's UART is judged from the description and the kernel's UART
 * driver: `firmwareUartFound` says whether the kernel registered a UART at
 * the address SPCR or stdout-path names, whatever console it then chose.
 */

const facts = obj({
  consoles: arr(obj({ name: str(), driver: str(), flags: str('E enabled, C preferred, B boot, p printk, a any time'), enabled: bool(), preferred: bool() })),
  enabled: arr(str(), 'enabled consoles'),
  uartConsole: nobj({
    name: str('an enabled console on a PL011/SBSA UART (ttyAMA*)'),
    preferred: bool(),
    uart: nstr('the driver\'s word for the UART: "SBSA" (ACPI SBSA generic UART) or "PL011 rev1"'),
    mmio: nstr('its MMIO base'),
  }),
  serialConsole: nobj({
    name: str('an enabled serial console of any kind (preferred one first)'),
    kind: str('"PL011/SBSA UART", "8250/16550 UART", "virtio console", "Xen PV console", "hvc (backend not in the evidence)", "other UART"'),
  }),
  firmwareDescription: nobj({
    source: str('"SPCR" or "stdout-path"'),
    base: nstr(),
    type: str('SPCR interface type name, or the stdout-path node\'s compatible list'),
    sbsaCompatible: bool('PL011 or SBSA generic UART'),
  }),
  firmwareUartSbsaCompatible: nbool('the UART the firmware names for the console is a PL011/SBSA UART; null when it names none'),
  agreesWithFirmware: nbool('the UART console is at the address the firmware names; null when either is unknown'),
  consoleDevice: nstr('the serial console device the VM offers, whatever console the guest enabled: "PL011/SBSA UART" (named by SPCR / stdout-path, or a ttyAMA port), "8250/16550 UART", "other UART", "virtio console", "Xen PV console"; null when none is seen'),
  firmwareUartFound: nbool('the kernel registered a UART (/proc/tty/driver/ttyAMA, "ttyAMA0 at MMIO" line) at the address the firmware names; null when the firmware names none or the evidence lists no UART'),
  ports: arr(obj({ line: int(), uart: str(), mmio: nstr(), irq: nint() }), '/proc/tty/driver/ttyAMA'),
  ...MISSING_FACT,
  ...SOURCE_FACTS,
});

function kindOf(driver: string, xen: boolean, virtioConsole: boolean): string | null {
  if (driver === 'ttyAMA') return 'PL011/SBSA UART';
  if (driver === 'ttyS') return '8250/16550 UART';
  if (driver === 'hvc') return xen ? 'Xen PV console' : virtioConsole ? 'virtio console' : 'hvc (backend not in the evidence)';
  if (/^tty[A-Z]/.test(driver)) return 'other UART';
  return null; // tty (virtual terminal), ttynull, netcon, …
}

export const consoleEvidenceProbe = defineProbe({
  name: 'evidence.console',
  summary: 'Consoles (/proc/consoles), the UART console and whether it is the one SPCR / stdout-path describes',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.console');
    const consolesText = t.text('/proc/consoles');
    const consoles = parseConsoles(consolesText ?? '');
    const dmesg = dmesgFacts(t);
    const ports = parseTtyDriver(t.text('/proc/tty/driver/ttyAMA') ?? '');
    const acpi = loadAcpi(t);
    const dt = loadDt(t);
    const xen = t.line('/sys/hypervisor/type') === 'xen' || (t.list('/sys/bus/xen/devices')?.length ?? 0) > 0;
    const virtioConsole = pciDevices(t).some((d) => d.vendor === '0x1af4' && (d.device === '0x1003' || d.device === '0x1043'));

    const enabled = consoles.filter((c) => c.enabled);
    const byPreference = [...enabled].sort((a, b) => Number(b.preferred) - Number(a.preferred));
    const amba = byPreference.find((c) => c.driver === 'ttyAMA');
    let uartConsole: FactsOf<typeof facts>['uartConsole'] = null;
    let mmio: string | null = null;
    if (amba) {
      const line = Number(amba.name.slice('ttyAMA'.length));
      const port = ports.find((p) => p.line === line);
      const logged = dmesg.uarts.find((u) => u.tty === amba.name);
      mmio = port?.mmio ?? logged?.mmio ?? null;
      uartConsole = { name: amba.name, preferred: amba.preferred, uart: port?.uart ?? logged?.type ?? null, mmio };
    }
    const serial = byPreference.map((c) => ({ c, kind: kindOf(c.driver, xen, virtioConsole) })).find((x) => x.kind !== null);

    let firmware: { source: string; base: string | null; type: string; sbsaCompatible: boolean } | null = null;
    if (acpi.spcr) {
      firmware = { source: 'SPCR', base: hexAddress(acpi.spcr.baseAddress.address), type: acpi.spcr.interfaceTypeName, sbsaCompatible: acpi.spcr.sbsaCompatible };
    } else if (!acpi.present && dt.kind === 'machine' && dt.tree && dt.facts?.chosen?.stdoutNode) {
      const node = dt.facts.nodes.find((n) => n.path === dt.facts?.chosen?.stdoutNode);
      if (node) {
        firmware = {
          source: 'stdout-path',
          base: hexAddress(node.reg[0]?.address ?? null),
          type: node.compatible.join(', '),
          sbsaCompatible: node.compatible.some((c) => SBSA_UART_COMPATIBLES.includes(c)),
        };
      }
    }
    const agrees = mmio !== null && firmware?.base ? BigInt(mmio) === BigInt(firmware.base) : null;
    const uartBases = [...ports.map((p) => p.mmio), ...dmesg.uarts.map((u) => u.mmio)].filter((a): a is string => a !== null);
    const found = firmware?.base && uartBases.length > 0 ? uartBases.some((a) => BigInt(a) === BigInt(firmware.base as string)) : null;
    const consoleDevice = firmware
      ? firmware.sbsaCompatible ? 'PL011/SBSA UART' : /16550|8250|ns16550/i.test(firmware.type) ? '8250/16550 UART' : 'other UART'
      : ports.length > 0 || dmesg.uarts.some((u) => u.tty.startsWith('ttyAMA')) ? 'PL011/SBSA UART'
        : xen ? 'Xen PV console' : virtioConsole ? 'virtio console' : serial?.kind ?? null;
    const out: FactsOf<typeof facts> = {
      consoles: consoles.map((c) => ({ name: c.name, driver: c.driver, flags: c.flags, enabled: c.enabled, preferred: c.preferred })),
      enabled: enabled.map((c) => c.name),
      uartConsole,
      // The UART clauses read the firmware's description (SPCR, stdout-path) as well as the consoles.
      missing: [...(consolesText === undefined ? ['/proc/consoles'] : []), ...missingDescription(acpi, dt)],
      serialConsole: serial ? { name: serial.c.name, kind: serial.kind as string } : null,
      firmwareDescription: firmware,
      firmwareUartSbsaCompatible: firmware ? firmware.sbsaCompatible : null,
      agreesWithFirmware: agrees,
      consoleDevice,
      firmwareUartFound: found,
      ports: ports.map((p) => ({ line: p.line, uart: p.uart, mmio: p.mmio, irq: p.irq })),
      ...t.sourceFacts(),
    };
    return out;
  },
});
