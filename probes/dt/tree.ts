import { ParseError } from '../../bytes/errors.js';
import { type Fdt, type FdtLimits, type FdtNode, type FdtProperty, latin1, parseFdt } from './fdt.js';
import { hex } from '../../bytes/hex.js';

/**
 * A parsed devicetree with the lookups the DT spec defines: paths (with
 * libfdt's unit-address-less matching), aliases, phandles, and reg decoded
 * with the parent's #address-cells/#size-cells.
 */
export class DeviceTree {
  readonly #parents = new Map<FdtNode, FdtNode | null>();
  readonly #byPath = new Map<string, FdtNode>();
  readonly #byPhandle = new Map<number, FdtNode>();
  /** phandle values given to more than one node (the first keeps the lookup). */
  readonly duplicatePhandles: number[] = [];

  constructor(readonly fdt: Fdt) {
    // Iterative, so a tree parsed with a generous maxDepth cannot overflow the stack.
    const stack: [FdtNode, FdtNode | null][] = [[fdt.root, null]];
    for (let item = stack.pop(); item; item = stack.pop()) {
      const [node, parent] = item;
      this.#parents.set(node, parent);
      if (!this.#byPath.has(node.path)) this.#byPath.set(node.path, node);
      const ph = phandle(node);
      if (ph !== undefined) {
        if (this.#byPhandle.has(ph)) this.duplicatePhandles.push(ph);
        else this.#byPhandle.set(ph, node);
      }
      for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i] as FdtNode, node]);
    }
  }

  static parse(bytes: Uint8Array, limits?: FdtLimits): DeviceTree {
    return new DeviceTree(parseFdt(bytes, limits));
  }

  get root(): FdtNode {
    return this.fdt.root;
  }

  /** Every node, depth first, root included. */
  *nodes(from: FdtNode = this.fdt.root): Generator<FdtNode> {
    const stack = [from];
    for (let n = stack.pop(); n; n = stack.pop()) {
      yield n;
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as FdtNode);
    }
  }

  parent(node: FdtNode): FdtNode | null {
    return this.#parents.get(node) ?? null;
  }

  /**
   * A node by path. "/a/b@1" exact; "/a/b" also matches "b@<anything>"
   * (first such child, as libfdt's fdt_path_offset does); a path not
   * starting with "/" begins with an alias ("serial0", "serial0/child").
   */
  node(path: string): FdtNode | undefined {
    let start = this.fdt.root;
    let rest = path;
    if (!path.startsWith('/')) {
      const slash = path.indexOf('/');
      const alias = slash < 0 ? path : path.slice(0, slash);
      const target = this.aliases()[alias];
      if (target === undefined || !target.startsWith('/')) return undefined;
      const aliased = this.node(target);
      if (!aliased) return undefined;
      start = aliased;
      rest = slash < 0 ? '' : path.slice(slash);
    } else {
      const exact = this.#byPath.get(path);
      if (exact) return exact;
    }
    let node: FdtNode | undefined = start;
    for (const part of rest.split('/').filter((p) => p !== '')) {
      node = node.children.find((c) => c.name === part) ??
        (part.includes('@') ? undefined : node.children.find((c) => c.name.startsWith(`${part}@`)));
      if (!node) return undefined;
    }
    return node;
  }

  /** /aliases: alias name → path (string-valued properties only). */
  aliases(): Record<string, string> {
    const out: Record<string, string> = {};
    const node = this.#byPath.get('/aliases');
    for (const p of node?.properties ?? []) {
      const v = asString(p);
      if (v !== undefined) out[p.name] = v;
    }
    return out;
  }

  byPhandle(ph: number): FdtNode | undefined {
    return this.#byPhandle.get(ph);
  }

  /** Nodes whose compatible list contains `compat`. */
  findCompatible(compat: string): FdtNode[] {
    // A node whose compatible does not decode matches nothing: its damage is reported with that node
    // (dtFacts' `malformed`), not by every search that passes it.
    return [...this.nodes()].filter((n) => {
      try {
        return compatible(n).includes(compat);
      } catch (e) {
        if (e instanceof ParseError) return false;
        throw e;
      }
    });
  }

  /** #address-cells / #size-cells that apply to `node`'s reg: its parent's (DT spec v0.4 §2.3.5; defaults 2 and 1). */
  regCells(node: FdtNode): { addressCells: number; sizeCells: number } {
    const parent = this.parent(node);
    return parent ? { addressCells: addressCells(parent), sizeCells: sizeCells(parent) } : { addressCells: 2, sizeCells: 1 };
  }

  /** reg (DT spec v0.4 §2.3.6) as (address, size) pairs; [] without reg. */
  reg(node: FdtNode): RegEntry[] {
    const p = prop(node, 'reg');
    if (!p) return [];
    const { addressCells: ac, sizeCells: sc } = this.regCells(node);
    if (ac > MAX_CELLS || sc > MAX_CELLS) {
      throw new ParseError('FDT property', p.offset, `${node.path}: #address-cells ${ac} / #size-cells ${sc} of the parent exceed ${MAX_CELLS}`);
    }
    const stride = (ac + sc) * 4;
    if (stride === 0 || p.value.length % stride !== 0) {
      throw new ParseError('FDT property', p.offset, `${node.path}: reg is ${p.value.length} bytes, not a multiple of (${ac} + ${sc}) cells`);
    }
    const dv = view(p.value);
    const read = (o: number, n: number) => {
      let v = 0n;
      for (let i = 0; i < n; i++) v = (v << 32n) | BigInt(dv.getUint32(o + i * 4, false));
      return hex(v);
    };
    const out: RegEntry[] = [];
    for (let o = 0; o < p.value.length; o += stride) out.push({ address: read(o, ac), size: read(o + ac * 4, sc) });
    return out;
  }

  /** The interrupt parent: the nearest interrupt-parent phandle up the tree, resolved (DT spec v0.4 §2.4.1). */
  interruptParent(node: FdtNode): FdtNode | undefined {
    for (let n: FdtNode | null = node; n; n = this.parent(n)) {
      const ph = propU32(n, 'interrupt-parent');
      if (ph !== undefined) return this.byPhandle(ph);
    }
    return undefined;
  }
}

