import { existsSync, writeFileSync, openSync, fstatSync, readSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import { QEMU_HEADLESS, qemuArgv, qemuEscape, type Firmware, type QemuRunOptions, type QemuRunResult } from '../qemu-run.js';
import type { BootRunner } from '../types.js';
import { KVM_HOST_CMDLINE, type KvmHost } from './kvm-host.js';
import { runHypervisorProcess } from '../hypervisor-process.js';
import { watchForRestart } from '../reset-watch.js';

/**
 * A planned boot run under KVM in the nested host (boot/nested/kvm-host.ts):
 * L0 (this machine's QEMU, TCG, EL2 emulated) boots the L1 host, which runs
 * the guest (L2) with `qemu-system-aarch64 -accel kvm -cpu host` and the
 * same command line vmspec gives QEMU on a real aarch64 KVM host
 * (boot/qemu-run.ts qemuArgv). The request's files stay on L0 and reach L2
 * through L1's virtio devices, so the host-side facts are L0 files as for
 * any route:
 *
 *   image (read-only), firmware code (read-only), vars, evidence, seeds
 *       L0 -drive → L1 virtio-blk, serial=<name> → /run/vmspec/<name> → L2's -drive / pflash
 *   L2's serial console
 *       L2 -chardev file → L1 virtio-serial port vmspec.serial → L0 chardev file = opts.serialLog
 *   the job (L2's arguments, its timeout)
 *       L0 -fw_cfg name=opt/vmspec/job,file=… → L1 /sys/firmware/qemu_fw_cfg
 *   how L2 ended (exit, timeout, duration, L2 QEMU's messages)
 *       L1's console (L0's PL011, a file beside the serial log), one end line
 *   a boot whose guest resets (guestEnd 'reset'): "stop" once L0 has seen
 *   the VM start again on the serial log (boot/reset-watch.ts), as runQemu stops its VM
 *       L0 unix socket (vmspec listens, L0 QEMU connects at its start) → L1 virtio-serial port vmspec.control → L1 stops L2 QEMU
 *
 * The L1 host's GIC decides which virtual GICs its KVM offers: a GICv3 L1
 * (no GICv2 legacy interface) offers only vGICv3, so a GICv2 guest is refused
 * by L2's QEMU as on such a real host; a GICv2 L1 offers only vGICv2.
 */

/** Which GIC the L1 host has: 3 (the default: a GICv3 host without GICv2 compatibility, as today's aarch64 servers), 2, or each boot's own. */
export type KvmHostGic = 2 | 3 | 'match';

/** The L1 boot and power-off, beyond the guest's own timeout, before L0 is stopped anyway. */
export const L1_BUDGET_MS = 300_000;
/** L1's memory beyond the guest's (its initramfs unpacked, L2 QEMU itself). */
export const L1_EXTRA_MIB = 512;
/** L1 paths of the devices, as kvm-host-init.sh links them. */
export const L1_DIR = '/run/vmspec';
export const L2_QEMU = '/usr/bin/qemu-system-aarch64';
/** What of L2 QEMU's output L1 reports (kvm-host-init.sh's head -c). */
const OUTPUT_CAP = 65536;
/** The L1 console is read from its end: the end line is near it. */
const CONSOLE_READ_CAP = 4 * 1024 * 1024;

export interface L0Disk {
  /** The virtio-blk serial L1 names it by ([a-z0-9], ≤ 20). */
  serial: string;
  path: string;
  readOnly: boolean;
}

/** The request, seen from inside L1: the same options with L1's device paths, KVM, and the disks L0 must pass through. */
export function l2Request(opts: QemuRunOptions, fw: Firmware): { l2: QemuRunOptions; fw: Firmware; disks: L0Disk[] } {
  const at = (name: string): string => `${L1_DIR}/${name}`;
  const disks: L0Disk[] = [
    { serial: 'code', path: fw.code, readOnly: true },
    { serial: 'image', path: opts.image, readOnly: true },
  ];
  if (opts.vars !== undefined) disks.push({ serial: 'vars', path: opts.vars, readOnly: false });
  if (opts.evidenceDisk !== undefined) disks.push({ serial: 'evidence', path: opts.evidenceDisk, readOnly: false });
  (opts.readOnlyDisks ?? []).forEach((d, i) => disks.push({ serial: `seed${i}`, path: d, readOnly: true }));
  const { cancelSignal: _c, qemu: _q, cpu: _cpu, ...rest } = opts;
  const l2: QemuRunOptions = {
    ...rest,
    image: at('image'),
    ...(opts.vars !== undefined ? { vars: at('vars') } : {}),
    ...(opts.evidenceDisk !== undefined ? { evidenceDisk: at('evidence') } : {}),
    ...(opts.readOnlyDisks !== undefined ? { readOnlyDisks: opts.readOnlyDisks.map((_, i) => at(`seed${i}`)) } : {}),
    serialLog: at('serial'),
    accel: 'kvm',
  };
  return { l2, fw: { ...fw, code: at('code') }, disks };
}

/** A shell word that stays one word whatever it holds (POSIX single quotes). */
export function shellQuote(s: string): string {
  if (s.includes('\0')) throw new UnsupportedError('an L2 argument holds a NUL byte');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The job file L1 sources (kvm-host-init.sh): the timeout, whether L0 may stop L2 through the control port, and the arguments, each quoted; nothing else. */
export function encodeJob(argv: readonly string[], timeoutS: number, control = false): string {
  if (!Number.isInteger(timeoutS) || timeoutS <= 0) throw new UnsupportedError(`L2 timeout ${timeoutS} s is not a positive whole number`);
  return `VMSPEC_TIMEOUT_S=${timeoutS}\nVMSPEC_CONTROL=${control ? 1 : 0}\nset -- ${argv.map(shellQuote).join(' ')}\n`;
}

/** L0's QEMU command line for one L1 run. */
export function l0Argv(o: { host: Pick<KvmHost, 'kernel' | 'initrd'>; gic: 2 | 3; memoryMiB: number; smp: number; jobFile: string; serialLog: string; l1Console: string; disks: L0Disk[]; controlSocket?: string }): string[] {
  const argv = [
    '-M', `virt,virtualization=on,gic-version=${o.gic}`,
    // pauth-impdef: QEMU's cheap pointer-authentication algorithm (architected QARMA is slow under TCG).
    '-cpu', 'max,pauth-impdef=on',
    '-accel', 'tcg,thread=multi',
    '-m', String(o.memoryMiB),
    '-smp', String(o.smp),
    '-kernel', o.host.kernel,
    '-initrd', o.host.initrd,
    '-append', KVM_HOST_CMDLINE,
    '-fw_cfg', `name=opt/vmspec/job,file=${qemuEscape(o.jobFile)}`,
  ];
  for (const d of o.disks) {
    if (!/^[a-z0-9]{1,20}$/.test(d.serial)) throw new UnsupportedError(`virtio-blk serial ${JSON.stringify(d.serial)}: [a-z0-9], at most 20`);
    argv.push('-drive', `if=none,file=${qemuEscape(d.path)},format=raw,id=${d.serial}${d.readOnly ? ',readonly=on' : ''}`, '-device', `virtio-blk-pci,drive=${d.serial},serial=${d.serial}`);
  }
  argv.push(
    '-device', 'virtio-serial-pci,id=vser',
    '-chardev', `file,id=l2serial,path=${qemuEscape(o.serialLog)}`,
    '-device', 'virtserialport,bus=vser.0,chardev=l2serial,name=vmspec.serial',
    ...(o.controlSocket !== undefined
      ? ['-chardev', `socket,id=l1control,path=${qemuEscape(o.controlSocket)}`, '-device', 'virtserialport,bus=vser.0,chardev=l1control,name=vmspec.control']
      : []),
    '-chardev', `file,id=l1console,path=${qemuEscape(o.l1Console)}`,
    '-serial', 'chardev:l1console',
    ...QEMU_HEADLESS,
    '-no-reboot',
  );
  return argv;
}

/** What the L1 console says about the L2 run. */
export interface L1Report {
  /** The end line, when L1 got that far; `stopped`: L1 stopped L2 on L0's word (the control port). */
  end: { exit: number; timedOut: boolean; ms: number; stopped: boolean } | null;
  /** L2 QEMU's output (decoded; at most OUTPUT_CAP bytes), '' without an end line. */
  output: string;
  /** VMSPEC-L1-FAIL's reason. */
  failure: string | null;
  /** The host's own lines (its KVM and GIC messages, progress). */
  hostLines: string[];
}

/** Reads L1's console text; anything malformed counts as absent, never as a success. */
export function parseL1Console(text: string): L1Report {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/\r/g, ''));
  const report: L1Report = { end: null, output: '', failure: null, hostLines: [] };
  let begin = -1;
  let block: string[] | null = null;
  for (const [i, line] of lines.entries()) {
    if (line.startsWith('VMSPEC-L1: ')) report.hostLines.push(line.slice('VMSPEC-L1: '.length).slice(0, 500));
    else if (line.startsWith('VMSPEC-L1-FAIL ')) report.failure = line.slice('VMSPEC-L1-FAIL '.length).slice(0, 500);
    else if (line === 'VMSPEC-L1-QEMU-OUTPUT-BEGIN') begin = i;
    else if (line === 'VMSPEC-L1-QEMU-OUTPUT-END' && begin >= 0) {
      block = lines.slice(begin + 1, i);
      begin = -1;
    } else {
      const m = /^VMSPEC-L1-END exit=(\d{1,3}) timedout=([01]) ms=(\d{1,10}) stopped=([01])$/.exec(line);
      if (m && block !== null) {
        const exit = Number(m[1]);
        const b64 = block.join('');
        if (exit <= 255 && /^[A-Za-z0-9+/]*={0,2}$/.test(b64) && b64.length <= Math.ceil(OUTPUT_CAP / 3) * 4) {
          report.end = { exit, timedOut: m[2] === '1', ms: Number(m[3]), stopped: m[4] === '1' };
          report.output = Buffer.from(b64, 'base64').toString('utf8');
        }
        block = null;
      }
    }
  }
  return report;
}

