import type { Tracker } from './read.js';

/**
 * What the kernel log says, as facts. Lines are matched on the message
 * text Linux prints (arm64, 5.x–6.x); timestamps ("[    0.000000] ") and
 * raw priority prefixes ("<6>") are stripped first. The log is a ring
 * buffer: when the first boot line is gone the facts that come from early
 * boot are unknown (null), never "absent".
 */
export interface DmesgFacts {
  /** The log was collected at all. */
  present: boolean;
  /** "complete" when the boot's first lines are still in the buffer; otherwise why not. */
  coverage: string;
  lineCount: number;
  /** `efi: EFI v2.70 by EDK II` */
  efi: { version: string | null; major: number | null; minor: number | null; vendor: string | null; configTables: Record<string, string> } | null;
  /** `psci: PSCIv1.1 detected in firmware.` and friends */
  psci: { version: string | null; major: number | null; minor: number | null; conduitFrom: string | null; functionIds: string | null } | null;
  /** `arch_timer: cp15 timer(s) running at 62.50MHz (virt).` */
  archTimer: { mode: string | null; frequency: string | null } | null;
  /** `CPU: All CPU(s) started at EL1` (null when not logged; "mixed" for inconsistent modes). */
  bootEl: string | null;
  /** `smp: Brought up 1 node, 2 CPUs` */
  cpusBroughtUp: number | null;
  /** `CPU1: Booted secondary processor 0x0000000001 [0x411fd070]`: the CPU numbers */
  secondariesBooted: number[];
  /** `psci: failed to boot CPU1 (-22)` (arch/arm64/kernel/psci.c cpu_psci_cpu_boot): the CPU numbers */
  psciBootFailures: number[];
  /** GIC driver lines: "GICv3: ...", "GICv2m: ...", "GIC: ..." */
  gic: { v3Lines: number; v2Lines: number; its: boolean; v2m: boolean };
  /** `ARMH0011:00: ttyAMA0 at MMIO 0x9000000 (irq = 12, base_baud = 0) is a SBSA` */
  uarts: { device: string; tty: string; mmio: string | null; irq: number | null; type: string }[];
  /** `printk: console [ttyAMA0] enabled` */
  consolesEnabled: string[];
  /** `ACPI: SPCR: console: pl011,mmio,0x9000000,9600` */
  spcrConsole: string | null;
  /** `ACPI: XSDT 0x... ` / `ACPI: RSDP 0x... 000024 (v02 BOCHS )` */
  acpiRoot: { rsdpRevision: number | null; xsdt: boolean; rsdt: boolean };
  /** `rtc-efi rtc-efi.0: registered as rtc0` */
  rtcRegistered: { device: string; rtc: string }[];
  /** `... ECAM at [mem 0x4010000000-0x401fffffff] for [bus 00-ff]` */
  ecam: string[];
  /** Linux version from the log or /proc/version ("6.1.0-50-arm64"). */
  kernelRelease: string | null;
}

const STAMP = /^(?:<\d+>)?(?:\[\s*\d+\.\d+\]\s?)?/;

/** The kernel log's messages without timestamps. */
export function dmesgLines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, '').replace(STAMP, '')).filter((l) => l !== '');
}

/** Kernel release of "Linux version 6.1.0-50-arm64 (...)". */
export function kernelReleaseOf(versionLine: string | undefined): string | null {
  const m = /Linux version (\S+)/.exec(versionLine ?? '');
  return m?.[1] ?? null;
}

function kernelAtLeast(release: string | null, major: number, minor: number): boolean | null {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

/**
 * The EFI system table revision from the log's "EFI vX.Y" text. Before
 * Linux 6.2 the minor revision was printed as-is with two digits
 * ("v2.70" = 2.70); since 6.2 it is printed in tenths, with a third part
 * for a non-zero last digit ("v2.7" = 2.70, "v2.10" = 2.100, "v2.3.1" =
 * 2.31). Returns UEFI's own encoding: the minor revision as in the spec's
 * EFI_SPECIFICATION_VERSION (2.70 → 70, 2.100 → 100).
 */
export function efiRevision(text: string, release: string | null): { major: number; minor: number } | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return null;
  const major = Number(m[1]);
  const second = m[2] as string;
  if (m[3] !== undefined) return { major, minor: Number(second) * 10 + Number(m[3]) };
  const newFormat = kernelAtLeast(release, 6, 2);
  // Old format always has two digits; a single digit can only be the new one.
  if (second.length === 1 || newFormat === true) return { major, minor: Number(second) * 10 };
  return { major, minor: Number(second) };
}

