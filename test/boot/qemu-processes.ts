import { readdirSync, readFileSync } from 'node:fs';

/** QEMU processes whose command line mentions `dir` (each boot's disks live there): how a test finds its own QEMU among others'. */
export function qemuUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'latin1');
      if (cmd.includes('qemu-system-aarch64') && cmd.includes(dir)) pids.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
