import { defineProbe } from '../types.js';
import { loadAcpi } from './acpi.js';
import { loadDt } from './devicetree.js';
import { dmesgFacts } from './dmesg.js';
import { MISSING_FACT, missingDescription } from './missing.js';
import { SOURCE_FACTS, tracker, type Tracker } from './read.js';
import { bool, dict, enumOf, type FactsOf, nbool, nint, NO_PARAMS, nstr, obj, str } from '../facts-schema.js';

/**
 * `evidence.uefi`: was the guest booted by UEFI firmware, which revision,
 * and which configuration-table entries did the firmware install?
 *
 * - ACPI 2.0 table: Linux lists it in /sys/firmware/efi/systab ("ACPI20=")
 *   and in the "efi: ... ACPI 2.0=0x..." boot line whether or not it then
 *   uses ACPI.
 * - Device-tree table: Linux does not list it, but the EFI stub takes the
 *   DT from the configuration table and, when there is none, builds an
 *   empty one holding only /chosen ("Generating empty DTB"). So a machine
 *   DT at /sys/firmware/fdt shows the entry was there, a /chosen-only DT
 *   shows it was not — unless `dtb=` replaced it (then: unknown). A
 *   bootloader's `devicetree` command also installs the table; that the
 *   guest cannot tell apart from firmware.
 */

const facts = obj({
  present: bool('/sys/firmware/efi exists: the kernel was booted through UEFI'),
  fwPlatformSize: nint('64 for a 64-bit UEFI'),
  firmware: obj({
    version: nstr('UEFI revision from the kernel log ("2.70")'),
    systemTableRevision: nint('EFI_SYSTEM_TABLE revision as UEFI encodes it: (major << 16) | minor, 2.60 = 131132, 2.40 = 131112'),
    vendor: nstr('firmware vendor ("EDK II")'),
  }),
  runtimeServices: nbool('EFI runtime services are usable (efivarfs has variables, rtc-efi registered, or the kernel enabled them); null when the evidence does not say'),
  systab: dict(str(), '/sys/firmware/efi/systab, name → address'),
  efiStub: bool('/chosen has linux,uefi-system-table: the EFI stub started the kernel'),
  cmdlineDtb: bool('dtb= on the kernel command line'),
  configTables: obj({
    acpi20: str('"present", "absent", or "unknown: why"'),
    acpi20Address: nstr(),
    acpi10: nstr('ACPI 1.0 table address, if installed'),
    deviceTree: str('"present", "absent", or "unknown: why"'),
    deviceTreeEvidence: str('what decided deviceTree'),
  }),
  hardwareDescription: enumOf(['ACPI', 'device tree', null], 'the description the kernel booted with'),
  hardwareDescriptionViaConfigTable: nstr('which configuration-table entry carried the description in use; null when none did'),
  ...MISSING_FACT,
  ...SOURCE_FACTS,
});

function readSystab(t: Tracker): Record<string, string> | undefined {
  const text = t.text('/sys/firmware/efi/systab', 64 * 1024);
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const m = /^([A-Za-z0-9_.]+)=(0x[0-9a-fA-F]+)\s*$/.exec(l.trim());
    if (m?.[1] && m[2]) out[m[1]] = m[2].toLowerCase();
  }
  return out;
}

