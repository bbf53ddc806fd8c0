/**
 * Well-known partition type GUIDs: UEFI 2.6 §5.3.3 Table 19 (unused, MBR
 * legacy, ESP), the Discoverable Partitions Specification (Linux types), and
 * vendors' published values. Names follow those sources.
 */
export const PARTITION_TYPES: Readonly<Record<string, string>> = {
  // UEFI 2.6 §5.3.3 Table 19
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI System Partition',
  '024DEE41-33E7-11D3-9D69-0008C781F39F': 'Partition containing a legacy MBR',
  // GRUB / BIOS
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot partition',
  // Discoverable Partitions Specification (UAPI.2)
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem data',
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE': 'Linux root (ARM64/AArch64)',
  '69DAD710-2CE4-4E3C-B16C-21A1D49ABED3': 'Linux root (ARM 32-bit)',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  '44479540-F297-41B2-9AF7-D131D5F0458A': 'Linux root (x86)',
  'B0E01050-EE5F-4390-949A-9101B17104E9': 'Linux /usr (ARM64/AArch64)',
  '7D0359A3-02B3-4F0A-865C-654403E70625': 'Linux /usr (ARM 32-bit)',
  '8484680C-9521-48C6-9C11-B0720656F69E': 'Linux /usr (x86-64)',
  'DF3300CE-D69F-4C92-978C-9BFB0F38D820': 'Linux root verity (ARM64/AArch64)',
  '6E11A4E7-FBCA-4DED-B9E9-E1A512BB664E': 'Linux /usr verity (ARM64/AArch64)',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Extended Boot Loader (XBOOTLDR)',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'Linux RAID',
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'Linux /home',
  '3B8F8425-20E0-4F3B-907F-1A25A76F98E8': 'Linux /srv',
  '4D21B016-B534-45C2-A9FB-5C16E091FD2D': 'Linux /var',
  '7EC6F557-3BC5-4ACA-B293-16EF5DF639D1': 'Linux /var/tmp',
  '773F91EF-66D4-49B5-BD83-D683BF40AD16': "Linux per-user home (systemd-homed)",
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': 'Linux LUKS',
  '7FFEC5C9-2D00-49B7-8941-3EA10A5586B7': 'Linux dm-crypt',
  '8DA63339-0007-60C0-C436-083AC8230908': 'Linux reserved',
  // Microsoft
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft reserved',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'Windows recovery environment',
  // ChromeOS
  'FE3A2A5D-4F32-41A7-B725-ACCC3285A309': 'ChromeOS kernel',
  '3CB8E202-3B7E-47DD-8A3C-7FF2A13CFCEC': 'ChromeOS root filesystem',
};

/** Name of a well-known partition type GUID, or null. */
export function partitionTypeName(guid: string): string | null {
  return PARTITION_TYPES[guid.toUpperCase()] ?? null;
}

/** Well-known type GUIDs by the names engineers and YAML use. */
export const TYPE_GUID = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  linuxFilesystem: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  linuxRootAarch64: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE',
  linuxRootArm32: '69DAD710-2CE4-4E3C-B16C-21A1D49ABED3',
  linuxUsrAarch64: 'B0E01050-EE5F-4390-949A-9101B17104E9',
  xbootldr: 'BC13C2FF-59E6-4262-A352-B275FD6F7172',
  linuxSwap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  linuxLvm: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
  linuxLuks: 'CA7D7CCB-63ED-4C53-861C-1742536059CC',
  microsoftBasicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
} as const;
