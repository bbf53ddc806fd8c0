import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { loadDt } from './devicetree.js';
import { dmesgFacts } from './dmesg.js';
import { cpuCounts } from './procfs.js';
import { MISSING_FACT, missingDescription } from './missing.js';
import { SOURCE_FACTS, tracker } from './read.js';
import { enumOf, type FactsOf, nbool, nint, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.cpus`: CPUs brought up (PSCI CPU_ON works when every present
 * CPU is online), the exception level the kernel was entered at, and PSCI:
 * the version the kernel negotiated (PSCI_VERSION, logged as "psci:
 * PSCIv1.1 detected in firmware"), the conduit, and what the firmware's
 * description declares (FADT ARM_BOOT_ARCH under ACPI, the psci node under
 * DT).
 */

const facts = obj({
  online: nint('CPUs online (/sys/devices/system/cpu/online)'),
  present: nint(),
  possible: nint(),
  allPresentOnline: nbool('every present CPU is online'),
  secondaryCpusStarted: nbool('with more than one CPU present, they all came online (PSCI CPU_ON); null with a single CPU'),
  broughtUp: nint('"smp: Brought up N CPUs" from the kernel log'),
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
    const out: FactsOf<typeof facts> = {
      online: counts.online,
      present: counts.present,
      possible: counts.possible,
      allPresentOnline,
      secondaryCpusStarted: counts.present !== null && counts.present > 1 ? allPresentOnline : null,
      broughtUp: dmesg.cpusBroughtUp,
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
