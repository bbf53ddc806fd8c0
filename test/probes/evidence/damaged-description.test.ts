import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acpiEvidenceProbe } from '../../../probes/evidence/acpi.probe.js';
import { descriptionEvidenceProbe } from '../../../probes/evidence/description.probe.js';
import { devicetreeEvidenceProbe } from '../../../probes/evidence/devicetree.probe.js';
import { timerEvidenceProbe } from '../../../probes/evidence/timer.probe.js';
import { DirectorySysroot } from '../../../probes/sysroot/directory.js';
import { Memo, type Facts, type Probe } from '../../../probes/types.js';
import { run } from '../../fixtures/cache.js';
import { compileDts } from '../../fixtures/dtbs.js';
import { evidenceBundle, RECIPES } from '../../fixtures/evidence-bundles.js';
import { vmspec } from '../../cli/cli-runner.js';
import { alteredBundle } from './altered-bundle.js';

/**
 * Damaged hardware descriptions are judged, not ignored: real blobs (dtc
 * output, QEMU's own ACPI tables from the collector-made bundles) damaged
 * one way each, through the probes and the built CLI. The DT and ACPI
 * description clauses fail with the parser's reason; facts that do not rest
 * on the damaged part (the timer) are unaffected.
 */

const work = mkdtempSync(join(tmpdir(), 'vmspec-damaged-description-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const dtBase = evidenceBundle('dtGicv3', RECIPES.dtGicv3).dir;
const acpiBase = evidenceBundle('acpiGicv3', RECIPES.acpiGicv3).dir;
const FDT = '/sys/firmware/fdt';
const realFdt = readFileSync(join(dtBase, FDT));

async function probe(p: Probe, dir: string): Promise<Facts> {
  return p.run({ evidence: new DirectorySysroot(dir), memo: new Memo() }, {});
}

type Result = { id: string; status: string; message: string };
function verify(dir: string, only: string[], spec = 'vmspec-v2'): Map<string, Result> {
  const r = vmspec(['verify', '--spec', spec, '--evidence', dir, '--format', 'json', ...only.flatMap((id) => ['--only', id])]);
  const out = JSON.parse(r.stdout) as { results: Result[] };
  return new Map(out.results.map((x) => [x.id, x]));
}

const be32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o);
function withBe32(b: Uint8Array, o: number, v: number): Uint8Array {
  const c = Uint8Array.from(b);
  new DataView(c.buffer).setUint32(o, v);
  return c;
}

/** A blob 70 nodes deep, written by dtc (the parser's limit is 64). */
function deepDtb(): Uint8Array {
  let body = '';
  for (let i = 0; i < 70; i++) body += `n${i} { `;
  body += '}; '.repeat(70);
  return readFileSync(compileDts('deep-70', `/dts-v1/;\n/ { compatible = "linux,dummy-virt"; ${body} };\n`).dtb);
}

/**
 * The real blob with a second top-level node after the root ends: FDT_BEGIN_NODE "" and FDT_END_NODE
 * put before the structure block's FDT_END (Devicetree Specification v0.4 §5.4: one root node), and
 * the header's sizes and the strings block's offset moved to match, so only the second root is wrong.
 */
function twoRootsDtb(): Uint8Array {
  const off = { struct: be32(realFdt, 8), strings: be32(realFdt, 12), structSize: be32(realFdt, 36), stringsSize: be32(realFdt, 32) };
  if (off.strings < off.struct + off.structSize) throw new Error('this blob does not keep its strings block after the structure block');
  const struct = realFdt.subarray(off.struct, off.struct + off.structSize);
  if (be32(struct, struct.length - 4) !== 0x9) throw new Error('the structure block does not end with FDT_END');
  const extra = new Uint8Array(12);
  const dv = new DataView(extra.buffer);
  dv.setUint32(0, 0x1); // FDT_BEGIN_NODE, name "" (one NUL, padded to 4 bytes)
  dv.setUint32(8, 0x2); // FDT_END_NODE
  const strings = realFdt.subarray(off.strings, off.strings + off.stringsSize);
  const out = new Uint8Array(off.struct + struct.length + extra.length + strings.length);
  out.set(realFdt.subarray(0, off.struct));
  out.set(struct.subarray(0, struct.length - 4), off.struct);
  out.set(extra, off.struct + struct.length - 4);
  out.set(struct.subarray(struct.length - 4), off.struct + struct.length - 4 + extra.length);
  out.set(strings, off.struct + struct.length + extra.length);
  const h = new DataView(out.buffer);
  h.setUint32(4, out.length); // totalsize
  h.setUint32(12, off.struct + struct.length + extra.length); // off_dt_strings
  h.setUint32(36, struct.length + extra.length); // size_dt_struct
  return out;
}

const DAMAGE: [string, () => Uint8Array, RegExp][] = [
  ['two root nodes', twoRootsDtb, /a second top-level node after the root node ended/],
  ['nodes nested deeper than the limit', deepDtb, /nested deeper than 64/],
  // size_dt_strings (header offset 32) cut to 8 bytes: property names now point past the strings block.
  ['truncated strings block', () => withBe32(realFdt, 32, 8), /strings block at offset \d+: property name at nameoff \d+ is not NUL-terminated within its block/],
  ['blob cut short (totalsize beyond the file)', () => realFdt.subarray(0, be32(realFdt, 4) >> 1), /totalsize|past the end|larger than/],
];

t.test('dtc, the oracle, refuses the two-root blob as well', async (t) => {
  const file = join(work, 'two-roots.dtb');
  writeFileSync(file, twoRootsDtb());
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', file], { encoding: 'utf8' });
  t.not(r.status, 0, 'dtc fails on it');
  t.match(r.stderr, /FATAL ERROR/);
  t.equal(spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', join(dtBase, FDT)]).status, 0, 'and reads the undamaged blob');
});

for (const [what, make, reason] of DAMAGE) {
  t.test(`a device tree with ${what}: V2-HW-DT-COMPLETE fails with the parser's reason`, async (t) => {
    const dir = alteredBundle(dtBase, join(work, what.replace(/\W+/g, '-')), { write: { [FDT]: make() } });
    const dt = await probe(devicetreeEvidenceProbe, dir);
    t.match(dt.error, reason, 'evidence.devicetree says why it does not parse');
    const d = await probe(descriptionEvidenceProbe, dir);
    t.equal(d.booted, 'device tree', 'a guest without ACPI booted with the device tree, damaged or not');
    t.match(d.descriptionErrors, [reason]);
    const r = verify(dir, ['V2-HW-DT-COMPLETE', 'V2-HW-ACPI-COMPLETE']);
    t.match(r.get('V2-HW-DT-COMPLETE'), { status: 'fail', message: /^descriptionErrors differs/ });
    t.match(r.get('V2-HW-DT-COMPLETE')?.message, reason);
    t.match(r.get('V2-HW-ACPI-COMPLETE'), { status: 'skip', message: /booted is "device tree"/ }, 'the ACPI clause names what the guest did boot with');
    for (const spec of ['vmspec-v2', 'vmspec-v1']) {
      const prefix = spec === 'vmspec-v2' ? 'V2' : 'V1';
      t.same(failing(dir, spec), [...failing(dtBase, spec), `${prefix}-HW-DT-COMPLETE`].sort(), `${spec}: the damage fails the DT description clause and nothing else`);
    }
    const timer = verify(dir, ['V2-PLAT-VIRTUAL-TIMER']).get('V2-PLAT-VIRTUAL-TIMER');
    t.match(timer, { status: 'undecided', message: /does not parse; see V2-HW-DT-COMPLETE/ }, 'what rests on the unreadable description is undecided, not failed on a null');
  });
}

const baseFailing = new Map<string, string[]>();
/** Ids of the failing or erroring clauses of a whole run. */
function failing(dir: string, spec: string): string[] {
  const key = `${dir}\0${spec}`;
  const known = baseFailing.get(key);
  if (known) return known;
  const r = vmspec(['verify', '--spec', spec, '--evidence', dir, '--format', 'json']);
  const ids = (JSON.parse(r.stdout) as { results: Result[] }).results.filter((x) => x.status === 'fail' || x.status === 'error').map((x) => x.id).sort();
  if (dir === dtBase || dir === acpiBase) baseFailing.set(key, ids);
  return ids;
}

t.test('the undamaged device tree passes V2-HW-DT-COMPLETE', async (t) => {
  t.match(verify(dtBase, ['V2-HW-DT-COMPLETE']).get('V2-HW-DT-COMPLETE'), { status: 'pass' });
});

t.test('a malformed compatible on an unrelated node: the timer is still judged, the damage is reported with that node', async (t) => {
  const dts = run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', join(dtBase, FDT)]);
  // A compatible that is not a NUL-terminated string list (DT spec v0.4 §2.3.1).
  const src = `${dts}\n/ { node { compatible = [41 42]; }; };\n`;
  writeFileSync(join(work, 'odd.dts'), src);
  run('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', join(work, 'odd.dtb'), join(work, 'odd.dts')]);
  const dir = alteredBundle(dtBase, join(work, 'odd-compatible'), { write: { [FDT]: readFileSync(join(work, 'odd.dtb')) } });
  const timer = await probe(timerEvidenceProbe, dir);
  t.match(timer, { firmwareVirtualTimerIntid: 27, firmwareSource: 'device tree', described: true });
  t.match((await probe(devicetreeEvidenceProbe, dir)).malformed, [/\/node/]);
  const r = verify(dir, ['V2-PLAT-VIRTUAL-TIMER', 'V2-HW-DT-COMPLETE']);
  t.equal(r.get('V2-PLAT-VIRTUAL-TIMER')?.status, verify(dtBase, ['V2-PLAT-VIRTUAL-TIMER']).get('V2-PLAT-VIRTUAL-TIMER')?.status, 'the timer verdict is the undamaged tree\'s');
  t.not(r.get('V2-PLAT-VIRTUAL-TIMER')?.status, 'error');
  t.match(r.get('V2-HW-DT-COMPLETE'), { status: 'fail', message: /descriptionErrors differs.*\/node.*compatible/ });
  t.same(failing(dir, 'vmspec-v2'), [...failing(dtBase, 'vmspec-v2'), 'V2-HW-DT-COMPLETE'].sort(), 'only the DT description clause fails');
});

t.test('a GTDT whose Platform Timer Offset points into its fixed part: reported as such, the virtual timer still read', async (t) => {
  const gtdt = Uint8Array.from(readFileSync(join(acpiBase, 'sys/firmware/acpi/tables/GTDT')));
  const v = new DataView(gtdt.buffer);
  v.setUint32(88, 1, true); // Platform Timer Count
  v.setUint32(92, 36, true); // Platform Timer Offset: inside the fixed part
  gtdt[9] = 0;
  let sum = 0;
  for (const b of gtdt) sum = (sum + b) & 0xff;
  gtdt[9] = (0x100 - sum) & 0xff;
  const dir = alteredBundle(acpiBase, join(work, 'gtdt-offset'), { write: { '/sys/firmware/acpi/tables/GTDT': gtdt } });
  const acpi = await probe(acpiEvidenceProbe, dir);
  t.match(acpi.gtdt, { virtualTimer: { gsiv: 27 }, platformTimerCount: 1, problems: [/Platform Timer Offset 36 points into the \d+-byte fixed part/] });
  t.equal(acpi.allChecksumsValid, true, 'the damage is not a checksum error');
  const d = await probe(descriptionEvidenceProbe, dir);
  t.notOk((d.gaps as string[]).some((g) => /no GTDT/.test(g)), 'the GTDT is there, and said to be');
  const r = verify(dir, ['V2-HW-ACPI-COMPLETE', 'V2-PLAT-VIRTUAL-TIMER']);
  t.match(r.get('V2-HW-ACPI-COMPLETE'), { status: 'fail', message: /descriptionErrors differs.*GTDT at offset 92: Platform Timer Offset 36 points into/ });
  t.equal((await probe(timerEvidenceProbe, dir)).described, true, 'the virtual timer GSIV is described');
  t.equal(r.get('V2-PLAT-VIRTUAL-TIMER')?.status, verify(acpiBase, ['V2-PLAT-VIRTUAL-TIMER']).get('V2-PLAT-VIRTUAL-TIMER')?.status);
  t.same(failing(dir, 'vmspec-v2'), [...failing(acpiBase, 'vmspec-v2'), 'V2-HW-ACPI-COMPLETE'].sort(), 'only the ACPI description clause fails');
});
