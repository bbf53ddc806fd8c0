import { execa } from 'execa';
import { UnsupportedError } from '../../bytes/errors.js';
import { findQemu } from '../qemu-run.js';

/**
 * A QEMU machine type and its canonical, versioned name. Firmware
 * descriptors list concrete machine types ("virt-*"), not aliases, so
 * libvirt matches their globs against the canonical name QEMU reports:
 * `virt` is "alias of virt-7.2" on QEMU 7.2.
 */
export interface MachineType {
  /** As asked for. */
  requested: string;
  /** What descriptors are matched against: the alias target, or the name itself. */
  canonical: string;
  /** QEMU's description line for it. */
  description: string;
}

export interface MachineHelpEntry {
  name: string;
  description: string;
  aliasOf?: string;
  isDefault: boolean;
}

/** The lines of `qemu-system-ARCH -machine help` ("Supported machines are:", then "NAME  DESCRIPTION"). */
export function parseMachineHelp(text: string): MachineHelpEntry[] {
  const out: MachineHelpEntry[] = [];
  for (const line of text.split('\n').slice(0, 10_000)) {
    const m = /^(\S+)\s+(.*?)\s*$/.exec(line);
    if (!m || line.startsWith('Supported machines')) continue;
    const [, name, rest] = m as unknown as [string, string, string];
    const alias = /\(alias of ([^)\s]+)\)/.exec(rest);
    out.push({
      name,
      description: rest.replace(/\s*\((alias of [^)]*|default)\)/g, ''),
      ...(alias ? { aliasOf: alias[1]! } : {}),
      isDefault: /\(default\)/.test(rest),
    });
  }
  return out;
}

/** Resolve `machine` against a parsed machine list; UnsupportedError when QEMU does not know it. */
export function canonicalMachine(machine: string, entries: readonly MachineHelpEntry[], qemu = 'qemu-system-aarch64'): MachineType {
  const e = entries.find((x) => x.name === machine);
  if (e === undefined) {
    const near = entries.filter((x) => x.name.startsWith(machine.split('-')[0] ?? machine)).map((x) => x.name).slice(0, 8);
    throw new UnsupportedError(
      `machine type "${machine}" is not known to ${qemu}`,
      near.length ? `known machine types like it: ${near.join(', ')} (see \`${qemu} -machine help\`)` : `see \`${qemu} -machine help\``,
    );
  }
  return { requested: machine, canonical: e.aliasOf ?? e.name, description: e.description };
}

/** Ask QEMU (`-machine help`) for the canonical name of `machine` (default "virt"). */
export async function resolveMachineType(machine = 'virt', qemu: string | undefined = findQemu()): Promise<MachineType> {
  if (qemu === undefined) throw new UnsupportedError('qemu-system-aarch64 not found: cannot resolve the machine type', 'apt-get install --no-install-recommends qemu-system-arm, or set VMSPEC_QEMU');
  const r = await execa(qemu, ['-machine', 'help'], { reject: false, timeout: 30_000, stdin: 'ignore', env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0) throw new UnsupportedError(`${qemu} -machine help failed (exit ${r.exitCode ?? r.signal}): ${String(r.stderr).trim().slice(0, 500)}`);
  return canonicalMachine(machine, parseMachineHelp(String(r.stdout)), qemu);
}
