import { execa } from 'execa';

/**
 * How vmspec runs a hypervisor process (QEMU here, or the L0 QEMU of a
 * nested KVM or Xen host): SIGTERM on the timeout or a cancel, SIGKILL 3 s
 * later if it is still there, no stdin, stdout and stderr together as its
 * own words. Never rejects: how it ended is in the result.
 */
export function runHypervisorProcess(cmd: string, argv: string[], o: { timeoutMs: number; cancelSignal?: AbortSignal | undefined }) {
  return execa(cmd, argv, {
    timeout: o.timeoutMs,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: 3000,
    reject: false,
    stdin: 'ignore',
    all: true,
    ...(o.cancelSignal !== undefined ? { cancelSignal: o.cancelSignal } : {}),
  });
}
