import { existsSync, statSync } from 'node:fs';
import { copyFileSparse } from '../bytes/sparse-copy.js';
import { delimiter, join } from 'node:path';
import { UnsupportedError } from '../bytes/errors.js';
import type { DiskFormat } from '../probes/image/disk-format.js';
import { runHypervisorProcess } from './hypervisor-process.js';
import type { GuestEnd } from './reference/evidence-disk.js';
import { watchForRestart } from './reset-watch.js';

/**
 * Minimal QEMU aarch64 runner: one boot of an image under UEFI (AAVMF
 * pflash CODE read-only + a per-machine VARS copy), serial console to a
 * file, optional evidence disk, killed on timeout. The command line is the
 * one measured in the project's QEMU notes (shared/reference/qemu-aarch64-notes.md,
 * beside this repository). `vmspec boot` runs each boot through it (boot/run-boots.ts).
 */

export interface Firmware {
  /** Read-only firmware code (pflash unit 0). */
  code: string;
  /** Pristine variable store to copy per machine (pflash unit 1); absent: a single image, loaded as `-bios` (volatile variables). */
  varsTemplate?: string;
  /** Formats from the firmware descriptor (default raw). */
  codeFormat?: DiskFormat;
  varsFormat?: DiskFormat;
}

export const AAVMF_DIR = '/usr/share/AAVMF';

/** AAVMF (Debian's edk2 for aarch64), or VMSPEC_AAVMF_CODE / VMSPEC_AAVMF_VARS. */
export function findAavmf(): (Firmware & { varsTemplate: string }) | undefined {
  const code = process.env.VMSPEC_AAVMF_CODE ?? join(AAVMF_DIR, 'AAVMF_CODE.fd');
  const varsTemplate = process.env.VMSPEC_AAVMF_VARS ?? join(AAVMF_DIR, 'AAVMF_VARS.fd');
  return existsSync(code) && existsSync(varsTemplate) ? { code, varsTemplate } : undefined;
}

/** qemu-system-aarch64 on PATH (or VMSPEC_QEMU), or undefined. */
export function findQemu(): string | undefined {
  const env = process.env.VMSPEC_QEMU;
  if (env) return existsSync(env) ? env : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'qemu-system-aarch64');
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A fresh VARS copy for one machine (both boots of a persistence test share it). */
export function copyVars(fw: Firmware, dest: string): string {
  if (fw.varsTemplate === undefined) throw new UnsupportedError(`the firmware ${fw.code} has no variable-store template to copy`);
  copyFileSparse(fw.varsTemplate, dest);
  return dest;
}

export interface QemuRunOptions {
  /** Boot disk. Opened with snapshot=on unless `snapshot: false`: never modified. */
  image: string;
  /** The boot disk's format (default raw): QEMU is never left to guess it. */
  imageFormat?: DiskFormat;
  snapshot?: boolean;
  /** This machine's VARS copy (written by the firmware: persistence lives here); absent: the code is loaded with `-bios` and no store. */
  vars?: string;
  firmware?: Firmware;
  /** Second virtio disk (raw) the guest may write evidence to. */
  evidenceDisk?: string;
  /** Read-only raw virtio disks after the others (e.g. a cloud-init NoCloud seed). */
  readOnlyDisks?: string[];
  /** Accelerator: KVM (`-cpu host`) or TCG (default). */
  accel?: 'kvm' | 'tcg';
  /** ACPI tables (default) or device tree only (`-M virt,acpi=off`). */
  acpi?: boolean;
  /** GIC version; QEMU's default (2) when unset. */
  gic?: 2 | 3;
  /** Kill QEMU after this long. */
  timeoutMs: number;
  /** Serial console output file (created/overwritten). */
  serialLog: string;
  /** QEMU fw_cfg string entries (`-fw_cfg name=KEY,string=VALUE`); keys should start with "opt/". */
  fwCfg?: Record<string, string>;
  qemu?: string;
  cpu?: string;
  memoryMiB?: number;
  smp?: number;
  extraArgs?: string[];
  /**
   * How the guest was told to end the boot (evidence-disk header). reset:
   * QEMU runs without -no-reboot, so an honoured PSCI SYSTEM_RESET starts the
   * VM again; the host stops QEMU as soon as the serial log shows that
   * (boot/reset-watch.ts), before the OS boots a second time.
   */
  guestEnd?: GuestEnd;
  /** Abort (Ctrl-C): QEMU is killed. */
  cancelSignal?: AbortSignal;
}

export interface QemuRunResult {
  /** QEMU's exit code (0 after the guest powers off), null when killed. */
  exitCode: number | null;
  timedOut: boolean;
  canceled: boolean;
  signal: string | null;
  serialLog: string;
  durationMs: number;
  argv: string[];
  /** QEMU's own stdout+stderr (warnings, errors). */
  output: string;
  /**
   * A route that knows it created and started the VM says so (a Xen domain
   * with an id): a non-zero end is then the VM's run failing, never a
   * refused configuration. Unset (QEMU): judged from the UART.
   */
  vmStarted?: boolean;
  /** The host stopped the VM because it had started again after the guest's reset (`guestEnd: 'reset'`); unset otherwise. */
  stoppedAfterReset?: boolean;
}

/** Every QEMU vmspec starts (the VM, a nested host, a Xen host) has no network, display or monitor: its channels are its disks and serial files. */
export const QEMU_HEADLESS = ['-nic', 'none', '-display', 'none', '-monitor', 'none'] as const;

