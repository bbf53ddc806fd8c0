import { readSerialLog } from './serial-log.js';

/**
 * A guest-initiated reset (PSCI SYSTEM_RESET) as the host sees it on the
 * serial port. The reference image's init (boot/reference/init.sh), told
 * `end=reset`, prints RESET_REQUEST_LINE and calls reboot(2); Linux then
 * calls PSCI SYSTEM_RESET. A hypervisor that honours it starts the VM again:
 * the firmware prints anew (any firmware: an unstamped line), or, with a
 * silent firmware, a fresh kernel's first line ("[    0.000000]") or init's
 * first line. One
 * that powers the VM off instead, or hangs, prints nothing more.
 */
export const RESET_REQUEST_LINE = 'vmspec-init: requesting a reset (PSCI SYSTEM_RESET)';

// What the old kernel and init may still print after the request, before the reset: never a sign of a restart.
const KERNEL_STAMP = /^\[\s*\d+\.\d{6}\] /;
const FRESH_KERNEL = /^\[\s*0\.000000\] /;
// init's first line (boot/reference/init.sh), on the UART even when the kernel's console is elsewhere (console=tty0).
const FRESH_INIT = /^vmspec-init: kernel \S+, [\d.]+s since boot/;
const AFTER_REQUEST_NOT_A_RESTART = [/^VMSPEC-DONE rc=/, /^vmspec-init: /, /^reboot: /, /Reboot failed/, /^\s*$/];

export interface ResetOnSerial {
  /** The guest's request line reached the UART. */
  requested: boolean;
  /** After the request, the VM printed as a restarted machine does (firmware output or a fresh kernel). */
  restarted: boolean;
}

export function resetOnSerial(text: string): ResetOnSerial {
  const at = text.lastIndexOf(RESET_REQUEST_LINE);
  if (at < 0 || (at > 0 && text[at - 1] !== '\n')) return { requested: false, restarted: false };
  const after = text.slice(at + RESET_REQUEST_LINE.length).split('\n').slice(1);
  const restarted = after.some((line) => FRESH_KERNEL.test(line) || FRESH_INIT.test(line) || (!KERNEL_STAMP.test(line) && !AFTER_REQUEST_NOT_A_RESTART.some((re) => re.test(line)) && /[\x21-\x7e]/.test(line)));
  return { requested: true, restarted };
}

/**
 * Polls a running VM's serial log; calls `onRestart` once the VM has
 * started again after the guest's reset request, so the host can stop it
 * there (no second boot of the OS). Returns the function that stops polling.
 */
export function watchForRestart(serialLog: string, onRestart: () => void, everyMs = 500): () => void {
  let done = false;
  const timer = setInterval(() => {
    if (done) return;
    if (resetOnSerial(readSerialLog(serialLog).text).restarted) {
      done = true;
      clearInterval(timer);
      onRestart();
    }
  }, everyMs);
  return () => {
    done = true;
    clearInterval(timer);
  };
}
