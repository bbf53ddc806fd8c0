import t from 'tap';
import { Ajv } from 'ajv';
import { acpiEvidenceProbe } from '../../../probes/evidence/acpi.probe.js';
import { DirectorySysroot } from '../../../probes/sysroot/directory.js';
import { Memo, type Facts } from '../../../probes/types.js';
import { disassemble, dslAll, dslAt, dslBit, dslHex, dslHex64, dslStr } from '../../fixtures/acpi-tables.js';
import { evidenceBundle, RECIPES } from '../../fixtures/evidence-bundles.js';

/**
 * `evidence.acpi` on bundles the real collector made from QEMU virt's own
 * ACPI tables; every reported field is checked against `iasl -d` of the
 * same table bytes read back from the bundle.
 */

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(acpiEvidenceProbe.facts);

async function facts(dir: string): Promise<{ f: Facts; root: DirectorySysroot }> {
  const root = new DirectorySysroot(dir);
  const f = await acpiEvidenceProbe.run({ evidence: root, memo: new Memo() }, {});
  return { f, root };
}

type Obj = { [k: string]: unknown };

for (const name of ['acpiGicv2', 'acpiGicv3'] as const) {
  t.test(`${name}: every table against iasl`, async (t) => {
    const { f, root } = await facts(evidenceBundle(name, RECIPES[name]).dir);
    t.ok(validate(f), `facts match the probe's schema ${JSON.stringify(validate.errors ?? [])}`);
    t.equal(f.present, true);
    t.same(f.signatures, ['APIC', 'DBG2', 'DSDT', 'FACP', 'GTDT', 'IORT', 'MCFG', 'PPTT', 'SPCR']);
    t.same(f.missing, []);
    t.equal(f.allChecksumsValid, true);
    t.equal(f.allParsed, true);
    t.same(f.rootPointers, { rsdpRevision: 2, xsdt: true });
    const bytes = (sig: string) => root.readFile(`/sys/firmware/acpi/tables/${sig}`);

    for (const table of f.tables as Obj[]) {
      const dsl = disassemble(bytes(String(table.name)));
      t.equal(table.signature, dslStr(dslAt(dsl, 0, 'Signature')), `${table.name}: signature`);
      t.equal(table.length, dslHex(dslAt(dsl, 4, 'Table Length')), `${table.name}: length`);
      t.equal(table.revision, dslHex(dslAt(dsl, 8, 'Revision')), `${table.name}: revision`);
      t.equal(table.checksumValid, !/should be/.test(dslAt(dsl, 9, 'Checksum').comment ?? ''), `${table.name}: checksum verdict`);
      t.equal(table.oemId, dslStr(dslAt(dsl, 10, 'Oem ID')), `${table.name}: OEM ID`);
    }

    const fadt = disassemble(bytes('FACP'));
    const flags = dslAt(fadt, 112, 'Flags (decoded below)');
    const arm = dslAt(fadt, 129, 'ARM Flags (decoded below)');
    t.match(f.fadt, {
      revision: dslHex(dslAt(fadt, 8, 'Revision')),
      hwReducedAcpi: dslBit(flags, 'Hardware Reduced (V5)'),
      psciCompliant: dslBit(arm, 'PSCI Compliant'),
      psciUseHvc: dslBit(arm, 'Must use HVC for PSCI'),
      armBootArch: dslHex(arm),
    }, 'FADT flags');

    const madt = disassemble(bytes('APIC'));
    const types = dslAll(madt, 'Subtable Type').map(dslHex);
    const enabled = madt.filter((x) => x.name === 'Flags (decoded below)' && x.offset > 44).filter((x) => x.bits?.['Processor Enabled'] === '1').length;
    t.match(f.madt, {
      gicdCount: types.filter((x) => x === 0x0c).length,
      giccCount: types.filter((x) => x === 0x0b).length,
      giccEnabledCount: enabled,
      gicrCount: types.filter((x) => x === 0x0e).length,
      itsCount: types.filter((x) => x === 0x0f).length,
      msiFrameCount: types.filter((x) => x === 0x0d).length,
      gicVersion: dslHex(dslAll(madt, 'Version')[0]!),
      gicVersionSource: 'gicd',
    }, 'MADT structures');
    t.equal((f.madt as Obj).gicVersion, name === 'acpiGicv3' ? 3 : 2);
    t.same(f.cpus, { online: 2, present: 2, giccEnabledMatchesOnline: true }, 'one enabled GICC per online CPU');

    const gtdt = disassemble(bytes('GTDT'));
    t.equal(((f.gtdt as Obj).virtualTimer as Obj).gsiv, dslHex(dslAt(gtdt, 64, 'Virtual Timer Interrupt')), 'GTDT virtual timer GSIV');
    t.equal(((f.gtdt as Obj).virtualTimer as Obj).gsiv, 27);
    t.equal(((f.gtdt as Obj).nonSecureEl1Timer as Obj).gsiv, dslHex(dslAt(gtdt, 56, 'Non-Secure EL1 Interrupt')));

    const spcr = disassemble(bytes('SPCR'));
    t.match(f.spcr, {
      interfaceType: dslHex(dslAt(spcr, 36, 'Interface Type')),
      interfaceTypeName: 'ARM PL011 UART',
      sbsaCompatible: true,
      baseAddress: { spaceName: 'SystemMemory', address: dslHex64(dslAt(spcr, 44, 'Address')) },
      gsiv: dslHex(dslAt(spcr, 54, 'Interrupt')),
    }, 'SPCR');

    const dbg2 = disassemble(bytes('DBG2'));
    t.same((f.dbg2 as Obj).devices, [{
      portTypeName: 'Serial',
      portSubtype: dslHex(dslAll(dbg2, 'Port Subtype')[0]!),
      portSubtypeName: 'ARM PL011 UART',
      namespace: 'COM0',
      baseAddresses: dslAll(dbg2, 'Address').map(dslHex64),
    }], 'DBG2');

    const mcfg = disassemble(bytes('MCFG'));
    t.same((f.mcfg as Obj).allocations, [{
      baseAddress: dslHex64(dslAt(mcfg, 44, 'Base Address')),
      segment: dslHex(dslAt(mcfg, 52, 'Segment Group Number')),
      startBus: dslHex(dslAt(mcfg, 54, 'Start Bus Number')),
      endBus: dslHex(dslAt(mcfg, 55, 'End Bus Number')),
    }], 'MCFG');
    t.equal((f.iort as Obj).nodeCount, dslHex(dslAt(disassemble(bytes('IORT')), 36, 'Node Count')), 'IORT node count');
    t.ok((f.sources as string[]).includes('/sys/firmware/acpi/tables/APIC') && (f.sources as string[]).includes('/cmd/dmesg'), 'sources list the files read');
  });
}

t.test('a guest without ACPI (acpi=off): present false, every required table missing', async (t) => {
  const { f } = await facts(evidenceBundle('dtGicv2', RECIPES.dtGicv2).dir);
  t.ok(validate(f), JSON.stringify(validate.errors ?? []));
  t.match(f, { present: false, tables: [], fadt: null, madt: null, gtdt: null, spcr: null, rootPointers: { rsdpRevision: null, xsdt: null } });
  t.same(f.missing, ['FACP', 'DSDT', 'APIC', 'GTDT', 'SPCR', 'DBG2', 'MCFG']);
});

t.test('no SPCR: listed as missing, the others intact', async (t) => {
  const { f } = await facts(evidenceBundle('noSpcr', RECIPES.noSpcr).dir);
  t.same(f.missing, ['SPCR']);
  t.equal(f.spcr, null);
  t.not(f.dbg2, null);
});

t.test('one vCPU of two never came online: the MADT still has both', async (t) => {
  const { f } = await facts(evidenceBundle('cpuDown', RECIPES.cpuDown).dir);
  t.same(f.cpus, { online: 1, present: 2, giccEnabledMatchesOnline: false });
});
