import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../bytes/errors.js';
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP, type FdtNode, parseFdt, parseFdtHeader } from '../../../probes/dt/fdt.js';
import { type DtbFixture, type DtsNode, compileDts, customDtb, deepDts, dtsNodes, qemuDtbs, readDts, readFdtdumpHeader } from '../../fixtures/dtbs.js';
import { prng as rng } from '../../fixtures/prng.js';

function fixtures(): DtbFixture[] {
  return [...qemuDtbs(), customDtb('board'), customDtb('board', ['-V', '16']), customDtb('board', ['-p', '4096'])];
}

/** Same names, same properties (names, order, exact bytes), same children, recursively. */
function sameTree(t: Pick<Test, 'equal' | 'same'>, ours: FdtNode, theirs: DtsNode): void {
  t.equal(ours.path, theirs.path, 'path');
  t.same(ours.properties.map((p) => p.name), theirs.props.map(([n]) => n), `${theirs.path}: property names`);
  ours.properties.forEach((p, i) => {
    t.same(Buffer.from(p.value).toString('hex'), Buffer.from(theirs.props[i]?.[1] ?? []).toString('hex'), `${theirs.path}:${p.name}`);
  });
  t.same(ours.children.map((c) => c.name), theirs.children.map((c) => c.name), `${theirs.path}: children`);
  ours.children.forEach((c, i) => {
    const d = theirs.children[i];
    if (d) sameTree(t, c, d);
  });
}

t.test('every node, property and value agrees with dtc -O dts; header with fdtdump', async (t) => {
  for (const f of fixtures()) {
    t.test(f.label, async (t) => {
      const bytes = new Uint8Array(readFileSync(f.dtb));
      const fdt = parseFdt(bytes);
      const dump = readFdtdumpHeader(f);
      const h = fdt.header;
      t.equal(h.magic, dump['magic'], 'magic');
      t.equal(h.totalsize, dump['totalsize'], 'totalsize');
      t.equal(h.offDtStruct, dump['off_dt_struct'], 'off_dt_struct');
      t.equal(h.offDtStrings, dump['off_dt_strings'], 'off_dt_strings');
      t.equal(h.offMemRsvmap, dump['off_mem_rsvmap'], 'off_mem_rsvmap');
      t.equal(h.version, dump['version'], 'version');
      t.equal(h.lastCompVersion, dump['last_comp_version'], 'last_comp_version');
      t.equal(h.bootCpuidPhys, dump['boot_cpuid_phys'], 'boot_cpuid_phys');
      t.equal(h.sizeDtStrings, dump['size_dt_strings'], 'size_dt_strings');
      t.equal(h.sizeDtStruct, dump['size_dt_struct'] ?? null, 'size_dt_struct (absent before version 17)');
      const dts = readDts(f);
      t.same(fdt.reservations, dts.reservations, 'memory reservation map');
      sameTree(t, fdt.root, dts.root);
      const all = dtsNodes(dts.root);
      t.equal(fdt.nodeCount, all.length, 'node count');
      t.equal(fdt.propertyCount, all.reduce((n, x) => n + x.props.length, 0), 'property count');
    });
  }
});

t.test('QEMU blobs: padded to 1 MiB, version 17, what the notes say', async (t) => {
  for (const f of qemuDtbs()) {
    const fdt = parseFdt(new Uint8Array(readFileSync(f.dtb)));
    t.match(fdt.header, { totalsize: 1048576, version: 17, lastCompVersion: 16 }, f.label);
    t.same(fdt.reservations, []);
  }
});

// ---------------------------------------------------------------------------
// Hand-built blobs for the malformed cases: a minimal writer (big-endian tokens).

interface Tok { t: number; name?: string; value?: number[]; nameoff?: number; raw?: number[] }

