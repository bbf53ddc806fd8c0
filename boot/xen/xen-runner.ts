import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { UnsupportedError } from '../../bytes/errors.js';
import { QEMU_HEADLESS, qemuEscape, type QemuRunOptions, type QemuRunResult } from '../qemu-run.js';
import type { BootRunner } from '../types.js';
import { encodeDom0Job, JOB_DIR } from './dom0-job.js';
import type { DomuBoot } from './domu-boot.js';
import { domainRan, endExit, parseDom0End } from './end-line.js';
import type { XenHost } from './xen-host.js';
import { xlConfig } from './xl-config.js';
import { runHypervisorProcess } from '../hypervisor-process.js';

/**
 * A planned boot as a Xen domU (docs/xen.md): L0 QEMU (TCG, EL2 emulated)
 * boots Debian's Xen with dom0 (boot/xen/xen-host.ts); dom0's /init
 * (boot/xen/dom0-init.sh) creates the domain from a job disk with `xl
 * create`, copies its SBSA vUART to the L0 serial log and its PV console
 * beside it, and prints one end line (boot/xen/end-line.ts) on Xen's
 * console before powering off. The image, evidence disk and seed reach dom0
 * as virtio disks (QEMU opens the image, raw or qcow2, with snapshot=on)
 * and the domU as PV disks through blkback (phy:/dev/vdX).
 */

export const DOMAIN_NAME = 'vmspec-boot';
/** dom0's memory; L0 RAM is dom0 + the domain + Xen's own. */
export const DOM0_MEMORY_MIB = 512;
const XEN_MEMORY_MIB = 256;
/** Xen and dom0's boot, xl create and dom0's power-off, on top of the domain's own timeout (measured: ~20 s). */
export const XEN_OVERHEAD_MS = 180_000;
/** QEMU virt's RAM starts here; Xen is loaded low (-kernel), dom0's kernel and initrd above it (guest-loader). */
const RAM_BASE = 0x40000000;
const DOM0_KERNEL_ADDR = 0x49000000;
const ALIGN = 0x200000;

export interface XenRoute {
  host: XenHost;
  domu: DomuBoot;
  qemu: string;
}

/** Files a boot writes beside its serial log (the vUART): the PV console, Xen's console (dom0's end line) and the job disk. */
export function xenFiles(serialLog: string): { pvConsole: string; xenConsole: string; job: string } {
  const base = serialLog.replace(/\.log$/, '');
  return { pvConsole: `${base}-pv.log`, xenConsole: `${base}-xen.log`, job: `${base}-xen-job.cpio` };
}

/** The dom0 device each L0 disk becomes: virtio disks are named in command-line order. */
export const DOM0_DISKS = { job: '/dev/vda', image: '/dev/vdb', evidence: '/dev/vdc', seed: '/dev/vdd' } as const;

