import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { loadDt, type LoadedDt } from './devicetree.js';
import { propString } from '../dt/tree.js';
import { dmesgFacts } from './dmesg.js';
import { cpuCounts } from './procfs.js';
import { MISSING_FACT, missingDescription } from './missing.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { arr, enumOf, type FactsOf, int, nbool, nint, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.cpus`: CPUs brought up (PSCI CPU_ON works when every present
 * CPU is online), the exception level the kernel was entered at, and PSCI:
 * the version the kernel negotiated (PSCI_VERSION, logged as "psci:
 * PSCIv1.1 detected in firmware"), the conduit, and what the firmware's
 * description declares (FADT ARM_BOOT_ARCH under ACPI, the psci node under
 * DT).
 *
 * `secondariesViaPsci`: with two or more CPUs, each secondary booted ("CPUn:
 * Booted secondary processor") and the firmware has them started through
 * PSCI CPU_ON: every DT cpu node's enable-method is "psci" (DT spec, cpus
 * binding), or under ACPI the FADT says PSCI_COMPLIANT and no GICC names
 * the parking protocol (ACPI 6.5 §5.2.12.14, Parking Protocol Version 0).
 */

/** How the firmware says secondary CPUs are started, or null when it does not say. */
function enableMethodOf(acpi: ReturnType<typeof loadAcpi>, dt: LoadedDt): string | null {
  if (acpi.present && acpi.fadt && acpi.madt) {
    const parked = acpi.madt.gicc.some((c) => c.enabled && c.parkingVersion !== 0);
    return parked ? 'parking protocol' : acpi.fadt.psciCompliant ? 'psci' : null;
  }
  if (!acpi.present && dt.kind === 'machine' && dt.tree) {
    const cpus = dt.tree.node('/cpus')?.children ?? [];
    const methods = new Set<string>();
    for (const n of cpus) {
      try {
        if (propString(n, 'device_type') !== 'cpu') continue;
        methods.add(propString(n, 'enable-method') ?? '(none)');
      } catch {
        methods.add('(unreadable)');
      }
    }
    return methods.size === 0 ? null : [...methods].sort().join(', ');
  }
  return null;
}

const facts = obj({
  online: nint('CPUs online (/sys/devices/system/cpu/online)'),
  present: nint(),
  possible: nint(),
  allPresentOnline: nbool('every present CPU is online'),
  secondaryCpusStarted: nbool('with more than one CPU present, they all came online (PSCI CPU_ON); null with a single CPU'),
  broughtUp: nint('"smp: Brought up N CPUs" from the kernel log'),
  secondariesBooted: arr(int(), '"CPUn: Booted secondary processor" lines: the CPU numbers'),
  psciBootFailures: arr(int(), '"psci: failed to boot CPUn": PSCI CPU_ON returned an error'),
  enableMethod: nstr('how the firmware starts secondaries: "psci", "parking protocol" (ACPI GICC), or the DT cpu nodes\' enable-method values'),
  secondariesViaPsci: nbool('with two or more CPUs present, every secondary booted through PSCI (enable-method psci, none failed); null with one CPU or without the complete kernel log'),
  bootEl: nstr('"EL1" or "EL2" from "CPU: All CPU(s) started at ELn", "mixed", or null when the log does not say'),
  psci: obj({
    version: nstr('PSCI version the firmware reported to the kernel ("1.1")'),
    major: nint(),
    minor: nint(),
    atLeast02: nbool('version 0.2 or later; null when unknown'),
    conduitFrom: nstr('"ACPI" or "DT": where the kernel found the conduit'),
    functionIds: nstr('"0.2" standard function IDs or "0.1" legacy ones'),
  }),
  firmwarePsci: obj({
    source: enumOf(['FADT', 'device tree', null]),
    declared: nbool('FADT PSCI_COMPLIANT, or a psci node in the device tree'),
    conduit: enumOf(['hvc', 'smc', null], 'FADT PSCI_USE_HVC or the psci node method'),
    dtAtLeast02: nbool('the psci node is compatible with arm,psci-0.2 or later (DT only)'),
  }),
  dmesgCoverage: str(),
  ...MISSING_FACT,
  ...SOURCE_FACTS,
});

export const cpusEvidenceProbe = defineProbe({
  name: 'evidence.cpus',
  summary: 'CPUs online vs present, boot exception level, PSCI version and conduit',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.cpus');
    const counts = cpuCounts(t);
    const dmesg = dmesgFacts(t);
    const acpi = loadAcpi(t);
    const dt = loadDt(t);
    const allPresentOnline = counts.online !== null && counts.present !== null ? counts.online === counts.present : null;
    let firmwarePsci: FactsOf<typeof facts>['firmwarePsci'];
    if (acpi.present && acpi.fadt) {
      const f = acpi.fadt;
      firmwarePsci = { source: 'FADT', declared: f.psciCompliant, conduit: f.psciUseHvc === null ? null : f.psciUseHvc ? 'hvc' : 'smc', dtAtLeast02: null };
    } else if (!acpi.present && dt.kind === 'machine' && dt.facts) {
      const p = dt.facts.psci;
      const method = p?.method === 'hvc' || p?.method === 'smc' ? p.method : null;
      firmwarePsci = {
        source: 'device tree',
        declared: p !== null,
        conduit: method,
        dtAtLeast02: p ? p.compatible.some((c) => /^arm,psci-(\d+)\.(\d+)$/.test(c) && c !== 'arm,psci-0.1') : null,
      };
    } else {
      firmwarePsci = { source: null, declared: null, conduit: null, dtAtLeast02: null };
    }
    const v = dmesg.psci;
    const enableMethod = enableMethodOf(acpi, dt);
    const secondaries = [...new Set(dmesg.secondariesBooted)];
    let secondariesViaPsci: boolean | null = null;
    if (counts.present !== null && counts.present > 1 && dmesg.coverage === 'complete') {
      secondariesViaPsci = enableMethod === 'psci' && secondaries.length === counts.present - 1 && dmesg.psciBootFailures.length === 0;
    }
    const out: FactsOf<typeof facts> = {
      online: counts.online,
      present: counts.present,
      possible: counts.possible,
      allPresentOnline,
      secondaryCpusStarted: counts.present !== null && counts.present > 1 ? allPresentOnline : null,
      broughtUp: dmesg.cpusBroughtUp,
      secondariesBooted: secondaries,
      psciBootFailures: dmesg.psciBootFailures,
      enableMethod,
      secondariesViaPsci,
      bootEl: dmesg.bootEl,
      psci: {
        version: v?.version ?? null,
        major: v?.major ?? null,
        minor: v?.minor ?? null,
        atLeast02: v?.major == null || v.minor == null ? null : v.major > 0 || v.minor >= 2,
        conduitFrom: v?.conduitFrom ?? null,
        functionIds: v?.functionIds ?? null,
      },
      firmwarePsci,
      dmesgCoverage: dmesg.coverage,
      missing: [
        ...(['online', 'present'] as const).filter((k) => counts[k] === null).map((k) => `/sys/devices/system/cpu/${k}`),
        ...missingDescription(acpi, dt),
      ],
      ...t.sourceFacts(),
    };
    return out;
  },
});
