import { ParseError } from '../../bytes/errors.js';
import { dtFacts, type DtFacts } from '../dt/facts.js';
import { DeviceTree, compatible, propCells, propU32 } from '../dt/tree.js';
import type { Tracker } from './read.js';

export const FDT_PATH = '/sys/firmware/fdt';
const MAX_FDT_BYTES = 16 * 1024 * 1024;

export interface LoadedDt {
  /** /sys/firmware/fdt is in the evidence. */
  present: boolean;
  bytes: number | null;
  /** Why the blob could not be parsed, or null. */
  error: string | null;
  tree?: DeviceTree;
  facts?: DtFacts;
  /**
   * "machine": the tree describes the machine (root compatible, devices).
   * "stub": only /chosen, the placeholder the EFI stub (or GRUB) builds when
   * the firmware installed no device tree: "Generating empty DTB".
   */
  kind: 'machine' | 'stub' | null;
}

/**
 * The flattened device tree the kernel booted with (/sys/firmware/fdt, the
 * blob as the EFI stub handed it over, /chosen included), parsed once.
 */
export function loadDt(t: Tracker): LoadedDt {
  return t.derived('fdt', (s) => {
    const bytes = s.bytes(FDT_PATH, MAX_FDT_BYTES);
    if (bytes === undefined) return { present: false, bytes: null, error: null, kind: null };
    let tree: DeviceTree;
    try {
      tree = DeviceTree.parse(bytes);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      return { present: true, bytes: bytes.length, error: e.message, kind: null };
    }
    const facts = dtFacts(tree);
    const nonChosen = tree.root.children.filter((c) => c.name !== 'chosen');
    const kind = facts.compatible.length === 0 && nonChosen.length === 0 ? 'stub' : 'machine';
    return { present: true, bytes: bytes.length, error: null, tree, facts, kind };
  });
}

/** The compatible strings of a node found by path, [] when absent. */
export function compatibleAt(tree: DeviceTree, path: string | null): string[] {
  if (path === null) return [];
  const n = tree.node(path);
  if (!n) return [];
  try {
    return compatible(n);
  } catch {
    return [];
  }
}

/** INTID of the virtual timer in a timer node's interrupts (PPI 11 → INTID 27), or null. */
export function dtVirtualTimerIntid(tree: DeviceTree): number | null {
  const timer = tree.findCompatible('arm,armv8-timer')[0] ?? tree.findCompatible('arm,armv7-timer')[0];
  if (!timer) return null;
  let cells: number[] | undefined;
  try {
    cells = propCells(timer, 'interrupts');
  } catch {
    return null;
  }
  // GIC bindings: <type number flags> (#interrupt-cells 3, or 4 with a PPI partition); the timer's
  // interrupts are secure, non-secure, virtual, hypervisor: the third entry is the virtual timer.
  let icCells = 3;
  try {
    const parent = tree.interruptParent(timer);
    icCells = (parent ? propU32(parent, '#interrupt-cells') : undefined) ?? 3;
  } catch {
    return null;
  }
  if (icCells < 2 || icCells > 4) return null;
  const entry = cells?.slice(2 * icCells, 3 * icCells);
  if (!entry || entry.length < 2) return null;
  const [type, num] = entry as [number, number];
  return type === 1 ? num + 16 : num + 32;
}