function blob(tokens: Tok[], opts: { strings?: string; rsv?: [bigint, bigint][]; version?: number; lastComp?: number; tweak?: (dv: DataView) => void } = {}): Uint8Array {
  const strings = opts.strings ?? 'compatible\0reg\0';
  const words: number[] = [];
  const pushBytes = (b: number[]) => {
    const padded = [...b];
    while (padded.length % 4) padded.push(0);
    for (let i = 0; i < padded.length; i += 4) words.push((((padded[i] ?? 0) << 24) | ((padded[i + 1] ?? 0) << 16) | ((padded[i + 2] ?? 0) << 8) | (padded[i + 3] ?? 0)) >>> 0);
  };
  for (const tok of tokens) {
    if (tok.raw) { pushBytes(tok.raw); continue; }
    words.push(tok.t);
    if (tok.t === FDT_BEGIN_NODE) pushBytes([...Buffer.from(tok.name ?? '', 'latin1'), 0]);
    if (tok.t === FDT_PROP) {
      words.push(tok.value?.length ?? 0, tok.nameoff ?? 0);
      pushBytes(tok.value ?? []);
    }
  }
  const rsv = opts.rsv ?? [];
  const rsvOff = 40;
  const structOff = rsvOff + (rsv.length + 1) * 16;
  const structSize = words.length * 4;
  const stringsOff = structOff + structSize;
  const total = stringsOff + strings.length;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xd00dfeed);
  dv.setUint32(4, total);
  dv.setUint32(8, structOff);
  dv.setUint32(12, stringsOff);
  dv.setUint32(16, rsvOff);
  dv.setUint32(20, opts.version ?? 17);
  dv.setUint32(24, opts.lastComp ?? 16);
  dv.setUint32(32, strings.length);
  dv.setUint32(36, structSize);
  rsv.forEach(([a, s], i) => { dv.setBigUint64(rsvOff + i * 16, a); dv.setBigUint64(rsvOff + i * 16 + 8, s); });
  words.forEach((w, i) => dv.setUint32(structOff + i * 4, w));
  b.set(Buffer.from(strings, 'latin1'), stringsOff);
  opts.tweak?.(dv);
  return b;
}

const BEGIN = (name: string): Tok => ({ t: FDT_BEGIN_NODE, name });
const END_NODE: Tok = { t: FDT_END_NODE };
const END: Tok = { t: FDT_END };
const NOP: Tok = { t: FDT_NOP };
const PROP = (nameoff: number, value: number[]): Tok => ({ t: FDT_PROP, nameoff, value });

t.test('the hand-built writer produces blobs dtc agrees with', async (t) => {
  const b = blob([NOP, BEGIN(''), PROP(0, [0x61, 0]), NOP, BEGIN('child@1'), PROP(11, [0, 0, 0, 1]), END_NODE, END_NODE, NOP, END], { rsv: [[0x1000n, 0x2000n]] });
  const fdt = parseFdt(b);
  t.same(fdt.reservations, [{ address: '0x1000', size: '0x2000' }]);
  t.same(fdt.root.properties.map((p) => [p.name, [...p.value]]), [['compatible', [0x61, 0]]]);
  t.equal(fdt.root.children[0]?.path, '/child@1');
  t.same(fdt.root.children[0]?.properties.map((p) => p.name), ['reg']);
});