/** The tail of a file, at most `cap` bytes (L1's console may be long). */
function readTail(path: string, cap = CONSOLE_READ_CAP): string {
  if (!existsSync(path)) return '';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, cap);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, size - n);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function signalName(n: number): string | null {
  const hit = Object.entries(constants.signals).find(([, v]) => v === n);
  return hit ? hit[0] : null;
}

/**
 * The hypervisor's own messages: L1's KVM lines (which virtual GICs it
 * offers, e.g. "kvm [1]: disabling GICv2 emulation") first, then L2 QEMU's,
 * so a refusal's last lines name both.
 */
export function hypervisorOutput(report: Pick<L1Report, 'hostLines' | 'output'>): string {
  const kvm = report.hostLines.filter((l) => /^dmesg: \[[ 0-9.]+\] kvm \[\d+\]: /.test(l)).map((l) => `L1 ${l.replace(/^dmesg: \[[ 0-9.]+\] /, '')}`);
  return [...kvm, report.output].filter((l) => l !== '').join('\n');
}

export interface NestedKvmOptions {
  host: KvmHost;
  /** L0's qemu-system-aarch64 (TCG). */
  l0Qemu: string;
  hostGic: KvmHostGic;
}

/** The L1 host's GIC for one boot. */
export function l1Gic(hostGic: KvmHostGic, bootGic: 2 | 3 | undefined): 2 | 3 {
  return hostGic === 'match' ? (bootGic ?? 3) : hostGic;
}