/** QEMU option values: a comma is written as ",,". */
export function qemuEscape(value: string): string {
  return value.replace(/,/g, ',,');
}

export function qemuArgv(opts: QemuRunOptions, fw: Firmware): string[] {
  const machine = ['virt'];
  if (opts.acpi === false) machine.push('acpi=off');
  if (opts.gic !== undefined) machine.push(`gic-version=${opts.gic}`);
  const kvm = opts.accel === 'kvm';
  const argv = [
    '-M', machine.join(','),
    '-cpu', opts.cpu ?? (kvm ? 'host' : 'cortex-a57'),
    '-m', String(opts.memoryMiB ?? 1024),
    '-smp', String(opts.smp ?? 2),
    '-accel', kvm ? 'kvm' : 'tcg,thread=multi',
    // Split pflash (code read-only, the machine's own store); without a store, QEMU's -bios (virt: loaded into flash 0, flash 1 left in memory).
    ...(opts.vars !== undefined
      ? ['-drive', `if=pflash,format=${fw.codeFormat ?? 'raw'},unit=0,readonly=on,file=${qemuEscape(fw.code)}`, '-drive', `if=pflash,format=${fw.varsFormat ?? 'raw'},unit=1,file=${qemuEscape(opts.vars)}`]
      : ['-bios', fw.code]),
    '-drive', `if=none,file=${qemuEscape(opts.image)},format=${opts.imageFormat ?? 'raw'},id=hd0${opts.snapshot === false ? '' : ',snapshot=on'}`,
    '-device', 'virtio-blk-pci,drive=hd0',
    // An empty PCIe root port: QEMU virt's root bus has no hot-plug slot, this port's is (PLAT-7).
    '-device', 'pcie-root-port,id=hotplug0,chassis=1,slot=1',
  ];
  if (opts.evidenceDisk !== undefined) {
    argv.push('-drive', `if=none,file=${qemuEscape(opts.evidenceDisk)},format=raw,id=evidence`, '-device', 'virtio-blk-pci,drive=evidence');
  }
  (opts.readOnlyDisks ?? []).forEach((disk, i) => {
    argv.push('-drive', `if=none,file=${qemuEscape(disk)},format=raw,readonly=on,id=ro${i}`, '-device', `virtio-blk-pci,drive=ro${i}`);
  });
  for (const [name, value] of Object.entries(opts.fwCfg ?? {})) {
    if (!/^[A-Za-z0-9/._-]+$/.test(name)) throw new UnsupportedError(`fw_cfg name ${JSON.stringify(name)} has characters QEMU does not accept`);
    argv.push('-fw_cfg', `name=${name},string=${qemuEscape(value)}`);
  }
  argv.push(
    ...QEMU_HEADLESS,
    '-chardev', `file,id=serial0,path=${qemuEscape(opts.serialLog)}`,
    '-serial', 'chardev:serial0',
    // A reset ends QEMU, except in the boot that exercises it (the host stops that one once the VM has restarted).
    ...(opts.guestEnd === 'reset' ? [] : ['-no-reboot']),
    ...(opts.extraArgs ?? []),
  );
  return argv;
}

/** Boot once; resolves when QEMU exits or has been killed (timeout, cancel). Never rejects on a guest failure. */
export async function runQemu(opts: QemuRunOptions): Promise<QemuRunResult> {
  const qemu = opts.qemu ?? findQemu();
  if (qemu === undefined) throw new UnsupportedError('qemu-system-aarch64 not found', 'apt-get install --no-install-recommends qemu-system-arm');
  const fw = opts.firmware ?? findAavmf();
  if (fw === undefined) throw new UnsupportedError(`AAVMF firmware not found in ${AAVMF_DIR}`, 'apt-get install --no-install-recommends qemu-efi-aarch64');
  for (const [what, p] of [['image', opts.image], ['vars', opts.vars], ['evidence disk', opts.evidenceDisk], ...(opts.readOnlyDisks ?? []).map((d) => ['disk', d] as const)] as const) {
    if (p !== undefined && !existsSync(p)) throw new UnsupportedError(`${what} ${p} does not exist`);
  }
  const argv = qemuArgv(opts, fw);
  const started = performance.now();
  const restarted = new AbortController();
  const stopWatching = opts.guestEnd === 'reset' ? watchForRestart(opts.serialLog, () => restarted.abort()) : () => {};
  const cancelSignal = opts.guestEnd === 'reset' ? AbortSignal.any([restarted.signal, ...(opts.cancelSignal ? [opts.cancelSignal] : [])]) : opts.cancelSignal;
  const r = await runHypervisorProcess(qemu, argv, { timeoutMs: opts.timeoutMs, cancelSignal }).finally(stopWatching);
  const stoppedAfterReset = restarted.signal.aborted && opts.cancelSignal?.aborted !== true;
  return {
    exitCode: r.exitCode ?? null,
    timedOut: r.timedOut,
    canceled: r.isCanceled && !stoppedAfterReset,
    signal: r.signal ?? null,
    serialLog: opts.serialLog,
    durationMs: Math.round(performance.now() - started),
    argv: [qemu, ...argv],
    output: typeof r.all === 'string' ? r.all : '',
    ...(stoppedAfterReset ? { stoppedAfterReset } : {}),
  };
}
