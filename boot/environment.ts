import { accessSync, constants, existsSync } from 'node:fs';
import { execa } from 'execa';

/** KVM when the host is aarch64 and /dev/kvm is usable; TCG otherwise (the spec's clauses hold for both). */
export function chooseAccelerator(requested: 'auto' | 'kvm' | 'tcg'): 'kvm' | 'tcg' {
  const usable = kvmUsable();
  if (requested === 'tcg') return 'tcg';
  if (requested === 'kvm') {
    if (!usable) throw new Error(process.arch !== 'arm64' ? `--accel kvm needs an aarch64 host; this one is ${process.arch}` : '--accel kvm: /dev/kvm is missing or not writable by this user');
    return 'kvm';
  }
  return usable ? 'kvm' : 'tcg';
}

/** Whether this host can run aarch64 guests under KVM: an aarch64 host with a /dev/kvm this user may open. */
export function kvmUsable(): boolean {
  return process.arch === 'arm64' && existsSync('/dev/kvm') && canReadWrite('/dev/kvm');
}

function canReadWrite(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** "7.2.19" from `qemu-system-aarch64 --version` ("QEMU emulator version 7.2.19 (Debian …)"). */
export async function qemuVersion(qemu: string): Promise<string> {
  const r = await execa(qemu, ['--version'], { reject: false, timeout: 20_000 });
  const m = /version\s+(\S+)(\s+\(([^)]*)\))?/.exec(r.stdout ?? '');
  if (!m) throw new Error(`${qemu} --version did not print a QEMU version (exit ${r.exitCode}): is it qemu-system-aarch64?`);
  return m[3] ? `${m[1]} (${m[3]})` : m[1]!;
}
