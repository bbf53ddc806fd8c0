import type { Tracker } from './read.js';

/**
 * Parsers for the /proc and /sys text an evidence bundle carries. Each
 * takes the text as the kernel prints it and never throws: a line it does
 * not understand is skipped (and counted where that matters).
 */

/** One line of /proc/consoles (fs/proc/consoles.c): name+index, R/W/U, (E C B p b a), major:minor. */
export interface ConsoleEntry {
  name: string;
  /** "ttyAMA0" → "ttyAMA"; the tty driver's name. */
  driver: string;
  /** The flags in parentheses: E enabled, C preferred (consdev), B boot, p printk buffer, b braille, a any time. */
  flags: string;
  enabled: boolean;
  preferred: boolean;
  canWrite: boolean;
  device: string | null;
}

export function parseConsoles(text: string): ConsoleEntry[] {
  const out: ConsoleEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+([-R][-W][-U])\s+\(([^)]*)\)(?:\s+(\d+:\d+))?/.exec(line);
    if (!m) continue;
    const name = m[1] ?? '';
    const flags = (m[3] ?? '').replace(/\s+/g, '');
    out.push({
      name,
      driver: name.replace(/\d+$/, ''),
      flags,
      enabled: flags.includes('E'),
      preferred: flags.includes('C'),
      canWrite: (m[2] ?? '').includes('W'),
      device: m[4] ?? null,
    });
  }
  return out;
}

/** One row of /proc/interrupts. */
export interface InterruptRow {
  /** "10", or "IPI0", "Err". */
  irq: string;
  /** Sum over CPUs. */
  count: number;
  /** The irq chip ("GIC-0", "GICv3", "ITS-MSI", "MSI"), null for IPI/summary rows. */
  chip: string | null;
  /** The hardware interrupt number (GIC INTID for GIC rows). */
  hwirq: number | null;
  trigger: string | null;
  actions: string;
}

export function parseInterrupts(text: string): { cpus: number; rows: InterruptRow[] } {
  const lines = text.split('\n');
  const header = lines[0] ?? '';
  const cpus = (header.match(/CPU\d+/g) ?? []).length;
  const rows: InterruptRow[] = [];
  for (const line of lines.slice(1)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const irq = m[1] ?? '';
    const tokens = (m[2] ?? '').trim().split(/\s+/).filter((x) => x !== '');
    let count = 0;
    let i = 0;
    for (; i < Math.max(cpus, 1) && i < tokens.length && /^\d+$/.test(tokens[i] ?? ''); i++) count += Number(tokens[i]);
    const rest = tokens.slice(i);
    if (!/^\d+$/.test(irq)) {
      rows.push({ irq, count, chip: null, hwirq: null, trigger: null, actions: rest.join(' ') });
      continue;
    }
    // chip words, then the hwirq (first numeric token), then Level/Edge, then the actions.
    const hw = rest.findIndex((x) => /^\d+$/.test(x));
    const chip = hw > 0 ? rest.slice(0, hw).join(' ') : (rest[0] ?? null);
    const hwirq = hw >= 0 ? Number(rest[hw]) : null;
    const after = hw >= 0 ? rest.slice(hw + 1) : rest.slice(1);
    const trigger = after[0] !== undefined && /^(Level|Edge|None)$/.test(after[0]) ? after[0] : null;
    rows.push({ irq, count, chip, hwirq, trigger, actions: (trigger ? after.slice(1) : after).join(' ') });
  }
  return { cpus, rows };
}

/** "0-3,5,7-8" (a sysfs CPU list) → the CPU numbers; null when malformed. */
export function parseCpuList(text: string | undefined): number[] | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (t === '') return [];
  const out: number[] = [];
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 65536) return null;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** /proc/tty/driver/ttyAMA (amba-pl011): "0: uart:SBSA mmio:0x09000000 irq:12 tx:416 rx:0 RTS|DTR". */
export interface UartPort {
  line: number;
  uart: string;
  mmio: string | null;
  irq: number | null;
}

export function parseTtyDriver(text: string): UartPort[] {
  const out: UartPort[] = [];
  for (const l of text.split('\n')) {
    const m = /^\s*(\d+): uart:(.+?)\s+(?:mmio|port):(0x[0-9a-fA-F]+)\s+irq:(\d+)/.exec(l);
    if (!m) continue;
    out.push({ line: Number(m[1]), uart: (m[2] ?? '').trim(), mmio: `0x${BigInt(m[3] ?? '0').toString(16)}`, irq: Number(m[4]) });
  }
  return out;
}

/** Names of the modules in /proc/modules ("virtio_pci 28672 0 - Live 0x..."). */
export function parseModules(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const m = /^(\S+)\s+\d+\s/.exec(l);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** An address as a canonical lowercase hex string ("0x09000000" → "0x9000000"); null when not a number. */
export function hexAddress(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  try {
    return `0x${BigInt(s.trim()).toString(16)}`;
  } catch {
    return null;
  }
}

export interface PciDevice {
  address: string;
  vendor: string | null;
  device: string | null;
  class: string | null;
  driver: string | null;
}

/** /sys/bus/pci/devices/<address>/{vendor,device,class} and the driver link, as the collector copies them. */
export function pciDevices(t: Tracker): PciDevice[] {
  return t.derived('pci-devices', (s) => {
    const names = s.list('/sys/bus/pci/devices') ?? [];
    return names.map((address) => {
      const base = `/sys/bus/pci/devices/${address}`;
      const driver = s.link(`${base}/driver`);
      return {
        address,
        vendor: s.line(`${base}/vendor`) ?? null,
        device: s.line(`${base}/device`) ?? null,
        class: s.line(`${base}/class`) ?? null,
        driver: driver === undefined ? null : (driver.split('/').pop() ?? null),
      };
    });
  });
}

/** PCI base class 0x06 subclass 0x00: host bridge; 0x04: PCI-to-PCI bridge (root ports, switch ports). */
export function pciClassIs(cls: string | null, prefix: string): boolean {
  return cls !== null && cls.toLowerCase().replace(/^0x/, '').startsWith(prefix);
}

/** CPU lists from /sys/devices/system/cpu. */
export function cpuCounts(t: Tracker): { online: number | null; present: number | null; possible: number | null } {
  const count = (name: string): number | null => parseCpuList(t.line(`/sys/devices/system/cpu/${name}`))?.length ?? null;
  return { online: count('online'), present: count('present'), possible: count('possible') };
}
