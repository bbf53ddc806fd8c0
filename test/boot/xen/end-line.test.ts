import t from 'tap';
import { domainRan, endExit, parseDom0End } from '../../../boot/xen/end-line.js';

/** dom0's end line on Xen's console: only a whole, well-formed line counts; the last one wins. */

t.test('each reason dom0-init.sh prints', async (t) => {
  t.same(parseDom0End('boot\nVMSPEC-XEN-END reason=poweroff domid=1 seconds=34\n(XEN) Hardware Dom0 halted: halting machine\n'), { reason: 'poweroff', domid: 1, seconds: 34 });
  t.same(parseDom0End('VMSPEC-XEN-END reason=timeout domid=3 seconds=300\r\r\n'), { reason: 'timeout', domid: 3, seconds: 300 }, 'Xen\'s console CRs (two, as QEMU\'s file chardev records them) are tolerated');
  t.same(parseDom0End('VMSPEC-XEN-END reason=error:create domid=- seconds=11'), { reason: 'error:create', domid: null, seconds: 11 }, 'no domain: domid null');
  for (const r of ['reboot', 'suspend', 'crash', 'watchdog', 'soft_reset']) t.equal(parseDom0End(`VMSPEC-XEN-END reason=${r} domid=1 seconds=2`)?.reason, r);
});

t.test('hostile or damaged lines are not an end', async (t) => {
  for (const bad of [
    '',
    'VMSPEC-XEN-END',
    'VMSPEC-XEN-END reason=poweroff',
    'VMSPEC-XEN-END reason=poweroff domid=1 seconds=34 extra',
    ' VMSPEC-XEN-END reason=poweroff domid=1 seconds=34',
    '[  3.1] VMSPEC-XEN-END reason=poweroff domid=1 seconds=34',
    'VMSPEC-XEN-END reason=halt domid=1 seconds=34',
    'VMSPEC-XEN-END reason=error:CREATE domid=1 seconds=34',
    `VMSPEC-XEN-END reason=error:${'x'.repeat(33)} domid=- seconds=1`,
    'VMSPEC-XEN-END reason=poweroff domid=123456 seconds=1',
    'VMSPEC-XEN-END reason=poweroff domid=1 seconds=-1',
    'VMSPEC-XEN-END reason=poweroff domid=1 seconds=1e3',
    'VMSPEC-XEN-END reason=poweroff\u0000 domid=1 seconds=34',
  ]) {
    t.equal(parseDom0End(bad), null, JSON.stringify(bad.slice(0, 60)));
  }
});

t.test('the last well-formed line wins; only the tail is read', async (t) => {
  const log = 'VMSPEC-XEN-END reason=crash domid=1 seconds=5\nnoise\nVMSPEC-XEN-END reason=poweroff domid=2 seconds=9\ngarbage VMSPEC-XEN-END reason=timeout domid=2 seconds=9\n';
  t.same(parseDom0End(log), { reason: 'poweroff', domid: 2, seconds: 9 });
  const buried = `VMSPEC-XEN-END reason=poweroff domid=1 seconds=1\n${'x'.repeat(70 * 1024)}\n`;
  t.equal(parseDom0End(buried), null, 'a line 70 KiB before the end is not the end line');
});

t.test('the end as a run result', async (t) => {
  t.same(endExit({ reason: 'poweroff', domid: 1, seconds: 1 }), { exitCode: 0, timedOut: false }, 'a clean power-off is exit 0');
  t.same(endExit({ reason: 'timeout', domid: 1, seconds: 1 }), { exitCode: null, timedOut: true });
  t.same(endExit({ reason: 'crash', domid: 1, seconds: 1 }), { exitCode: 1, timedOut: false });
  t.same(endExit({ reason: 'reboot', domid: 1, seconds: 1 }), { exitCode: 1, timedOut: false }, 'one boot per domain: a reboot is not a power-off');
  t.same(endExit({ reason: 'error:create', domid: null, seconds: 1 }), { exitCode: 1, timedOut: false });
  t.same(endExit(null), { exitCode: null, timedOut: false });
  t.equal(domainRan({ reason: 'reboot', domid: 3, seconds: 9 }), true, 'a domain that reset (a firmware crash) ran');
  t.equal(domainRan({ reason: 'error:create', domid: null, seconds: 1 }), false, 'xl create failed: nothing ran');
  t.equal(domainRan({ reason: 'error:console', domid: 2, seconds: 1 }), false);
});
