import t from 'tap';
import fc from 'fast-check';
import { DEFAULT_FDT_LIMITS, FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAGIC, FDT_PROP } from '../../probes/dt/fdt.js';
import { DEFAULT_FUZZ_SEED, checkCase, fuzz } from './harness.js';
import { fdtTarget } from './targets/fdt.js';

/** FDT under mutations of QEMU's and dtc's blobs, plus generated structure blocks that nest without end. */

t.test('FDT: header, structure tokens, string offsets', async (t) => {
  const stats = fuzz(t, fdtTarget);
  t.ok(stats.counts.ok > 0 && stats.counts.ParseError > 0, 'the cases reach both parsed and refused blobs');
  t.ok(stats.distinctErrors >= 10, `mutations reach many different checks (${stats.distinctErrors})`);
});

/** A version 17 blob around a structure block of `tokens` and a strings block. */
function blob(struct: number[], strings: Uint8Array): Uint8Array {
  const structBytes = struct.length * 4;
  const offStruct = 40 + 16;
  const offStrings = offStruct + structBytes;
  const total = offStrings + strings.length;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  [FDT_MAGIC, total, offStruct, offStrings, 40, 17, 16, 0, strings.length, structBytes].forEach((v, i) => dv.setUint32(i * 4, v, false));
  struct.forEach((v, i) => dv.setUint32(offStruct + i * 4, v, false));
  b.set(strings, offStrings);
  return b;
}

t.test('generated trees: nesting far past the depth cap, string offsets anywhere', async (t) => {
  // Node names are empty words (NUL padded), so every BEGIN_NODE takes two words.
  const shape = fc.record({
    depth: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 300_000 })),
    closed: fc.boolean(),
    nameoff: fc.oneof(fc.constantFrom(0, 3, 4, 5, 0xffffffff, 0x80000000), fc.nat()),
    propLen: fc.oneof(fc.constantFrom(0, 4, 0xffffffff, 0x7fffffff), fc.nat({ max: 64 })),
  });
  let refused = 0;
  let parsed = 0;
  const r = fc.check(fc.property(shape, ({ depth, closed, nameoff, propLen }) => {
    const s: number[] = [FDT_BEGIN_NODE, 0, FDT_PROP, Math.min(propLen, 4), nameoff, 0];
    for (let i = 1; i < depth; i++) s.push(FDT_BEGIN_NODE, 0x61000000); // "a"
    if (closed) for (let i = 0; i < depth; i++) s.push(FDT_END_NODE);
    s.push(FDT_END);
    if (propLen !== Math.min(propLen, 4)) s[3] = propLen;
    const o = checkCase(fdtTarget, blob(s, new TextEncoder().encode('reg\0')));
    if (o.kind === 'ok') {
      parsed++;
      if (depth > DEFAULT_FDT_LIMITS.maxDepth) throw new Error(`a tree ${depth} deep parsed past the ${DEFAULT_FDT_LIMITS.maxDepth}-level cap`);
    } else refused++;
  }), { seed: DEFAULT_FUZZ_SEED, numRuns: 300 });
  t.comment(`generated trees: ${parsed} parsed, ${refused} refused`);
  t.notOk(r.failed, `every generated tree is parsed within the caps or refused with a ParseError${r.failed ? `: ${r.errorInstance}` : ''}`);
  t.ok(parsed > 0 && refused > 0, 'both shallow well-formed trees and hostile ones were generated');
});
