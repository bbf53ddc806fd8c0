/**
 * The host's view of a guest reset on the serial port (boot/reset-watch.ts).
 * The lines are a real reset boot's serial log (the reference image under
 * QEMU 7.2 TCG with Debian's AAVMF, boot 2 of `vmspec boot`) and the ways it
 * ends when the hypervisor does not honour the reset; the real boots
 * themselves are in test/boot/reset-boot.test.ts.
 */
import t from 'tap';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESET_REQUEST_LINE, resetOnSerial, watchForRestart } from '../../boot/reset-watch.js';

const BEFORE = [
  'UEFI firmware (version  built at 13:10:49 on Nov  5 2024)',
  'BdsDxe: starting Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x1,0x0)',
  '[    0.110737] Early cacheinfo failed, ret = -2',
  'vmspec-init: kernel 6.1.0-57-arm64, 2.70s since boot',
  'collect.sh: [9.17] tar written to /dev/vdb',
  'vmspec-init: collect.sh exited 0, 9.25s since boot',
  RESET_REQUEST_LINE,
  'VMSPEC-DONE rc=0',
  '[    9.666701] reboot: Restarting system',
].join('\n');

t.test('an honoured reset: the firmware prints again after the request', async (t) => {
  t.same(resetOnSerial(`${BEFORE}\nUEFI firmware (version  built at 13:10:49 on Nov  5 2024)\n`), { requested: true, restarted: true });
});

t.test('a silent firmware: a fresh kernel after the request is the restart', async (t) => {
  t.same(resetOnSerial(`${BEFORE}\n[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]\n`), { requested: true, restarted: true });
  // The kernel's console elsewhere (console=tty0): init's first line, which it writes to the UART itself.
  t.same(resetOnSerial(`${BEFORE}\nvmspec-init: kernel 6.1.0-57-arm64, 2.70s since boot\n`), { requested: true, restarted: true });
});

t.test('a reset that powered the VM off (QEMU -no-reboot): nothing after the kernel\'s last line', async (t) => {
  t.same(resetOnSerial(`${BEFORE}\n`), { requested: true, restarted: false });
});

t.test('a reset that hangs: the old kernel\'s own lines are never a restart', async (t) => {
  t.same(resetOnSerial(`${BEFORE}\n[   10.123456] psci: failed to reset\nReboot failed -- System halted\n`), { requested: true, restarted: false });
  // Without printk timestamps the kernel's restart line is still recognised.
  t.same(resetOnSerial(`${BEFORE.replace('[    9.666701] ', '')}\n`), { requested: true, restarted: false });
});

t.test('no request on the UART: the guest never asked (a power-off boot, or it died first)', async (t) => {
  t.same(resetOnSerial(BEFORE.replace(`${RESET_REQUEST_LINE}\n`, '')), { requested: false, restarted: false });
  t.same(resetOnSerial(`x ${RESET_REQUEST_LINE}\nUEFI firmware (version\n`), { requested: false, restarted: false }, 'only a whole line counts');
  t.same(resetOnSerial(''), { requested: false, restarted: false });
});

t.test('an earlier reset does not count for a later request: the last request is judged', async (t) => {
  t.same(resetOnSerial(`${BEFORE}\nUEFI firmware (version\n${BEFORE}\n`), { requested: true, restarted: false });
});

t.test('watchForRestart fires once the log shows the restart, and not before', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-reset-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'serial.log');
  writeFileSync(log, `${BEFORE}\n`);
  let fired = 0;
  let seenFirst: () => void = () => {};
  const restarted = new Promise<void>((resolve) => { seenFirst = resolve; });
  const stop = watchForRestart(log, () => { fired++; seenFirst(); }, 20);
  t.teardown(stop);
  // Only once the firmware's line is appended can the watcher fire.
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fired, 0, 'not while the log ends at the kernel\'s restart line');
  appendFileSync(log, 'UEFI firmware (version  built at 13:10:49 on Nov  5 2024)\n');
  await restarted;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fired, 1, 'exactly once');
});
