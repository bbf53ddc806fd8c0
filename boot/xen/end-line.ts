/**
 * dom0's last word about the domain (boot/xen/dom0-init.sh), on its console,
 * which Xen forwards to the L0 serial log:
 *
 *   VMSPEC-XEN-END reason=R domid=N seconds=S
 *
 * R is xl's shutdown reason (libxl_shutdown_reason: poweroff, reboot,
 * suspend, crash, watchdog, soft_reset), `timeout` (dom0 destroyed the
 * domain), or `error:WORD` (the toolstack failed before or while creating
 * it). The L0 log holds dom0's kernel messages too; only a whole line of
 * exactly this form counts, and the last one wins.
 */

export const END_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset', 'timeout'] as const;
export type EndReason = (typeof END_REASONS)[number] | `error:${string}`;

export interface Dom0End {
  reason: EndReason;
  /** The domain's id, null when none was created. */
  domid: number | null;
  /** dom0's uptime from /init's start to the end line. */
  seconds: number;
}

const LINE = /^VMSPEC-XEN-END reason=(poweroff|reboot|suspend|crash|watchdog|soft_reset|timeout|error:[a-z0-9-]{1,32}) domid=(-|[0-9]{1,5}) seconds=([0-9]{1,9})\r*$/;
/** Only the log's tail is read: the end line is the last thing dom0 prints before powering off. */
const TAIL_BYTES = 64 * 1024;

export function parseDom0End(log: string): Dom0End | null {
  const lines = log.slice(-TAIL_BYTES).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = LINE.exec(lines[i] as string);
    if (m === null) continue;
    const domid = m[2] === '-' ? null : Number(m[2]);
    return { reason: m[1] as EndReason, domid, seconds: Number(m[3]) };
  }
  return null;
}

/** How a route reports the end: exit 0 only for a clean power-off; a timeout as a timeout; anything else a failed run. */
export function endExit(end: Dom0End | null): { exitCode: number | null; timedOut: boolean } {
  if (end === null) return { exitCode: null, timedOut: false };
  if (end.reason === 'poweroff') return { exitCode: 0, timedOut: false };
  if (end.reason === 'timeout') return { exitCode: null, timedOut: true };
  return { exitCode: 1, timedOut: false };
}

/** The toolstack created the domain and it ran (any end but `error:*` with a domain id). */
export function domainRan(end: Dom0End): boolean {
  return end.domid !== null && !end.reason.startsWith('error:');
}
