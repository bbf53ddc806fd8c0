import { readFileSync, statSync } from 'node:fs';
import type { SerialFacts } from '../probes/host/facts.js';

/**
 * What a boot's serial log (QEMU's `-serial` = the virt machine's PL011)
 * shows from the host: only the log's last MAX_READ bytes are read, so a
 * guest flooding its console cannot exhaust memory.
 */
const MAX_READ = 8 * 1024 * 1024;
// edk2's banner (ArmVirtQemu's PlatformPeiLib / BdsDxe boot lines): edk2-specific, so only one of two ways to see the firmware.
const EDK2_FIRMWARE_LINE = /^(UEFI firmware \(version|BdsDxe: (loading|starting) )/m;
// printk's timestamped lines: "[    0.090067] ...".
const KERNEL_LINE = /^\[\s*\d+\.\d{6}\] /m;
const COLLECTOR_LINE = /^(vmspec-init|vmspec-run|collect\.sh): /m;
const DONE_LINE = /^VMSPEC-DONE rc=(\d{1,3})\s*$/m;

/** Terminal escapes and carriage returns removed; latin1 so no byte is lost or rejected. */
export function readSerialLog(path: string): { text: string; bytes: number } {
  let bytes = 0;
  try {
    bytes = statSync(path).size;
  } catch {
    return { text: '', bytes: 0 };
  }
  const buf = readFileSync(path);
  const tail = buf.length > MAX_READ ? buf.subarray(buf.length - MAX_READ) : buf;
  // eslint-disable-next-line no-control-regex
  const text = tail.toString('latin1').replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '').replace(/\r/g, '');
  return { text, bytes };
}

export function serialFacts(text: string, bytes: number): SerialFacts {
  const done = DONE_LINE.exec(text);
  const kernelMessages = KERNEL_LINE.test(text);
  const collectorMessages = COLLECTOR_LINE.test(text);
  return {
    bytes,
    guestConsoleOnUart: kernelMessages || collectorMessages,
    firmwareMessages: EDK2_FIRMWARE_LINE.test(text) || printedBeforeOs(text),
    kernelMessages,
    collectorMessages,
    collectorExit: done ? Number(done[1]) : null,
  };
}

/**
 * Any firmware: the UART carried printable output before the first kernel or
 * collector line (or with none at all). Before the OS only the firmware, and
 * loaders through the firmware's console, can write there.
 */
function printedBeforeOs(text: string): boolean {
  const os = [KERNEL_LINE.exec(text)?.index, COLLECTOR_LINE.exec(text)?.index].filter((i): i is number => i !== undefined);
  const before = os.length ? text.slice(0, Math.min(...os)) : text;
  return /[\x21-\x7e]/.test(before);
}

/** The last lines of a log, each cut to a sane width, control characters shown as '?'. */
export function serialTail(text: string, lines = 20): string {
  return text
    .split('\n')
    .filter((l, i, all) => l.length > 0 || i < all.length - 1)
    .slice(-lines)
    // eslint-disable-next-line no-control-regex
    .map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '?').slice(0, 200))
    .join('\n');
}
