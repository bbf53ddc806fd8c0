import { defineProbe } from '../types.js';
import { commonHeader } from '../acpi/tables.js';
import { loadAcpi, signatureOf } from './acpi.js';
import { dmesgFacts } from './dmesg.js';
import { cpuCounts, pciDevices } from './procfs.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, bool, dict, enumOf, type FactsOf, int, nbool, nint, NO_PARAMS, nobj, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.acpi`: the ACPI tables the guest's Linux exposes
 * (/sys/firmware/acpi/tables), each table's header and checksum, and the
 * fields the VM spec and SBBR care about: FADT hardware-reduced and PSCI
 * flags, MADT GIC structures against the online CPUs, the GTDT virtual
 * timer, SPCR and DBG2 UARTs, MCFG segments, IORT nodes. A missing table is
 * a fact (its section is null and it is listed in `missing`).
 *
 * Linux does not expose the RSDP and XSDT as files: `rootPointers` comes
 * from the kernel log's "ACPI: RSDP ... (v02" / "ACPI: XSDT" lines.
 */

/** SBBR (1.0–2.x) tables every ACPI ARM server must have; MCFG is added when there is PCIe. */
export const SBBR_REQUIRED = ['FACP', 'DSDT', 'APIC', 'GTDT', 'SPCR', 'DBG2'];

const header = {
  name: str('file name in /sys/firmware/acpi/tables ("APIC", "SSDT1")'),
  signature: str(),
  kind: str('table name as ACPI names it (FADT for FACP, MADT for APIC; "other" without a parser)'),
  length: nint(),
  revision: nint(),
  oemId: nstr(),
  oemTableId: nstr(),
  checksumValid: nbool('all Length bytes sum to zero mod 256; null for structures defined without a Checksum (FACS, S3PT, FBPT) and when the header did not parse'),
  parsed: bool('the table parsed without error'),
  error: nstr('why it did not parse'),
};

const gas = obj({ spaceName: str(), address: str(), accessWidth: int() });
const timerFlags = obj({ gsiv: int(), edgeTriggered: bool(), activeLow: bool(), alwaysOn: bool() });

const facts = obj({
  present: bool('the guest exposes ACPI tables (Linux booted with ACPI)'),
  tables: arr(obj(header)),
  signatures: arr(str()),
  allChecksumsValid: bool('every table that has a Checksum has a valid one (FACS, S3PT and FBPT have none; true when there are no tables)'),
  allParsed: bool(),
  required: arr(str(), 'the SBBR-mandatory tables for this guest: FACP DSDT APIC GTDT SPCR DBG2, and MCFG when it has PCI devices'),
  missing: arr(str(), 'required tables the guest does not have'),
  rootPointers: obj({
    rsdpRevision: nint('from the kernel log; 2 = ACPI 2.0+ RSDP with an XSDT address'),
    xsdt: nbool('the kernel used an XSDT (null when the log does not say)'),
  }),
  fadt: nobj({
    revision: int(),
    version: str('"Major.Minor" of the FADT'),
    hwReducedAcpi: bool('Flags bit 20 HW_REDUCED_ACPI'),
    psciCompliant: nbool('ARM_BOOT_ARCH bit 0'),
    psciUseHvc: nbool('ARM_BOOT_ARCH bit 1: PSCI calls use HVC (a hypervisor) rather than SMC'),
    armBootArch: nint(),
  }),
  madt: nobj({
    gicVersion: nint('GICD version, or inferred (3 with GICR/ITS structures)'),
    gicVersionSource: enumOf(['gicd', 'inferred', null]),
    gicdCount: int(),
    giccCount: int(),
    giccEnabledCount: int(),
    gicrCount: int(),
    itsCount: int(),
    msiFrameCount: int(),
  }),
  cpus: obj({
    online: nint('CPUs online (/sys/devices/system/cpu/online)'),
    present: nint(),
    giccEnabledMatchesOnline: nbool('the MADT has one enabled GICC per online CPU; null without MADT or CPU list'),
  }),
  gtdt: nobj({
    virtualTimer: timerFlags,
    nonSecureEl1Timer: timerFlags,
    platformTimerCount: int(),
    problems: arr(str(), 'inconsistencies in the platform timer part (e.g. Platform Timer Offset pointing into the fixed part); the per-processor timers are still reported'),
  }),
  spcr: nobj({
    revision: int(),
    interfaceType: int(),
    interfaceTypeName: str(),
    sbsaCompatible: bool('PL011 (3) or an SBSA generic UART form (0xD, 0xE)'),
    baseAddress: gas,
    gsiv: int(),
    baudRate: nint(),
  }),
  dbg2: nobj({
    devices: arr(obj({ portTypeName: str(), portSubtype: int(), portSubtypeName: str(), namespace: str(), baseAddresses: arr(str()) })),
  }),
  mcfg: nobj({
    allocations: arr(obj({ baseAddress: str(), segment: int(), startBus: int(), endBus: int() })),
  }),
  iort: nobj({ nodeCount: int(), nodeTypeCounts: dict(int()) }),
  pptt: nobj({ processorCount: int(), leafCount: int(), cacheCount: int() }),
  ...SOURCE_FACTS,
});

