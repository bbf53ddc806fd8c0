import t from 'tap';
import { Ajv } from 'ajv';
import { join } from 'node:path';
import { devicetreeEvidenceProbe } from '../../../probes/evidence/devicetree.probe.js';
import { DirectorySysroot } from '../../../probes/sysroot/directory.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { run } from '../../fixtures/cache.js';
import { dtsNodes, parseDts, type DtsNode } from '../../fixtures/dtbs.js';
import { evidenceBundle, RECIPES } from '../../fixtures/evidence-bundles.js';

/**
 * `evidence.devicetree` on the FDT blobs in collector-made bundles (QEMU's
 * dumpdtb edited as edk2 and the EFI stub edit it; the stub's placeholder
 * under ACPI), every fact checked against `dtc -I dtb -O dts` of the same
 * bytes.
 */

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(devicetreeEvidenceProbe.facts);
type Obj = { [k: string]: unknown };

async function facts(dir: string): Promise<Facts> {
  return devicetreeEvidenceProbe.run({ evidence: new DirectorySysroot(dir), memo: new Memo() }, {});
}

function dtcTree(bundle: string): DtsNode[] {
  return dtsNodes(parseDts(run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', join(bundle, 'sys/firmware/fdt')])).root);
}

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('latin1').replace(/\0$/, ''));
const strings = (v: Uint8Array | undefined) => (text(v) ?? '').split('\0').filter((s) => s !== '');
const prop = (n: DtsNode | undefined, name: string) => n?.props.find(([k]) => k === name)?.[1];
const byCompat = (nodes: DtsNode[], c: string) => nodes.filter((n) => strings(prop(n, 'compatible')).includes(c));

for (const [name, gic] of [['dtGicv2', 2], ['dtGicv3', 3]] as const) {
  t.test(`${name}: machine device tree, against dtc`, async (t) => {
    const dir = evidenceBundle(name, RECIPES[name]).dir;
    const f = await facts(dir);
    t.ok(validate(f), `facts match the schema ${JSON.stringify(validate.errors ?? [])}`);
    const nodes = dtcTree(dir);
    const root = nodes[0]!;
    t.equal(f.kind, 'machine');
    t.same(f.compatible, strings(prop(root, 'compatible')));
    const chosen = nodes.find((n) => n.path === '/chosen');
    const stdout = text(prop(chosen, 'stdout-path'));
    t.equal(stdout, '/pl011@9000000', 'QEMU names the PL011 in stdout-path');
    t.match(f.chosen, {
      stdoutPath: stdout, stdoutNode: stdout, stdoutStatus: 'okay', stdoutIsSbsaUart: true,
      stdoutCompatible: strings(prop(nodes.find((n) => n.path === stdout), 'compatible')),
      uefiSystemTable: prop(chosen, 'linux,uefi-system-table') !== undefined,
    });
    const psci = nodes.find((n) => strings(prop(n, 'compatible')).some((c) => c.startsWith('arm,psci')));
    t.same(f.psci, { compatible: strings(prop(psci, 'compatible')), method: text(prop(psci, 'method')), highestVersion: '1.0', atLeast02: true });
    const timer = byCompat(nodes, 'arm,armv8-timer')[0];
    const cells = prop(timer, 'interrupts');
    const dv = new DataView(cells!.buffer, cells!.byteOffset, cells!.byteLength);
    t.match(f.timer, { armv8: true, virtualTimerIntid: dv.getUint32(28, false) + 16, compatible: strings(prop(timer, 'compatible')) }, 'virtual timer = third PPI + 16');
    t.equal((f.timer as Obj).virtualTimerIntid, 27);
    const intc = nodes.find((n) => prop(n, 'interrupt-controller') !== undefined && strings(prop(n, 'compatible')).some((c) => c.includes('gic')));
    t.match(f.gic, { path: intc?.path, compatible: strings(prop(intc, 'compatible')), version: gic, status: 'okay' });
    t.same((f.gic as Obj).msiControllers, nodes.filter((n) => prop(n, 'msi-controller') !== undefined).map((n) => ({
      path: n.path, compatible: strings(prop(n, 'compatible')), status: text(prop(n, 'status')) ?? 'okay', reg: (f.gic as { msiControllers: Obj[] }).msiControllers.find((m) => m.path === n.path)?.reg,
    })));
    t.same(f.rtcs, byCompat(nodes, 'arm,pl031').map((n) => ({ path: n.path, compatible: strings(prop(n, 'compatible')), status: text(prop(n, 'status')) ?? 'okay', reg: ['0x9010000'] })));
    t.equal((f.rtcs as Obj[])[0]?.status, 'disabled', 'edk2 keeps the PL031 for itself');
    t.same((f.uarts as Obj[]).map((u) => u.path), byCompat(nodes, 'arm,pl011').map((n) => n.path));
    t.same(f.pciHosts, byCompat(nodes, 'pci-host-ecam-generic').map((n) => ({ path: n.path, compatible: ['pci-host-ecam-generic'], status: 'okay', ecam: true })));
    t.equal(f.cpuCount, nodes.filter((n) => text(prop(n, 'device_type')) === 'cpu').length);
    t.equal(f.cpuCount, 2);
    t.equal(f.memoryNodes, 1);
    t.same(f.malformed, []);
  });
}

t.test('under ACPI: the EFI stub\'s /chosen-only placeholder', async (t) => {
  const dir = evidenceBundle('acpiGicv2', RECIPES.acpiGicv2).dir;
  const f = await facts(dir);
  t.ok(validate(f), JSON.stringify(validate.errors ?? []));
  const nodes = dtcTree(dir);
  t.same(nodes.map((n) => n.path), ['/', '/chosen'], 'dtc sees only /chosen too');
  t.match(f, { present: true, kind: 'stub', compatible: [], psci: null, timer: null, gic: null, uarts: [], pciHosts: [], cpuCount: 0 });
  t.match(f.chosen, { stdoutPath: null, uefiSystemTable: true });
});

t.test('a PL031 left enabled by the firmware', async (t) => {
  const f = await facts(evidenceBundle('pl031', RECIPES.pl031).dir);
  t.same((f.rtcs as Obj[]).map((r) => r.status), ['okay']);
});