export const uefiEvidenceProbe = defineProbe({
  name: 'evidence.uefi',
  summary: 'UEFI boot, firmware revision, platform size and the ACPI / device-tree configuration-table entries',
  input: 'evidence',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    const t = tracker(inputs, 'evidence.uefi');
    const dmesg = dmesgFacts(t);
    const systab = readSystab(t);
    const efiDir = t.isDir('/sys/firmware/efi');
    const platformSize = t.line('/sys/firmware/efi/fw_platform_size');
    const present = efiDir || systab !== undefined || platformSize !== undefined;
    const dt = loadDt(t);
    const acpi = loadAcpi(t);
    const cmdline = t.line('/proc/cmdline') ?? '';
    const cmdlineDtb = /(^|\s)dtb=/.test(cmdline);
    const efivars = t.list('/sys/firmware/efi/efivars');
    const rtcEfi = dmesg.rtcRegistered.some((r) => r.device.startsWith('rtc-efi')) || t.line('/sys/class/rtc/rtc0/name')?.startsWith('rtc-efi') === true;
    const enabledLine = dmesg.present && dmesg.coverage === 'complete';

    // ACPI 2.0 configuration table: systab first, the boot log's efi: line otherwise.
    const logTables = dmesg.efi?.configTables ?? {};
    const acpi20Address = systab?.ACPI20 ?? logTables['ACPI 2.0'] ?? null;
    const acpi10 = systab?.ACPI ?? logTables.ACPI ?? null;
    let acpi20: string;
    if (acpi20Address !== null) acpi20 = 'present';
    else if (systab !== undefined || (dmesg.efi !== null && Object.keys(logTables).length > 0)) acpi20 = 'absent';
    else acpi20 = present ? 'unknown: neither /sys/firmware/efi/systab nor the kernel log lists the configuration tables' : 'unknown: the guest was not booted through UEFI';

    // Device-tree configuration table, from what the EFI stub handed over.
    let deviceTree: string;
    let deviceTreeEvidence: string;
    if (!present) {
      deviceTree = 'unknown: the guest was not booted through UEFI';
      deviceTreeEvidence = 'no /sys/firmware/efi';
    } else if (cmdlineDtb) {
      deviceTree = 'unknown: dtb= on the kernel command line replaced the firmware\'s device tree';
      deviceTreeEvidence = `/proc/cmdline: ${cmdline}`;
    } else if (!dt.present) {
      deviceTree = 'unknown: /sys/firmware/fdt is not in the evidence';
      deviceTreeEvidence = 'no /sys/firmware/fdt';
    } else if (dt.kind === null) {
      deviceTree = 'unknown: /sys/firmware/fdt does not parse';
      deviceTreeEvidence = dt.error ?? 'unparsable';
    } else if (dt.kind === 'machine') {
      deviceTree = 'present';
      deviceTreeEvidence = `/sys/firmware/fdt describes the machine (${dt.facts?.compatible.join(', ') || 'no root compatible'}, ${dt.facts?.nodeCount ?? 0} nodes): the EFI stub took it from the configuration table`;
    } else {
      deviceTree = 'absent';
      deviceTreeEvidence = '/sys/firmware/fdt holds only /chosen: the EFI stub found no device tree in the configuration table and generated an empty one';
    }

    const description = acpi.present ? 'ACPI' : dt.kind === 'machine' ? 'device tree' : null;
    const via = description === 'ACPI' ? (acpi20 === 'present' ? 'ACPI 2.0 table (8868E871-E4F1-11D3-BC22-0080C73C8881)' : acpi10 !== null ? 'ACPI 1.0 table (EB9D2D30-2D88-11D3-9A16-0090273FC14D)' : null)
      : description === 'device tree' ? (deviceTree === 'present' ? 'device-tree table (B1B621D5-F19C-41A5-830B-D9152C69AAE0)' : null)
        : null;

    let runtimeServices: boolean | null = null;
    if ((efivars?.length ?? 0) > 0 || rtcEfi) runtimeServices = true;
    else if (!present) runtimeServices = false;
    else if (enabledLine) runtimeServices = dmesg.lineCount > 0 && /Remapping and enabling EFI services/.test(t.text('/cmd/dmesg') ?? '');

    const out: FactsOf<typeof facts> = {
      present,
      fwPlatformSize: platformSize !== undefined && /^\d+$/.test(platformSize) ? Number(platformSize) : null,
      firmware: {
        version: dmesg.efi?.version ?? null,
        systemTableRevision: dmesg.efi?.major != null && dmesg.efi.minor != null ? dmesg.efi.major * 65536 + dmesg.efi.minor : null,
        vendor: dmesg.efi?.vendor ?? null,
      },
      runtimeServices,
      systab: systab ?? {},
      efiStub: dt.tree?.node('/chosen')?.properties.some((p) => p.name === 'linux,uefi-system-table') ?? false,
      cmdlineDtb,
      configTables: { acpi20, acpi20Address, acpi10, deviceTree, deviceTreeEvidence },
      hardwareDescription: description,
      hardwareDescriptionViaConfigTable: via,
      missing: missingDescription(acpi, dt),
      ...t.sourceFacts(),
    };
    return out;
  },
});
