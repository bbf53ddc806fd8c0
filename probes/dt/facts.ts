import { ParseError } from '../../bytes/errors.js';
import type { FdtNode, FdtReservation } from './fdt.js';
import { type DeviceTree, type RegEntry, compatible, prop, propCells, propString, status } from './tree.js';

/** Compatibles of UARTs a VM console may use (PL011 and SBSA generic UART, 8250 family). */
const UART_COMPATIBLES = ['arm,pl011', 'arm,sbsa-uart', 'ns16550a', 'ns16550', 'ns8250', 'snps,dw-apb-uart'];

/** GIC compatibles and the architecture version they implement (Linux bindings interrupt-controller/arm,gic*.yaml). */
const GIC_VERSIONS: Record<string, number> = {
  'arm,gic-v3': 3,
  'arm,gic-400': 2,
  'arm,cortex-a15-gic': 2,
  'arm,cortex-a9-gic': 2,
  'arm,cortex-a7-gic': 2,
  'arm,arm11mp-gic': 1,
  'arm,arm1176jzf-devchip-gic': 1,
  'arm,eb11mp-gic': 1,
  'arm,pl390': 1,
};

export interface DtNodeFacts {
  path: string;
  compatible: string[];
  status: string;
  reg: RegEntry[];
}

/** Plain-JSON facts about a devicetree, for requirements to match against. */
export interface DtFacts {
  version: number;
  bootCpuidPhys: number;
  reservations: FdtReservation[];
  model: string | null;
  compatible: string[];
  nodeCount: number;
  propertyCount: number;
  aliases: Record<string, string>;
  chosen: { stdoutPath: string | null; stdoutNode: string | null; bootargs: string | null } | null;
  cpus: { count: number; enableMethods: string[]; compatibles: string[]; nodes: (DtNodeFacts & { enableMethod: string | null })[] };
  psci: { compatible: string[]; method: string | null } | null;
  timer: { compatible: string[]; interrupts: number[]; alwaysOn: boolean } | null;
  /** Nodes with interrupt-controller; gicVersion from a GIC compatible. */
  interruptControllers: (DtNodeFacts & { gicVersion: number | null })[];
  /** Nodes with msi-controller (GICv2m frames, GICv3 ITSs). */
  msiControllers: DtNodeFacts[];
  uarts: DtNodeFacts[];
  memory: DtNodeFacts[];
  pciHosts: DtNodeFacts[];
  nodes: DtNodeFacts[];
  /** Properties whose values did not decode as their standard type, as "path:property: why". */
  malformed: string[];
}

export function dtFacts(tree: DeviceTree): DtFacts {
  const malformed: string[] = [];
  // Decode one node's standard properties; a bad value is recorded, not fatal, so one odd node cannot hide the rest.
  const safe = <T>(what: () => T, fallback: T): T => {
    try {
      return what();
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      malformed.push(e.message);
      return fallback;
    }
  };
  const facts = (n: FdtNode): DtNodeFacts => ({
    path: n.path,
    compatible: safe(() => compatible(n), []),
    status: safe(() => status(n), 'invalid'),
    reg: safe(() => tree.reg(n), []),
  });
  const nodes = [...tree.nodes()];
  const root = tree.root;
  const chosenNode = tree.node('/chosen');
  const stdoutPath = chosenNode ? safe(() => propString(chosenNode, 'stdout-path') ?? null, null) : null;
  // stdout-path may carry options after ':' ("serial0:115200n8") and may name an alias.
  const stdoutNode = stdoutPath ? tree.node(stdoutPath.split(':')[0] ?? '')?.path ?? null : null;
  const cpuNodes = (tree.node('/cpus')?.children ?? []).filter((c) => safe(() => propString(c, 'device_type'), undefined) === 'cpu');
  const cpus = cpuNodes.map((c) => ({ ...facts(c), enableMethod: safe(() => propString(c, 'enable-method') ?? null, null) }));
  const psciNode = nodes.find((n) => safe(() => compatible(n), []).some((c) => c.startsWith('arm,psci')));
  const timerNode = nodes.find((n) => safe(() => compatible(n), []).some((c) => c === 'arm,armv8-timer' || c === 'arm,armv7-timer'));
  const unique = (xs: string[]) => [...new Set(xs)];
  return {
    version: tree.fdt.header.version,
    bootCpuidPhys: tree.fdt.header.bootCpuidPhys,
    reservations: tree.fdt.reservations,
    model: safe(() => propString(root, 'model') ?? null, null),
    compatible: safe(() => compatible(root), []),
    nodeCount: tree.fdt.nodeCount,
    propertyCount: tree.fdt.propertyCount,
    aliases: safe(() => tree.aliases(), {}),
    chosen: chosenNode ? { stdoutPath, stdoutNode, bootargs: safe(() => propString(chosenNode, 'bootargs') ?? null, null) } : null,
    cpus: {
      count: cpus.length,
      enableMethods: unique(cpus.flatMap((c) => (c.enableMethod ? [c.enableMethod] : []))),
      compatibles: unique(cpus.flatMap((c) => c.compatible)),
      nodes: cpus,
    },
    psci: psciNode ? { compatible: safe(() => compatible(psciNode), []), method: safe(() => propString(psciNode, 'method') ?? null, null) } : null,
    timer: timerNode ? {
      compatible: safe(() => compatible(timerNode), []),
      interrupts: safe(() => propCells(timerNode, 'interrupts') ?? [], []),
      alwaysOn: prop(timerNode, 'always-on') !== undefined,
    } : null,
    interruptControllers: nodes.filter((n) => prop(n, 'interrupt-controller')).map((n) => {
      const f = facts(n);
      return { ...f, gicVersion: f.compatible.map((c) => GIC_VERSIONS[c]).find((v) => v !== undefined) ?? null };
    }),
    msiControllers: nodes.filter((n) => prop(n, 'msi-controller')).map(facts),
    uarts: nodes.filter((n) => safe(() => compatible(n), []).some((c) => UART_COMPATIBLES.includes(c))).map(facts),
    memory: nodes.filter((n) => safe(() => propString(n, 'device_type'), undefined) === 'memory').map(facts),
    pciHosts: nodes.filter((n) => safe(() => propString(n, 'device_type'), undefined) === 'pci').map(facts),
    nodes: nodes.map(facts),
    malformed: unique(malformed),
  };
}