t.test('malformed blobs are ParseErrors naming the structure and offset', async (t) => {
  const ok = [BEGIN(''), PROP(0, [0x61, 0]), BEGIN('a'), END_NODE, END_NODE, END];
  const structOff = 56;
  const cases: [string, Uint8Array, Record<string, unknown>][] = [
    ['empty', new Uint8Array(0), { structure: 'FDT header', offset: 0, message: /too short/ }],
    ['bad magic', blob(ok, { tweak: (dv) => dv.setUint32(0, 0xfeedd00d) }), { structure: 'FDT header', offset: 0, message: /magic is 0xfeedd00d/ }],
    ['little-endian magic', blob(ok, { tweak: (dv) => dv.setUint32(0, 0xedfe0dd0) }), { structure: 'FDT header', message: /expected 0xd00dfeed/ }],
    ['version 15', blob(ok, { version: 15 }), { structure: 'FDT header', offset: 20, message: /older than 16/ }],
    ['last_comp_version 18', blob(ok, { version: 18, lastComp: 18 }), { structure: 'FDT header', offset: 24 }],
    ['totalsize past the buffer', blob(ok, { tweak: (dv) => dv.setUint32(4, dv.byteLength + 1) }), { structure: 'FDT header', offset: 4, message: /larger than/ }],
    ['totalsize below the header', blob(ok, { tweak: (dv) => dv.setUint32(4, 20) }), { structure: 'FDT header', offset: 4 }],
    ['struct block misaligned', blob(ok, { tweak: (dv) => dv.setUint32(8, structOff + 2) }), { structure: 'FDT header', offset: 8, message: /aligned/ }],
    ['struct block past totalsize', blob(ok, { tweak: (dv) => dv.setUint32(36, 0x10000) }), { structure: 'FDT header', offset: 8, message: /runs past totalsize/ }],
    ['strings block past totalsize', blob(ok, { tweak: (dv) => dv.setUint32(32, 0x10000) }), { structure: 'FDT header', offset: 12 }],
    ['reservation map in the header', blob(ok, { tweak: (dv) => dv.setUint32(16, 8) }), { structure: 'FDT header', offset: 16 }],
    ['reservation map misaligned', blob(ok, { tweak: (dv) => dv.setUint32(16, 44) }), { structure: 'FDT header', offset: 16, message: /8-byte aligned/ }],
    ['nameoff out of range', blob([BEGIN(''), PROP(400, [1]), END_NODE, END]), { structure: 'FDT structure block', offset: structOff + 16, message: /nameoff 400 is outside/ }],
    ['name not terminated in the strings block', blob([BEGIN(''), PROP(0, []), END_NODE, END], { strings: 'compatible' }), { structure: 'FDT strings block', message: /not NUL-terminated/ }],
    ['property value past the block', blob([BEGIN(''), { t: FDT_PROP, raw: [0, 0, 0, 3, 0, 0, 1, 0, 0, 0, 0, 0] }, PROP(0, [1]), END_NODE, END], {}), { structure: 'FDT structure block', message: /property value \(256 bytes\) runs past/ }],
    ['unterminated node (FDT_END inside)', blob([BEGIN(''), BEGIN('a'), END_NODE, END]), { structure: 'FDT structure block', message: /FDT_END inside unterminated node \// }],
    ['no FDT_END', blob([BEGIN(''), END_NODE]), { structure: 'FDT structure block', message: /token runs past the end/ }],
    ['END_NODE with no node', blob([BEGIN(''), END_NODE, END_NODE, END]), { structure: 'FDT structure block', message: /second top-level|no open node/ }],
    ['second root', blob([BEGIN(''), END_NODE, BEGIN(''), END_NODE, END]), { structure: 'FDT structure block', message: /second top-level node/ }],
    ['property outside a node', blob([PROP(0, [1]), BEGIN(''), END_NODE, END]), { structure: 'FDT structure block', offset: structOff, message: /expected FDT_BEGIN_NODE/ }],
    ['unknown token', blob([BEGIN(''), { t: 7 }, END_NODE, END]), { structure: 'FDT structure block', offset: structOff + 8, message: /unknown token 0x7/ }],
    ['node name with "/"', blob([BEGIN(''), BEGIN('a/b'), END_NODE, END_NODE, END]), { structure: 'FDT structure block', message: /contains "\/"/ }],
    ['empty child name', blob([BEGIN(''), BEGIN(''), END_NODE, END_NODE, END]), { structure: 'FDT structure block', message: /is empty/ }],
    ['node name not terminated', blob([BEGIN(''), { t: FDT_BEGIN_NODE, raw: [0, 0, 0, 1, 0x61, 0x62, 0x63, 0x64] }]), { structure: 'FDT structure block', message: /node name is not NUL-terminated/ }],
    ['reservation map without terminator', blob(ok, { tweak: (dv) => { for (let o = 40; o < dv.byteLength; o++) dv.setUint8(o, 0xff); } }), { structure: 'FDT memory reservation block', message: /no \(0, 0\) terminator/ }],
  ];
  for (const [name, bytes, want] of cases) t.throws(() => parseFdt(bytes), { name: 'ParseError', ...want }, name);
});

t.test('caps: nesting depth, node and property counts, reservations', async (t) => {
  const deep = compileDts('deep100', deepDts(100));
  t.throws(() => parseFdt(new Uint8Array(readFileSync(deep.dtb))), { name: 'ParseError', structure: 'FDT structure block', message: /nested deeper than 64/ });
  const ok = parseFdt(new Uint8Array(readFileSync(compileDts('deep60', deepDts(60)).dtb)));
  t.equal(ok.nodeCount, 61, 'depth 60 is fine');
  const board = new Uint8Array(readFileSync(customDtb('board').dtb));
  const limits = { maxDepth: 64, maxNodes: 100_000, maxProperties: 1_000_000, maxReservations: 1024 };
  t.throws(() => parseFdt(board, { ...limits, maxNodes: 10 }), { name: 'ParseError', message: /more than 10 nodes/ });
  t.throws(() => parseFdt(board, { ...limits, maxProperties: 10 }), { name: 'ParseError', message: /more than 10 properties/ });
  t.throws(() => parseFdt(board, { ...limits, maxReservations: 1 }), { name: 'ParseError', structure: 'FDT memory reservation block', message: /more than 1 entries/ });
  const many = blob([BEGIN(''), END_NODE, END], { rsv: Array.from({ length: 1100 }, (_, i) => [BigInt(i + 1) << 12n, 0x1000n] as [bigint, bigint]) });
  t.throws(() => parseFdt(many), { name: 'ParseError', message: /more than 1024 entries/ });
});

t.test('header-only reads and a version 16 blob', async (t) => {
  const v16 = new Uint8Array(readFileSync(customDtb('board', ['-V', '16']).dtb));
  t.match(parseFdtHeader(v16), { version: 16, sizeDtStruct: null });
  t.throws(() => parseFdtHeader(v16.subarray(0, 30)), { name: 'ParseError', message: /too short for the 36-byte header/ });
});


function tryParse(b: Uint8Array): boolean {
  try {
    parseFdt(b);
    return true;
  } catch (e) {
    if (e instanceof ParseError) return false;
    throw e;
  }
}

t.test('truncation and corruption: success or ParseError, nothing else', async (t) => {
  const board = new Uint8Array(readFileSync(customDtb('board').dtb));
  const parsedCuts: number[] = [];
  for (let cut = 0; cut < board.length; cut++) if (tryParse(board.subarray(0, cut))) parsedCuts.push(cut);
  t.same(parsedCuts, [], `every one of ${board.length} truncations is a ParseError`);
  const random = rng(0xfd7);
  let oks = 0;
  let errors = 0;
  const sources = [board, new Uint8Array(readFileSync(qemuDtbs()[1]?.dtb ?? '')).subarray(0, 8192)];
  for (const src of sources) {
    for (let i = 0; i < 2000; i++) {
      const b = Uint8Array.from(src);
      // Keep totalsize honest for the truncated QEMU blob so corruption reaches the blocks.
      new DataView(b.buffer).setUint32(4, Math.min(new DataView(b.buffer).getUint32(4), b.length));
      const flips = 1 + Math.floor(random() * 3);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(random() * b.length);
        b[at] = [0, 0xff, 1, 2, 3, 9, Math.floor(random() * 256)][Math.floor(random() * 7)] ?? 0;
      }
      if (tryParse(b)) oks++;
      else errors++;
    }
  }
  t.ok(oks > 0 && errors > 0, `${oks} parsed, ${errors} rejected`);
});