/**
 * The L0 end of L1's control port: a unix socket vmspec listens on, which L0
 * QEMU connects to at its start and keeps for the whole run (L1 reads EOF
 * from a port whose host end is not connected). `stop()` sends L1 "stop".
 */
async function controlPort(path: string): Promise<{ stop: () => void; close: () => void }> {
  let l0: Socket | null = null;
  let stopAsked = false;
  const server = createServer((c) => {
    l0 = c;
    c.on('error', () => c.destroy());
    if (stopAsked) c.write('stop\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    stop: () => {
      stopAsked = true;
      l0?.write('stop\n');
    },
    close: () => {
      l0?.destroy();
      server.close();
    },
  };
}

/** A BootRunner that runs each planned boot under KVM in a fresh L1 host; it stops a reset boot's VM once it has started again, as runQemu does. */
export function nestedKvmRunner(o: NestedKvmOptions): BootRunner {
  const run = async (opts: QemuRunOptions): Promise<QemuRunResult> => {
    const fw = opts.firmware;
    if (fw === undefined) throw new UnsupportedError('the nested KVM route needs the firmware vmspec chose (opts.firmware)');
    for (const [what, p] of [['image', opts.image], ['vars', opts.vars], ['evidence disk', opts.evidenceDisk], ['firmware', fw.code], ...(opts.readOnlyDisks ?? []).map((d) => ['disk', d] as const)] as const) {
      if (p !== undefined && !existsSync(p)) throw new UnsupportedError(`${what} ${p} does not exist`);
    }
    const { l2, fw: l2fw, disks } = l2Request(opts, fw);
    const l2argv = qemuArgv(l2, l2fw);
    const base = opts.serialLog.replace(/\.log$/, '');
    const jobFile = `${base}-l1-job.sh`;
    const l1Console = `${base}-l1-console.log`;
    const reset = opts.guestEnd === 'reset';
    writeFileSync(jobFile, encodeJob(l2argv, Math.max(1, Math.ceil(opts.timeoutMs / 1000)), reset));
    writeFileSync(opts.serialLog, '');
    // A short directory of its own: a unix socket's path is limited to 107 bytes, a --work-dir is not.
    const controlDir = reset ? mkdtempSync(join(tmpdir(), 'vmspec-l1-')) : undefined;
    const controlSocket = controlDir !== undefined ? join(controlDir, 'control') : undefined;
    const argv = l0Argv({
      host: o.host,
      gic: l1Gic(o.hostGic, opts.gic),
      memoryMiB: (opts.memoryMiB ?? 1024) + L1_EXTRA_MIB,
      smp: Math.max(2, opts.smp ?? 2),
      jobFile,
      serialLog: opts.serialLog,
      l1Console,
      disks,
      ...(controlSocket !== undefined ? { controlSocket } : {}),
    });
    const control = controlSocket !== undefined ? await controlPort(controlSocket).catch((e: unknown) => {
      if (controlDir !== undefined) rmSync(controlDir, { recursive: true, force: true });
      throw e;
    }) : undefined;
    const started = performance.now();
    const stopWatching = control !== undefined ? watchForRestart(opts.serialLog, () => control.stop()) : () => {};
    const r = await runHypervisorProcess(o.l0Qemu, argv, { timeoutMs: opts.timeoutMs + L1_BUDGET_MS, cancelSignal: opts.cancelSignal }).finally(() => {
      stopWatching();
      control?.close();
      if (controlDir !== undefined) rmSync(controlDir, { recursive: true, force: true });
    });
    const l0Ms = Math.round(performance.now() - started);
    const consoleText = readTail(l1Console);
    const report = parseL1Console(consoleText);
    const l0Output = typeof r.all === 'string' ? r.all.trim() : '';
    const recorded = [L2_QEMU, ...l2argv];
    if (report.end !== null && !r.isCanceled) {
      const killed = report.end.exit > 128 ? signalName(report.end.exit - 128) : null;
      return {
        exitCode: killed !== null ? null : report.end.exit,
        timedOut: report.end.timedOut,
        canceled: false,
        signal: killed,
        serialLog: opts.serialLog,
        durationMs: report.end.ms,
        argv: recorded,
        output: hypervisorOutput(report),
        ...(report.end.stopped ? { stoppedAfterReset: true } : {}),
      };
    }
    // L1 itself failed (or was stopped): a failure of the hypervisor, told in L1's words.
    const tail = consoleText.split(/\r?\n/).filter((l) => l.trim() !== '').slice(-15).join('\n');
    const why = r.isCanceled ? 'canceled' : r.timedOut ? `the L1 KVM host did not finish within ${Math.round((opts.timeoutMs + L1_BUDGET_MS) / 1000)} s (L0 QEMU stopped)` : report.failure !== null ? `the L1 KVM host could not run the guest: ${report.failure}` : `the L1 KVM host ended without reporting the guest's end (L0 QEMU exit ${r.exitCode ?? r.signal})`;
    return {
      // L0 exiting 0 after an L1 that never reported is still a failure of the hypervisor: exit 1.
      exitCode: r.timedOut || r.isCanceled ? (r.exitCode ?? null) : r.exitCode === 0 || r.exitCode === undefined ? 1 : r.exitCode,
      timedOut: r.timedOut,
      canceled: r.isCanceled,
      signal: r.signal ?? null,
      serialLog: opts.serialLog,
      durationMs: l0Ms,
      argv: recorded,
      output: [why, ...(l0Output ? [`L0 QEMU: ${l0Output}`] : []), 'L1 console tail:', tail].join('\n'),
    };
  };
  return Object.assign(run, { watchesReset: true as const });
}
