import type { DtNodeFacts } from '../dt/facts.js';
import { defineProbe } from '../types.js';
import { compatibleAt, dtVirtualTimerIntid, loadDt } from './devicetree.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, bool, enumOf, type FactsOf, int, nint, NO_PARAMS, nobj, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.devicetree`: the flattened device tree the guest kernel booted
 * with (/sys/firmware/fdt), parsed by our own FDT parser. Under ACPI the
 * blob is the EFI stub's placeholder (only /chosen): `kind` says which.
 */

export const SBSA_UART_COMPATIBLES = ['arm,pl011', 'arm,sbsa-uart'];

const node = obj({ path: str(), compatible: arr(str()), status: str('"okay" when the node has no status'), reg: arr(str(), 'reg base addresses') });

const facts = obj({
  present: bool('/sys/firmware/fdt is in the evidence'),
  bytes: nint(),
  error: nstr('why the blob did not parse'),
  kind: enumOf(['machine', 'stub', null], '"machine": a device tree describing the VM; "stub": only /chosen (the EFI stub\'s placeholder when the firmware installed no DT)'),
  model: nstr(),
  compatible: arr(str(), 'root compatible'),
  chosen: nobj({
    stdoutPath: nstr(),
    stdoutNode: nstr('the node stdout-path resolves to (through /aliases), null when it does not resolve'),
    stdoutCompatible: arr(str()),
    stdoutStatus: nstr(),
    stdoutIsSbsaUart: bool('stdout-path names an enabled arm,pl011 or arm,sbsa-uart node'),
    uefiSystemTable: bool('/chosen has linux,uefi-system-table: the kernel was started by the EFI stub'),
  }),
  psci: nobj({
    compatible: arr(str()),
    method: nstr('"hvc" or "smc"'),
    highestVersion: nstr('highest arm,psci-X.Y in compatible ("1.0"); "0.1" for plain arm,psci'),
    atLeast02: bool('compatible names PSCI 0.2 or later'),
  }),
  timer: nobj({ compatible: arr(str()), armv8: bool('arm,armv8-timer'), virtualTimerIntid: nint('GIC INTID of the virtual timer (third interrupt; PPI 11 = 27)'), alwaysOn: bool() }),
  gic: nobj({ path: str(), compatible: arr(str()), status: str(), version: nint('2 for arm,cortex-a15-gic/gic-400, 3 for arm,gic-v3'), msiControllers: arr(node) }),
  uarts: arr(node, 'nodes compatible with a UART (pl011, sbsa-uart, 8250 family)'),
  rtcs: arr(node, 'RTC nodes (arm,pl031): under UEFI the firmware owns the RTC and marks it disabled'),
  pciHosts: arr(obj({ path: str(), compatible: arr(str()), status: str(), ecam: bool('pci-host-ecam-generic') })),
  cpuCount: int(),
  memoryNodes: int(),
  malformed: arr(str()),
  ...SOURCE_FACTS,
});

function nodeFacts(n: DtNodeFacts): FactsOf<typeof node> {
  return { path: n.path, compatible: n.compatible, status: n.status, reg: n.reg.map((r) => r.address) };
}

function psciVersion(compat: string[]): string | null {
  let best: [number, number] | null = null;
  for (const c of compat) {
    const m = /^arm,psci-(\d+)\.(\d+)$/.exec(c);
    if (m) {
      const v: [number, number] = [Number(m[1]), Number(m[2])];
      if (!best || v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
    }
  }
  if (best) return `${best[0]}.${best[1]}`;
  return compat.includes('arm,psci') ? '0.1' : null;
}

export const devicetreeEvidenceProbe = defineProbe({
  name: 'evidence.devicetree',
  summary: 'The device tree the guest booted with: /chosen stdout-path, psci, timer, GIC, UARTs, PCIe host, status of each',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.devicetree');
    const dt = loadDt(t);
    const f = dt.facts;
    const tree = dt.tree;
    const base: Omit<FactsOf<typeof facts>, keyof typeof SOURCE_FACTS> = {
      present: dt.present, bytes: dt.bytes, error: dt.error, kind: dt.kind, model: null, compatible: [], chosen: null, psci: null,
      timer: null, gic: null, uarts: [], rtcs: [], pciHosts: [], cpuCount: 0, memoryNodes: 0, malformed: [],
    };
    if (!f || !tree) return { ...base, ...t.sourceFacts() };
    const stdoutNode = f.chosen?.stdoutNode ?? null;
    const stdoutFacts = stdoutNode ? f.nodes.find((n) => n.path === stdoutNode) : undefined;
    const gic = f.interruptControllers.find((n) => n.gicVersion !== null);
    const timerNode = f.timer;
    const psciCompat = f.psci?.compatible ?? [];
    const chosenNode = tree.node('/chosen');
    const version = psciVersion(psciCompat);
    const out: FactsOf<typeof facts> = {
      ...base,
      model: f.model,
      compatible: f.compatible,
      chosen: f.chosen ? {
        stdoutPath: f.chosen.stdoutPath,
        stdoutNode,
        stdoutCompatible: compatibleAt(tree, stdoutNode),
        stdoutStatus: stdoutFacts?.status ?? null,
        stdoutIsSbsaUart: stdoutFacts !== undefined && (stdoutFacts.status === 'okay' || stdoutFacts.status === 'ok') && stdoutFacts.compatible.some((c) => SBSA_UART_COMPATIBLES.includes(c)),
        uefiSystemTable: chosenNode?.properties.some((p) => p.name === 'linux,uefi-system-table') ?? false,
      } : null,
      psci: f.psci ? {
        compatible: psciCompat,
        method: f.psci.method,
        highestVersion: version,
        atLeast02: version !== null && version !== '0.1',
      } : null,
      timer: timerNode ? {
        compatible: timerNode.compatible,
        armv8: timerNode.compatible.includes('arm,armv8-timer'),
        virtualTimerIntid: dtVirtualTimerIntid(tree),
        alwaysOn: timerNode.alwaysOn,
      } : null,
      gic: gic ? {
        path: gic.path, compatible: gic.compatible, status: gic.status, version: gic.gicVersion,
        msiControllers: f.msiControllers.map(nodeFacts),
      } : null,
      uarts: f.uarts.map(nodeFacts),
      rtcs: f.nodes.filter((n) => n.compatible.includes('arm,pl031') || /^rtc@/.test(n.path.split('/').pop() ?? '')).map(nodeFacts),
      pciHosts: f.pciHosts.map((n) => ({ path: n.path, compatible: n.compatible, status: n.status, ecam: n.compatible.includes('pci-host-ecam-generic') })),
      cpuCount: f.cpus.count,
      memoryNodes: f.memory.length,
      malformed: f.malformed,
      ...t.sourceFacts(),
    };
    return out;
  },
});