export function parseDmesg(text: string | undefined, versionLine?: string): DmesgFacts {
  const lines = text === undefined ? [] : dmesgLines(text);
  const facts: DmesgFacts = {
    present: text !== undefined,
    coverage: 'absent: no kernel log in the evidence',
    lineCount: lines.length,
    efi: null,
    psci: null,
    archTimer: null,
    bootEl: null,
    cpusBroughtUp: null,
    secondariesBooted: [],
    psciBootFailures: [],
    gic: { v3Lines: 0, v2Lines: 0, its: false, v2m: false },
    uarts: [],
    consolesEnabled: [],
    spcrConsole: null,
    acpiRoot: { rsdpRevision: null, xsdt: false, rsdt: false },
    rtcRegistered: [],
    ecam: [],
    kernelRelease: kernelReleaseOf(versionLine),
  };
  if (text === undefined) return facts;
  const booted = lines.some((l) => /^Booting Linux on physical CPU/.test(l) || /^Linux version /.test(l));
  facts.coverage = booted ? 'complete' : 'truncated: the boot messages are no longer in the kernel log buffer';
  let efiVersionText: string | null = null;
  for (const l of lines) {
    let m: RegExpExecArray | null;
    if (facts.kernelRelease === null && (m = /^Linux version (\S+)/.exec(l))) facts.kernelRelease = m[1] ?? null;
    if ((m = /^efi: EFI v([0-9.]+) by (.+?)\s*$/.exec(l))) {
      efiVersionText = m[1] ?? null;
      facts.efi = { version: null, major: null, minor: null, vendor: m[2] ?? null, configTables: facts.efi?.configTables ?? {} };
      continue;
    }
    if ((m = /^efi: ((?:\S[^=]*=0x[0-9a-fA-F]+\s*)+)$/.exec(l))) {
      const tables: Record<string, string> = facts.efi?.configTables ?? {};
      for (const t of (m[1] ?? '').matchAll(/([A-Za-z][A-Za-z0-9 .]*?)=(0x[0-9a-fA-F]+)/g)) tables[(t[1] ?? '').trim()] = (t[2] ?? '').toLowerCase();
      facts.efi = { version: facts.efi?.version ?? null, major: null, minor: null, vendor: facts.efi?.vendor ?? null, configTables: tables };
      continue;
    }
    if ((m = /^psci: PSCIv(\d+)\.(\d+) detected in firmware/.exec(l))) {
      facts.psci = { ...(facts.psci ?? { conduitFrom: null, functionIds: null }), version: `${m[1]}.${m[2]}`, major: Number(m[1]), minor: Number(m[2]) };
      continue;
    }
    if ((m = /^psci: probing for conduit method from (ACPI|DT)/.exec(l))) {
      facts.psci = { ...(facts.psci ?? { version: null, major: null, minor: null, functionIds: null }), conduitFrom: m[1] ?? null };
      continue;
    }
    if ((m = /^psci: Using (?:standard )?PSCI v(\d+\.\d+) [Ff]unction IDs/.exec(l))) {
      facts.psci = { ...(facts.psci ?? { version: null, major: null, minor: null, conduitFrom: null }), functionIds: m[1] ?? null };
      if (m[1] === '0.1' && facts.psci.version === null) facts.psci = { ...facts.psci, version: '0.1', major: 0, minor: 1 };
      continue;
    }
    if ((m = /^arch_timer: cp15(?: and mmio)? timer\(s\) running at ([0-9.]+\s*[KMG]?Hz) \((virt|phys)\)/.exec(l))) {
      facts.archTimer = { frequency: (m[1] ?? '').replace(/\s+/g, ''), mode: m[2] ?? null };
      continue;
    }
    if ((m = /^CPU: All CPU\(s\) started at (EL\d)/.exec(l))) {
      facts.bootEl = m[1] ?? null;
      continue;
    }
    if (/^CPU: CPUs started in inconsistent modes/.test(l)) {
      facts.bootEl = 'mixed';
      continue;
    }
    if ((m = /^CPU(\d+): Booted secondary processor /.exec(l))) {
      facts.secondariesBooted.push(Number(m[1]));
      continue;
    }
    if ((m = /^psci: failed to boot CPU(\d+) /.exec(l))) {
      facts.psciBootFailures.push(Number(m[1]));
      continue;
    }
    if ((m = /^smp: Brought up \d+ nodes?, (\d+) CPUs?/.exec(l))) {
      facts.cpusBroughtUp = Number(m[1]);
      continue;
    }
    if (/^GICv3: /.test(l)) facts.gic.v3Lines++;
    if (/^ITS(?: \[mem|@|: )/.test(l) || /ITS@0x/.test(l) || /\/its@[0-9a-f]+ domain created/.test(l)) facts.gic.its = true;
    if (/^GICv2m: /.test(l)) {
      facts.gic.v2m = true;
      facts.gic.v2Lines++;
    }
    if (/^GIC: /.test(l)) facts.gic.v2Lines++;
    if ((m = /^(\S+): (tty[A-Za-z]+\d+) at (?:MMIO (0x[0-9a-fA-F]+)|I\/O \S+|\S+ \S+) \(irq = (\d+), base_baud = \d+\) is a (.+?)\s*$/.exec(l))) {
      facts.uarts.push({ device: m[1] ?? '', tty: m[2] ?? '', mmio: m[3] ? `0x${BigInt(m[3]).toString(16)}` : null, irq: m[4] ? Number(m[4]) : null, type: m[5] ?? '' });
      continue;
    }
    if ((m = /^printk: (?:legacy )?console \[([^\]]+)\] enabled/.exec(l)) || (m = /^console \[([^\]]+)\] enabled/.exec(l))) {
      if (!facts.consolesEnabled.includes(m[1] ?? '')) facts.consolesEnabled.push(m[1] ?? '');
      continue;
    }
    if ((m = /^ACPI: SPCR: (?:console: )?(.+?)\s*$/.exec(l))) {
      if (facts.spcrConsole === null) facts.spcrConsole = m[1] ?? null;
      continue;
    }
    if ((m = /^ACPI: RSDP 0x[0-9A-Fa-f]+ [0-9A-Fa-f]+ \(v(\d+)/.exec(l))) {
      facts.acpiRoot.rsdpRevision = Number(m[1]);
      continue;
    }
    if (/^ACPI: XSDT 0x/.test(l)) facts.acpiRoot.xsdt = true;
    if (/^ACPI: RSDT 0x/.test(l)) facts.acpiRoot.rsdt = true;
    if ((m = /^(rtc-\S+ \S+): registered as (rtc\d+)/.exec(l))) {
      facts.rtcRegistered.push({ device: m[1] ?? '', rtc: m[2] ?? '' });
      continue;
    }
    if ((m = /ECAM at \[mem (0x[0-9a-f]+-0x[0-9a-f]+)\]/.exec(l))) facts.ecam.push(m[1] ?? '');
  }
  if (facts.efi && efiVersionText !== null) {
    const rev = efiRevision(efiVersionText, facts.kernelRelease);
    facts.efi = {
      ...facts.efi,
      version: rev ? `${rev.major}.${String(rev.minor).padStart(2, '0')}` : efiVersionText,
      major: rev?.major ?? null,
      minor: rev?.minor ?? null,
    };
  }
  return facts;
}

/** The kernel log of the evidence, parsed once per run. */
export function dmesgFacts(t: Tracker): DmesgFacts {
  return t.derived('dmesg', (s) => parseDmesg(s.text('/cmd/dmesg'), s.line('/proc/version')));
}
