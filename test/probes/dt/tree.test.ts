import t from 'tap';
import { readFileSync } from 'node:fs';
import { DeviceTree, addressCells, compatible, isEnabled, nodeBaseName, phandle, prop, propCells, propString, propStrings, propU32, propU64, sizeCells, status, unitAddress } from '../../../probes/dt/tree.js';
import { run } from '../../fixtures/cache.js';
import { type DtbFixture, type DtsNode, customDtb, dtsNodes, qemuDtb, qemuDtbs, readDts } from '../../fixtures/dtbs.js';

function load(f: DtbFixture): DeviceTree {
  return DeviceTree.parse(new Uint8Array(readFileSync(f.dtb)));
}

function fixtures(): DtbFixture[] {
  return [...qemuDtbs(), customDtb('board'), customDtb('board', ['-V', '16'])];
}

const be32 = (b: Uint8Array, i: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(i * 4, false);
const dtsProp = (n: DtsNode | undefined, name: string) => n?.props.find(([k]) => k === name)?.[1];

/** fdtget for many (node, property) pairs in one run: one output line per pair. */
function fdtget(f: DtbFixture, type: 's' | 'x', pairs: [string, string][]): string[] {
  if (pairs.length === 0) return [];
  return run('fdtget', ['-t', type, f.dtb, ...pairs.flat()]).split('\n').slice(0, pairs.length);
}

t.test('path lookup, parents and phandles for every node dtc shows', async (t) => {
  for (const f of fixtures()) {
    t.test(f.label, async (t) => {
      const tree = load(f);
      const all = dtsNodes(readDts(f).root);
      const parentOf = new Map<string, string>();
      for (const n of all) for (const c of n.children) parentOf.set(c.path, n.path);
      let phandles = 0;
      for (const d of all) {
        const n = tree.node(d.path);
        t.equal(n?.path, d.path, `node(${d.path})`);
        if (!n) continue;
        t.equal(tree.parent(n)?.path ?? null, parentOf.get(d.path) ?? null, `parent of ${d.path}`);
        const ph = dtsProp(d, 'phandle') ?? dtsProp(d, 'linux,phandle');
        if (ph) {
          phandles++;
          t.equal(phandle(n), be32(ph, 0), `phandle of ${d.path}`);
          t.equal(tree.byPhandle(be32(ph, 0)), n, `byPhandle(${be32(ph, 0)})`);
        }
        t.equal(status(n), (() => { const s = dtsProp(d, 'status'); return s ? Buffer.from(s.subarray(0, -1)).toString('latin1') : 'okay'; })(), `status of ${d.path}`);
      }
      t.ok(phandles > 0, `${phandles} phandles`);
      t.same(tree.duplicatePhandles, []);
      t.equal([...tree.nodes()].length, all.length, 'nodes() visits every node once');
    });
  }
});

t.test('compatible lists agree with fdtget -t s', async (t) => {
  for (const f of fixtures()) {
    const tree = load(f);
    const nodes = [...tree.nodes()].filter((n) => prop(n, 'compatible'));
    const want = fdtget(f, 's', nodes.map((n) => [n.path, 'compatible']));
    t.same(nodes.map((n) => compatible(n).join(' ')), want, f.label);
  }
});

t.test('reg decoded with the parent cells agrees with fdtget -t x and dts cells', async (t) => {
  for (const f of fixtures()) {
    const tree = load(f);
    const dts = readDts(f);
    const byPath = new Map(dtsNodes(dts.root).map((n) => [n.path, n]));
    const nodes = [...tree.nodes()].filter((n) => prop(n, 'reg'));
    const cells = fdtget(f, 'x', nodes.map((n) => [n.path, 'reg']));
    nodes.forEach((n, i) => {
      const parent = tree.parent(n);
      const pd = parent ? byPath.get(parent.path) : undefined;
      const ac = dtsProp(pd, '#address-cells');
      const sc = dtsProp(pd, '#size-cells');
      const a = ac ? be32(ac, 0) : 2;
      const s = sc ? be32(sc, 0) : 1;
      t.same(tree.regCells(n), { addressCells: a, sizeCells: s }, `${n.path}: cells from the parent`);
      const words = (cells[i] ?? '').trim().split(/\s+/).map((w) => BigInt(`0x${w}`));
      const want: { address: string; size: string }[] = [];
      for (let k = 0; k + a + s <= words.length; k += a + s) {
        const join = (ws: bigint[]) => `0x${ws.reduce((v, w) => (v << 32n) | w, 0n).toString(16)}`;
        want.push({ address: join(words.slice(k, k + a)), size: join(words.slice(k + a, k + a + s)) });
      }
      t.same(tree.reg(n), want, `${f.label} ${n.path}: reg`);
    });
  }
});

t.test('QEMU virt lookups', async (t) => {
  const tree = load(qemuDtb('gicv2'));
  t.equal(tree.node('/pl011@9000000')?.name, 'pl011@9000000');
  t.equal(tree.node('/pl011')?.path, '/pl011@9000000', 'unit address may be left out');
  t.equal(tree.node('/cpus/cpu')?.path, '/cpus/cpu@0');
  t.equal(tree.node('/nope'), undefined);
  t.equal(tree.node('/pl011@9000001'), undefined, 'a given unit address must match');
  const chosen = tree.node('/chosen');
  t.equal(chosen && propString(chosen, 'stdout-path'), '/pl011@9000000');
  const uart = tree.node('/pl011@9000000');
  if (!uart) throw new Error('no pl011');
  t.same(compatible(uart), ['arm,pl011', 'arm,primecell']);
  t.same(tree.reg(uart), [{ address: '0x9000000', size: '0x1000' }]);
  t.equal(tree.interruptParent(uart)?.path, '/intc@8000000', 'interrupt-parent inherited from the root');
  t.same(propCells(uart, 'interrupts'), [0, 1, 4]);
  t.equal(addressCells(tree.root), 2);
  t.equal(sizeCells(tree.root), 2);
  t.same(tree.findCompatible('arm,cortex-a15-gic').map((n) => n.path), ['/intc@8000000']);
  t.same(tree.aliases(), {}, 'QEMU virt has no /aliases');
  // The secure machine marks secure-world devices disabled for the normal world.
  const sec = load(qemuDtb('secure'));
  const secureUart = sec.node('/pl011@9040000');
  t.ok(secureUart);
  if (secureUart) {
    t.equal(status(secureUart), 'disabled');
    t.equal(isEnabled(secureUart), false);
    t.equal(propString(secureUart, 'secure-status'), 'okay');
  }
});

t.test('our board: aliases, labels, legacy phandles, odd cell sizes, typed decoders', async (t) => {
  const tree = load(customDtb('board'));
  t.same(tree.aliases(), { serial0: '/soc/serial@1c090000', serial1: '/soc/serial@1c0a0000', rtc0: '/soc/rtc@1c170000' });
  t.equal(tree.node('serial0')?.path, '/soc/serial@1c090000', 'alias lookup');
  t.equal(tree.node('serial1')?.path, '/soc/serial@1c0a0000');
  t.equal(tree.node('nosuch'), undefined);
  t.equal(tree.node('/soc/serial')?.path, '/soc/serial@1c090000', 'first match without unit address');
  t.equal(tree.byPhandle(0x77)?.path, '/soc/legacy@1c180000', 'linux,phandle');
  const legacy = tree.byPhandle(0x77);
  t.equal(legacy && isEnabled(legacy), true, 'legacy "ok" counts as enabled');
  const rtc = tree.node('rtc0');
  t.equal(rtc && status(rtc), 'fail');
  t.equal(rtc && isEnabled(rtc), false);
  const cpu100 = tree.node('/cpus/cpu@100');
  if (!cpu100) throw new Error('no cpu@100');
  t.same(tree.reg(cpu100), [{ address: '0x100', size: '0x0' }], '#size-cells 0');
  t.equal(propU64(cpu100, 'cpu-release-addr'), '0x8000fff8');
  t.equal(unitAddress(cpu100), '100');
  t.equal(nodeBaseName(cpu100), 'cpu');
  const core0 = tree.node('/cpus/cpu-map/cluster0/core0');
  t.equal(core0 && tree.byPhandle(propU32(core0, 'cpu') ?? 0)?.path, '/cpus/cpu@0', 'path reference became a phandle');
  const mem = tree.node('/memory');
  t.same(mem && tree.reg(mem), [{ address: '0x80000000', size: '0x80000000' }, { address: '0x880000000', size: '0x100000000' }]);
  const dev = tree.node('/pcie@4010000000/dev@1,0');
  t.same(dev && tree.reg(dev), [{ address: '0x8000000000000000000', size: '0x0' }], 'three address cells: 0x800 << 64');
  const values = tree.node('/soc/values');
  if (!values) throw new Error('no values');
  t.equal(propString(values, 'escaped'), 'tab\there "q" back\\slash');
  t.same(propStrings(tree.root, 'compatible'), ['vmspec,test', 'arm,vexpress']);
  t.equal(prop(values, 'empty')?.value.length, 0);
  t.same(propCells(values, 'ref'), [3, 4]);
  t.equal(tree.node('/timer') && prop(tree.node('/timer') ?? tree.root, 'always-on') !== undefined, true);
  // Wrongly typed values are ParseErrors naming the property.
  t.throws(() => propString(values, 'not-a-string'), { name: 'ParseError', structure: 'FDT property', message: /\/soc\/values:not-a-string is 4 bytes, not a NUL-terminated string/ });
  t.throws(() => propString(values, 'mixed'), { name: 'ParseError' }, 'string followed by cells');
  t.throws(() => propU32(values, 'big'), { name: 'ParseError', message: /not a 4-byte <u32>/ });
  t.throws(() => propCells(values, 'bytes'), { name: 'ParseError', message: /whole number of 32-bit cells/ });
  t.throws(() => propU64(values, 'bytes'), { name: 'ParseError' });
  t.throws(() => propStrings(values, 'mac-address'), { name: 'ParseError' });
  t.equal(propString(values, 'absent'), undefined);
});

t.test('reg that does not fit the cells is a ParseError', async (t) => {
  const tree = load(customDtb('board'));
  const uart = tree.node('/soc/serial@1c090000');
  if (!uart) throw new Error('no uart');
  const reg = prop(uart, 'reg');
  if (!reg) throw new Error('no reg');
  // Pretend the UART sat directly under the root (2 + 2 cells): 8 bytes of reg no longer fit.
  const moved = { ...uart, path: '/serial' };
  const root = { ...tree.root, children: [moved] };
  const fake = new DeviceTree({ ...tree.fdt, root });
  t.throws(() => fake.reg(moved), { name: 'ParseError', structure: 'FDT property', offset: reg.offset, message: /reg is 8 bytes, not a multiple of \(2 \+ 2\) cells/ });
});