/** One reg entry; address and size are hex strings (they can be 64-bit or wider). */
export interface RegEntry {
  address: string;
  size: string;
}

/** Linux's OF_MAX_ADDR_CELLS: no bus needs more. */
const MAX_CELLS = 4;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function prop(node: FdtNode, name: string): FdtProperty | undefined {
  return node.properties.find((p) => p.name === name);
}

/** Name without unit address ("pl011" for "pl011@9000000"). */
export function nodeBaseName(node: FdtNode): string {
  const at = node.name.indexOf('@');
  return at < 0 ? node.name : node.name.slice(0, at);
}

/** Unit address text ("9000000"), or undefined. */
export function unitAddress(node: FdtNode): string | undefined {
  const at = node.name.indexOf('@');
  return at < 0 ? undefined : node.name.slice(at + 1);
}

/** A <stringlist> value split at NULs, or undefined unless it is one or more NUL-terminated strings. */
function asStrings(p: FdtProperty): string[] | undefined {
  const v = p.value;
  if (v.length === 0 || v[v.length - 1] !== 0) return undefined;
  return latin1(v.subarray(0, v.length - 1)).split('\0');
}

function asString(p: FdtProperty): string | undefined {
  const list = asStrings(p);
  return list?.length === 1 ? list[0] : undefined;
}

function badValue(node: FdtNode, p: FdtProperty, expected: string): ParseError {
  return new ParseError('FDT property', p.offset, `${node.path}:${p.name} is ${p.value.length} bytes, not ${expected}`);
}

/** A <string> property (DT spec v0.4 Table 2.3); ParseError if present but not one NUL-terminated string. */
export function propString(node: FdtNode, name: string): string | undefined {
  const p = prop(node, name);
  if (!p) return undefined;
  const v = asString(p);
  if (v === undefined) throw badValue(node, p, 'a NUL-terminated string');
  return v;
}

/** A <stringlist> property. */
export function propStrings(node: FdtNode, name: string): string[] | undefined {
  const p = prop(node, name);
  if (!p) return undefined;
  const v = asStrings(p);
  if (v === undefined) throw badValue(node, p, 'a list of NUL-terminated strings');
  return v;
}

/** A <u32> property. */
export function propU32(node: FdtNode, name: string): number | undefined {
  const p = prop(node, name);
  if (!p) return undefined;
  if (p.value.length !== 4) throw badValue(node, p, 'a 4-byte <u32>');
  return view(p.value).getUint32(0, false);
}

/** A <prop-encoded-array> of u32 cells. */
export function propCells(node: FdtNode, name: string): number[] | undefined {
  const p = prop(node, name);
  if (!p) return undefined;
  if (p.value.length % 4 !== 0) throw badValue(node, p, 'a whole number of 32-bit cells');
  const dv = view(p.value);
  return Array.from({ length: p.value.length / 4 }, (_, i) => dv.getUint32(i * 4, false));
}

/** A <u64> property as a hex string. */
export function propU64(node: FdtNode, name: string): string | undefined {
  const p = prop(node, name);
  if (!p) return undefined;
  if (p.value.length !== 8) throw badValue(node, p, 'an 8-byte <u64>');
  return hex(view(p.value).getBigUint64(0, false));
}

/** The compatible list (DT spec v0.4 §2.3.1); [] when absent. */
export function compatible(node: FdtNode): string[] {
  return propStrings(node, 'compatible') ?? [];
}

/** status (DT spec v0.4 §2.3.4): "okay" when absent. */
export function status(node: FdtNode): string {
  return propString(node, 'status') ?? 'okay';
}

/** Operational per status: "okay", or the legacy "ok" Linux also accepts. */
export function isEnabled(node: FdtNode): boolean {
  const s = status(node);
  return s === 'okay' || s === 'ok';
}

/** phandle (DT spec v0.4 §2.3.3), or the legacy linux,phandle. 0 and 0xffffffff are not valid phandles. */
export function phandle(node: FdtNode): number | undefined {
  const p = prop(node, 'phandle') ?? prop(node, 'linux,phandle');
  if (!p || p.value.length !== 4) return undefined;
  const v = view(p.value).getUint32(0, false);
  return v === 0 || v === 0xffffffff ? undefined : v;
}

/** #address-cells of a node (for its children), default 2 (DT spec v0.4 §2.3.5). */
export function addressCells(node: FdtNode): number {
  return propU32(node, '#address-cells') ?? 2;
}

/** #size-cells of a node (for its children), default 1. */
export function sizeCells(node: FdtNode): number {
  return propU32(node, '#size-cells') ?? 1;
}