/** xl.cfg for the domain, with dom0's paths. */
export function domainConfig(opts: Pick<QemuRunOptions, 'gic' | 'acpi' | 'memoryMiB' | 'smp' | 'readOnlyDisks'>, domu: DomuBoot): string {
  if ((opts.readOnlyDisks ?? []).length > 1) throw new UnsupportedError('the Xen route gives the domain one read-only disk (the seed), not more');
  return xlConfig({
    name: DOMAIN_NAME,
    firmware: `${JOB_DIR}/kernel`,
    ...(domu.kind === 'direct' ? { direct: { ...(domu.ramdisk !== undefined ? { ramdisk: `${JOB_DIR}/ramdisk` } : {}), cmdline: domu.cmdline } } : {}),
    // L0 keeps the image pristine (snapshot=on), so the domain may write to its disk.
    image: { path: DOM0_DISKS.image, format: 'raw' },
    evidenceDisk: DOM0_DISKS.evidence,
    ...((opts.readOnlyDisks ?? []).length === 1 ? { seed: DOM0_DISKS.seed } : {}),
    memoryMiB: opts.memoryMiB ?? 1024,
    vcpus: opts.smp ?? 2,
    gicVersion: opts.gic === 2 ? 'v2' : opts.gic === 3 ? 'v3' : 'default',
    acpi: opts.acpi !== false,
  });
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** L0 QEMU's command line: Xen as the kernel, dom0 by guest-loader, dom0's disks and console ports. */
export function xenHostArgv(opts: QemuRunOptions, host: Pick<XenHost, 'xen' | 'dom0Kernel' | 'dom0Initrd'>, sizes: { kernel: number; initrd: number }, job: string): string[] {
  const initrdAddr = alignUp(DOM0_KERNEL_ADDR + sizes.kernel) + ALIGN;
  const domainMiB = opts.memoryMiB ?? 1024;
  const ramMiB = DOM0_MEMORY_MIB + domainMiB + XEN_MEMORY_MIB;
  if (initrdAddr + sizes.initrd > RAM_BASE + ramMiB * 1024 * 1024) throw new UnsupportedError('dom0\'s kernel and initrd do not fit in L0 RAM');
  const files = xenFiles(opts.serialLog);
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const argv = [
    '-M', `virt,virtualization=on,gic-version=${opts.gic ?? 3}`,
    '-cpu', 'max',
    '-m', String(ramMiB),
    '-smp', String(opts.smp ?? 2),
    '-accel', 'tcg,thread=multi',
    '-kernel', host.xen,
    '-append', `dom0_mem=${DOM0_MEMORY_MIB}M,max:${DOM0_MEMORY_MIB}M dom0_max_vcpus=1 console=dtuart`,
    // pci=nomsi: on a GICv2 L0, Xen hands dom0 the GICv2m MSI frame, and dom0's virtio disks on MSI stall the
    // domain's writes through blkback (measured: "task tar blocked for more than 120 seconds"); on GICv3 (no ITS in
    // Debian's Xen) dom0 uses INTx anyway. dom0's own disks are the L1 host's plumbing, not the platform judged.
    '-device', `guest-loader,addr=${hex(DOM0_KERNEL_ADDR)},kernel=${qemuEscape(host.dom0Kernel)},bootargs=console=hvc0 pci=nomsi rdinit=/init`,
    '-device', `guest-loader,addr=${hex(initrdAddr)},initrd=${qemuEscape(host.dom0Initrd)}`,
    '-drive', `if=none,file=${qemuEscape(job)},format=raw,readonly=on,id=job`,
    '-device', 'virtio-blk-pci,drive=job',
    '-drive', `if=none,file=${qemuEscape(opts.image)},format=${opts.imageFormat ?? 'raw'},id=hd0,snapshot=on`,
    '-device', 'virtio-blk-pci,drive=hd0',
  ];
  if (opts.evidenceDisk === undefined) throw new UnsupportedError('the Xen route needs an evidence disk');
  argv.push('-drive', `if=none,file=${qemuEscape(opts.evidenceDisk)},format=raw,id=evidence`, '-device', 'virtio-blk-pci,drive=evidence');
  (opts.readOnlyDisks ?? []).forEach((disk, i) => {
    argv.push('-drive', `if=none,file=${qemuEscape(disk)},format=raw,readonly=on,id=ro${i}`, '-device', `virtio-blk-pci,drive=ro${i}`);
  });
  argv.push(
    '-device', 'virtio-serial-pci',
    '-chardev', `file,id=vuart,path=${qemuEscape(opts.serialLog)}`,
    '-device', 'virtserialport,chardev=vuart,name=vmspec.vuart',
    '-chardev', `file,id=pv,path=${qemuEscape(files.pvConsole)}`,
    '-device', 'virtserialport,chardev=pv,name=vmspec.pv',
    '-chardev', `file,id=xencons,path=${qemuEscape(files.xenConsole)}`,
    '-serial', 'chardev:xencons',
    ...QEMU_HEADLESS,
    '-no-reboot',
    ...(opts.extraArgs ?? []),
  );
  return argv;
}

/** Xen's and dom0's own lines from Xen's console (not dom0's kernel log): what the hypervisor said. */
export function hypervisorLines(xenConsole: string, max = 40): string {
  return xenConsole
    .split('\n')
    .map((l) => l.replace(/\r+$/, ''))
    .filter((l) => /^(\(XEN\)|vmspec-dom0:|VMSPEC-XEN-END )/.test(l))
    .slice(-max)
    .join('\n');
}

/** The BootRunner of `vmspec boot --hypervisor xen`. */
export function xenRunner(route: XenRoute): BootRunner {
  return async (opts: QemuRunOptions): Promise<QemuRunResult> => {
    for (const [what, p] of [['image', opts.image], ['evidence disk', opts.evidenceDisk], ...(opts.readOnlyDisks ?? []).map((d) => ['disk', d] as const)] as const) {
      if (p !== undefined && !existsSync(p)) throw new UnsupportedError(`${what} ${p} does not exist`);
    }
    const files = xenFiles(opts.serialLog);
    const domu = route.domu;
    writeFileSync(files.job, encodeDom0Job({
      name: DOMAIN_NAME,
      timeoutSeconds: Math.max(1, Math.ceil(opts.timeoutMs / 1000)),
      xlConfig: domainConfig(opts, domu),
      kernel: domu.kind === 'firmware' ? domu.data : domu.kernel,
      ...(domu.kind === 'direct' && domu.ramdisk !== undefined ? { ramdisk: domu.ramdisk } : {}),
    }));
    // The vUART file exists even when nothing reaches it (QEMU creates it; a refused run may not start QEMU).
    writeFileSync(opts.serialLog, '');
    const argv = xenHostArgv(opts, route.host, { kernel: statSync(route.host.dom0Kernel).size, initrd: statSync(route.host.dom0Initrd).size }, files.job);
    const started = performance.now();
    const r = await runHypervisorProcess(route.qemu, argv, { timeoutMs: opts.timeoutMs + XEN_OVERHEAD_MS, cancelSignal: opts.cancelSignal });
    const xenConsole = existsSync(files.xenConsole) ? readFileSync(files.xenConsole, 'latin1') : '';
    const end = parseDom0End(xenConsole);
    const qemuSaid = typeof r.all === 'string' ? r.all.trim() : '';
    const said = [qemuSaid, hypervisorLines(xenConsole)].filter(Boolean);
    let exit: { exitCode: number | null; timedOut: boolean };
    if (r.isCanceled || r.timedOut) exit = { exitCode: null, timedOut: r.timedOut };
    else if (end === null) {
      exit = { exitCode: r.exitCode === 0 || r.exitCode === undefined ? 1 : r.exitCode, timedOut: false };
      said.push(`dom0 printed no VMSPEC-XEN-END line (QEMU exited with ${r.exitCode ?? r.signal})`);
    } else exit = endExit(end);
    return {
      ...exit,
      // A domain that was created ran: its end (a reset, a crash) is a failed run, not a refused configuration, even with a silent UART.
      ...(end !== null ? { vmStarted: domainRan(end) } : {}),
      canceled: r.isCanceled,
      signal: r.signal ?? null,
      serialLog: opts.serialLog,
      durationMs: Math.round(performance.now() - started),
      argv: [route.qemu, ...argv],
      output: said.join('\n'),
    };
  };
}
