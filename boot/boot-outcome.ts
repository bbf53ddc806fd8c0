import type { BootFailure, SerialFacts } from '../probes/host/facts.js';
import type { QemuRunResult } from './qemu-run.js';

/**
 * How one boot ended, seen from the host, in firmware-neutral terms: QEMU's
 * exit, whether anything reached the UART, whether an operating system
 * started (kernel or collector lines on the UART, or a bundle on the
 * evidence disk; no edk2 message is needed), and whether its evidence came
 * back. Null: the collector's bundle is there to judge.
 */
export function bootFailure(
  label: string,
  qemu: Pick<QemuRunResult, 'exitCode' | 'signal' | 'timedOut' | 'output' | 'vmStarted' | 'stoppedAfterReset'>,
  serial: Pick<SerialFacts, 'bytes' | 'guestConsoleOnUart' | 'collectorExit'>,
  serialTail: string,
  bundleOnDisk: boolean,
  timeoutMs: number,
): BootFailure | null {
  const hypervisorMessage = lastLines(qemu.output);
  const failure = (kind: BootFailure['kind'], reason: string): BootFailure => ({ kind, reason: `${label}: ${reason}`, hypervisorMessage, serialTail });
  const osStarted = serial.guestConsoleOnUart || bundleOnDisk;
  // Stopped by the host after the guest's reset had restarted the VM (boot/reset-watch.ts): not the hypervisor failing.
  if (!qemu.timedOut && qemu.exitCode !== 0 && qemu.stoppedAfterReset !== true) {
    const exit = `QEMU exited with ${qemu.exitCode ?? qemu.signal}`;
    return serial.bytes === 0 && qemu.vmStarted !== true
      ? failure('hypervisor-refused', `the hypervisor refused this configuration (${exit} before any output on the UART)`)
      : failure('hypervisor-failed', `the hypervisor stopped the VM (${exit}) before it powered off`);
  }
  const ended = qemu.timedOut ? `no power-off within ${Math.round(timeoutMs / 1000)} s (QEMU was stopped)` : qemu.stoppedAfterReset ? 'the VM reset and started again (QEMU was stopped then)' : 'the VM powered off (or reset)';
  if (!osStarted) {
    return failure('no-os', `${ended} without any operating system starting: no kernel or collector line on the UART${serial.bytes === 0 ? ' (nothing at all was printed there)' : ''} and no bundle on the evidence disk; the firmware never handed over to an OS loader`);
  }
  if (serial.collectorExit === null && !bundleOnDisk) {
    return failure('no-evidence', `${ended}; the operating system started but the collector left no bundle on the evidence disk`);
  }
  return null;
}

/** QEMU's own last words, each line cut to a sane width, control characters shown as '?'. */
function lastLines(output: string, lines = 5): string | null {
  const said = output
    .trim()
    .split('\n')
    // Our own stop on a timeout, not the hypervisor's view of the VM.
    .filter((l) => !/terminating on signal \d+ from pid/.test(l))
    .slice(-lines)
    // eslint-disable-next-line no-control-regex
    .map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '?').slice(0, 300))
    .join('\n');
  return said || null;
}