export const acpiEvidenceProbe = defineProbe({
  name: 'evidence.acpi',
  summary: 'ACPI tables the guest exposes: headers, checksums, SBBR set, FADT/MADT/GTDT/SPCR/DBG2/MCFG/IORT facts',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.acpi');
    const acpi = loadAcpi(t);
    const dmesg = dmesgFacts(t);
    const cpus = cpuCounts(t);
    const hasPci = pciDevices(t).length > 0;

    const tables: FactsOf<typeof facts>['tables'] = acpi.results.map((r) => {
      if (r.ok) {
        const p = r.parsed;
        const h = commonHeader(p);
        return {
          name: r.name, signature: signatureOf(r), kind: p.kind, length: h?.length ?? (p.kind === 'FACS' || p.kind === 'S3PT' || p.kind === 'FBPT' ? p.table.length : null), revision: h?.revision ?? null,
          oemId: h?.oemId ?? null, oemTableId: h?.oemTableId ?? null, checksumValid: h?.checksumValid ?? null, parsed: true, error: null,
        };
      }
      return { name: r.name, signature: signatureOf(r), kind: 'other', length: null, revision: null, oemId: null, oemTableId: null, checksumValid: null, parsed: false, error: r.error.message };
    });
    const signatures = [...new Set(acpi.results.map(signatureOf))].sort();
    const required = [...SBBR_REQUIRED, ...(hasPci ? ['MCFG'] : [])];
    const { fadt, madt, gtdt, spcr, dbg2, mcfg, iort, pptt } = acpi;
    const tf = (x: { gsiv: number; edgeTriggered: boolean; activeLow: boolean; alwaysOn: boolean }) => ({ gsiv: x.gsiv, edgeTriggered: x.edgeTriggered, activeLow: x.activeLow, alwaysOn: x.alwaysOn });
    const out: FactsOf<typeof facts> = {
      present: acpi.present,
      tables,
      signatures,
      // RSDP checksums are the kernel's to check; FACS, S3PT and FBPT have none (ACPI 6.5 §5.2.10, §5.2.24).
      allChecksumsValid: acpi.results.every((r) => !r.ok || (commonHeader(r.parsed)?.checksumValid ?? true)),
      allParsed: acpi.results.every((r) => r.ok),
      required,
      missing: acpi.present ? required.filter((s) => !signatures.includes(s)) : required,
      rootPointers: {
        rsdpRevision: dmesg.acpiRoot.rsdpRevision,
        xsdt: dmesg.acpiRoot.xsdt ? true : dmesg.acpiRoot.rsdt ? false : null,
      },
      fadt: fadt ? {
        revision: fadt.header.revision, version: fadt.fadtVersion, hwReducedAcpi: fadt.hwReducedAcpi,
        psciCompliant: fadt.psciCompliant, psciUseHvc: fadt.psciUseHvc, armBootArch: fadt.armBootArch,
      } : null,
      madt: madt ? {
        gicVersion: madt.gicVersion, gicVersionSource: madt.gicVersionSource, gicdCount: madt.gicd.length, giccCount: madt.giccCount,
        giccEnabledCount: madt.giccEnabledCount, gicrCount: madt.gicr.length, itsCount: madt.gicIts.length, msiFrameCount: madt.gicMsiFrames.length,
      } : null,
      cpus: {
        online: cpus.online,
        present: cpus.present,
        giccEnabledMatchesOnline: madt && cpus.online !== null ? madt.giccEnabledCount === cpus.online : null,
      },
      gtdt: gtdt ? { virtualTimer: tf(gtdt.virtualEl1), nonSecureEl1Timer: tf(gtdt.nonSecureEl1), platformTimerCount: gtdt.platformTimerCount, problems: gtdt.problems } : null,
      spcr: spcr ? {
        revision: spcr.header.revision, interfaceType: spcr.interfaceType, interfaceTypeName: spcr.interfaceTypeName, sbsaCompatible: spcr.sbsaCompatible,
        baseAddress: { spaceName: spcr.baseAddress.spaceName, address: spcr.baseAddress.address, accessWidth: spcr.baseAddress.accessWidth },
        gsiv: spcr.globalSystemInterrupt, baudRate: spcr.baudRateBps,
      } : null,
      dbg2: dbg2 ? {
        devices: dbg2.devices.map((d) => ({
          portTypeName: d.portTypeName, portSubtype: d.portSubtype, portSubtypeName: d.portSubtypeName, namespace: d.namespaceString,
          baseAddresses: d.baseAddressRegisters.map((g) => g.address),
        })),
      } : null,
      mcfg: mcfg ? { allocations: mcfg.allocations.map((a) => ({ baseAddress: a.baseAddress, segment: a.pciSegmentGroup, startBus: a.startBusNumber, endBus: a.endBusNumber })) } : null,
      iort: iort ? { nodeCount: iort.nodeCount, nodeTypeCounts: { ...iort.nodeTypeCounts } } : null,
      pptt: pptt ? { processorCount: pptt.processors.length, leafCount: pptt.leafCount, cacheCount: pptt.caches.length } : null,
      ...t.sourceFacts(),
    };
    return out;
  },
});
