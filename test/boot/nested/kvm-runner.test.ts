/**
 * The pure parts of the nested KVM route (boot/nested/kvm-runner.ts): the
 * job L1 sources (read back by a real POSIX shell, with hostile
 * arguments), the L1 console's end line (hostile and malformed input), the
 * L2 request and the L0 command line. The L1 init script is checked by
 * `sh -n`. Real boots: test/boot/nested/kvm-boot.test.ts (slow, opt-in).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmHostInitPath } from '../../../boot/nested/kvm-host.js';
import { encodeJob, hypervisorOutput, l0Argv, l1Gic, l2Request, parseL1Console, shellQuote } from '../../../boot/nested/kvm-runner.js';
import { nestedHypervisorName } from '../../../boot/nested/route.js';
import { qemuArgv, type QemuRunOptions } from '../../../boot/qemu-run.js';

const work = mkdtempSync(join(tmpdir(), 'vmspec-kvmrun-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const hostile = ["it's", 'a b', '$(touch pwned)', '`id`', 'x\ny', '"; rm -rf / #', '\\', '', "''", 'file=/run/vmspec/image,format=raw'];

t.test('the job survives a real shell: every argument one word, nothing run', async (t) => {
  const job = encodeJob(hostile, 300);
  const file = join(work, 'job');
  writeFileSync(file, job);
  const sh = spawnSync('/bin/sh', ['-c', `. "$1"; printf '%s\\0' "$VMSPEC_TIMEOUT_S" "$VMSPEC_CONTROL" "$@"`, 'sh', file], { cwd: work, encoding: 'utf8' });
  t.equal(sh.status, 0, sh.stderr);
  t.same(sh.stdout.split('\0').slice(0, -1), ['300', '0', ...hostile]);
  t.match(encodeJob(['x'], 1, true), /^VMSPEC_CONTROL=1$/m, 'a reset boot asks L1 for the control port');
  t.notOk(spawnSync('test', ['-e', join(work, 'pwned')]).status === 0, 'no command substitution ran');
  t.equal(shellQuote("a'b"), `'a'\\''b'`);
  t.throws(() => shellQuote('a\0b'), /NUL/);
  t.throws(() => encodeJob(['x'], 0), /positive whole number/);
  t.throws(() => encodeJob(['x'], 1.5), /positive whole number/);
});

t.test('the L1 init script parses; shellcheck -s sh is clean', async (t) => {
  const sh = spawnSync('/bin/sh', ['-n', kvmHostInitPath()], { encoding: 'utf8' });
  t.equal(sh.status, 0, sh.stderr);
  const sc = spawnSync('shellcheck', ['-s', 'sh', kvmHostInitPath()], { encoding: 'utf8' });
  if (sc.error) return t.comment(`shellcheck not run: ${sc.error.message}`);
  t.equal(sc.status, 0, sc.stdout);
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const consoleOf = (body: string[]) => ['[    2.1] kvm [1]: VHE mode initialized successfully', ...body].join('\r\n') + '\r\n';

t.test('the L1 console: the end line and L2 QEMU\'s output', async (t) => {
  const msg = 'qemu-system-aarch64: vgic: No such device\n';
  const ok = parseL1Console(consoleOf(['VMSPEC-L1: dmesg: [    4.106723] kvm [1]: disabling GICv2 emulation', 'VMSPEC-L1-QEMU-OUTPUT-BEGIN', b64(msg), 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=1 timedout=0 ms=1630 stopped=0']));
  t.same(ok.end, { exit: 1, timedOut: false, ms: 1630, stopped: false });
  t.equal(ok.output, msg);
  t.same(ok.hostLines, ['dmesg: [    4.106723] kvm [1]: disabling GICv2 emulation']);
  t.equal(ok.failure, null);

  t.equal(hypervisorOutput(ok), 'L1 kvm [1]: disabling GICv2 emulation\n' + msg, 'L1\'s KVM lines, then L2 QEMU\'s');
  t.equal(hypervisorOutput({ hostLines: ['running L2: x', 'dmesg: [    0.0] GICv3: CPU0'], output: '' }), '', 'only KVM lines');

  const split = parseL1Console(consoleOf(['VMSPEC-L1-QEMU-OUTPUT-BEGIN', ...(b64('x'.repeat(200)).match(/.{1,76}/g) ?? []), 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=1 ms=5 stopped=0']));
  t.equal(split.output, 'x'.repeat(200), 'base64 across lines (busybox wraps at 76)');
  t.equal(split.end?.timedOut, true);

  const stopped = parseL1Console(consoleOf(['VMSPEC-L1-QEMU-OUTPUT-BEGIN', b64('qemu-system-aarch64: terminating on signal 15 from pid 212 (sh)\n'), 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=0 ms=61220 stopped=1']));
  t.same(stopped.end, { exit: 0, timedOut: false, ms: 61220, stopped: true }, 'L1 stopped L2 on L0\'s word after the reset');

  const fail = parseL1Console(consoleOf(['VMSPEC-L1-FAIL no /dev/kvm: this L1 kernel did not start KVM']));
  t.equal(fail.end, null);
  t.match(fail.failure, /no \/dev\/kvm/);
});

t.test('the L1 console: forged or malformed ends count as no end', async (t) => {
  const bad = [
    ['VMSPEC-L1-END exit=0 timedout=0 ms=1 stopped=0'], // no output block
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=0 ms=1'], // no stopped=
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=0 ms=1 stopped=2'],
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'not base64 !!', 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=0 ms=1 stopped=0'],
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=999 timedout=0 ms=1 stopped=0'],
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=2 ms=1 stopped=0'],
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=0 ms=1 stopped=0 extra'],
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'VMSPEC-L1-END exit=0 timedout=0 ms=1 stopped=0'], // block never closed
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'A'.repeat(100_000), 'VMSPEC-L1-QEMU-OUTPUT-END', 'VMSPEC-L1-END exit=0 timedout=0 ms=1 stopped=0'], // beyond L1's cap
    ['VMSPEC-L1-QEMU-OUTPUT-BEGIN', 'VMSPEC-L1-QEMU-OUTPUT-END', ' VMSPEC-L1-END exit=0 timedout=0 ms=1 stopped=0'],
  ];
  for (const lines of bad) t.equal(parseL1Console(consoleOf(lines)).end, null, lines.join(' | ').slice(0, 80));
  t.same(parseL1Console('').hostLines, []);
  t.equal(parseL1Console('\0\xff'.repeat(1000)).end, null);
});

const fw = { code: '/work/CODE.fd', varsTemplate: '/usr/share/AAVMF/AAVMF_VARS.fd' };
const req: QemuRunOptions = {
  image: '/img/disk,1.img', imageFormat: 'qcow2', vars: '/w/boot1-VARS.fd', evidenceDisk: '/w/boot1-evidence.img', readOnlyDisks: ['/w/seed.img'],
  accel: 'tcg', acpi: false, gic: 2, timeoutMs: 300_000, serialLog: '/w/boot1-serial.log', memoryMiB: 1024, smp: 2, qemu: '/usr/bin/qemu-system-aarch64', cpu: 'cortex-a57', extraArgs: ['-d', 'guest_errors'],
};

t.test('the L2 request: L1 device paths, KVM with -cpu host, the same machine', async (t) => {
  const { l2, fw: l2fw, disks } = l2Request(req, fw);
  t.same(disks, [
    { serial: 'code', path: '/work/CODE.fd', readOnly: true },
    { serial: 'image', path: '/img/disk,1.img', readOnly: true },
    { serial: 'vars', path: '/w/boot1-VARS.fd', readOnly: false },
    { serial: 'evidence', path: '/w/boot1-evidence.img', readOnly: false },
    { serial: 'seed0', path: '/w/seed.img', readOnly: true },
  ]);
  const argv = qemuArgv(l2, l2fw);
  const joined = argv.join(' ');
  t.match(joined, /-M virt,acpi=off,gic-version=2 -cpu host .* -accel kvm /);
  t.match(joined, /if=pflash,format=raw,unit=0,readonly=on,file=\/run\/vmspec\/code /);
  t.match(joined, /if=pflash,format=raw,unit=1,file=\/run\/vmspec\/vars /);
  t.match(joined, /file=\/run\/vmspec\/image,format=qcow2,id=hd0,snapshot=on/, 'the image format is kept; snapshot in L2');
  t.match(joined, /file=\/run\/vmspec\/evidence,format=raw/);
  t.match(joined, /file=\/run\/vmspec\/seed0,format=raw,readonly=on/);
  t.match(joined, /-chardev file,id=serial0,path=\/run\/vmspec\/serial /);
  t.match(joined, /-d guest_errors$/, 'extra QEMU arguments go to the guest\'s QEMU');
  t.notMatch(joined, /cortex-a57|\/w\/|\/img\//, 'no L0 path and no TCG CPU reaches L1');
  const noVars = l2Request({ ...req, vars: undefined as unknown as string }, { code: '/c.fd' });
  t.notOk(noVars.disks.some((d) => d.serial === 'vars'));
  t.match(qemuArgv(noVars.l2, noVars.fw).join(' '), /-bios \/run\/vmspec\/code/);
});

t.test('L0\'s command line boots L1 with EL2 and passes every disk by serial', async (t) => {
  const { disks } = l2Request(req, fw);
  const argv = l0Argv({ host: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img' }, gic: 3, memoryMiB: 1536, smp: 2, jobFile: '/w/job,1.sh', serialLog: '/w/boot1-serial.log', l1Console: '/w/boot1-l1-console.log', disks });
  const joined = argv.join(' ');
  t.match(joined, /^-M virt,virtualization=on,gic-version=3 -cpu max,pauth-impdef=on -accel tcg,thread=multi -m 1536 -smp 2 -kernel \/k\/vmlinuz -initrd \/k\/initrd.img/);
  t.match(joined, /-fw_cfg name=opt\/vmspec\/job,file=\/w\/job,,1.sh/, 'commas escaped');
  t.match(joined, /file=\/img\/disk,,1.img,format=raw,id=image,readonly=on -device virtio-blk-pci,drive=image,serial=image/, 'the image as raw bytes, read-only');
  t.match(joined, /file=\/w\/boot1-VARS.fd,format=raw,id=vars -device virtio-blk-pci,drive=vars,serial=vars/, 'the variable store writable: the firmware\'s writes land in the L0 file');
  t.match(joined, /-chardev file,id=l2serial,path=\/w\/boot1-serial.log -device virtserialport,bus=vser.0,chardev=l2serial,name=vmspec.serial/);
  t.match(joined, /-chardev file,id=l1console,path=\/w\/boot1-l1-console.log -serial chardev:l1console/);
  t.throws(() => l0Argv({ host: { kernel: 'k', initrd: 'i' }, gic: 2, memoryMiB: 1, smp: 1, jobFile: 'j', serialLog: 's', l1Console: 'c', disks: [{ serial: 'Bad,serial', path: '/x', readOnly: true }] }), /serial/);
  t.notMatch(joined, /vmspec\.control/, 'no control port for a boot that powers off');
  const reset = l0Argv({ host: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img' }, gic: 3, memoryMiB: 1536, smp: 2, jobFile: '/w/job.sh', serialLog: '/w/boot2-serial.log', l1Console: '/w/boot2-l1-console.log', disks, controlSocket: '/tmp/vmspec-l1-x,y/control' }).join(' ');
  t.match(reset, /-chardev socket,id=l1control,path=\/tmp\/vmspec-l1-x,,y\/control -device virtserialport,bus=vser.0,chardev=l1control,name=vmspec.control/, 'a reset boot\'s control port: L0 QEMU connects to vmspec\'s socket, which tells L1 to stop L2');
});

t.test('the L1 host\'s GIC and the hypervisor\'s name', async (t) => {
  t.equal(l1Gic(3, 2), 3);
  t.equal(l1Gic(2, 3), 2);
  t.equal(l1Gic('match', 2), 2);
  t.equal(l1Gic('match', undefined), 3);
  const info = { qemuPackage: { name: 'qemu-system-arm', version: '1:7.2+dfsg-7+deb12u18+b3' }, kernelVersion: '6.1.0-57-arm64' };
  t.equal(nestedHypervisorName({ info } as never, '7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)', 3), 'QEMU 7.2 (KVM, nested in a TCG L1 aarch64 host: Linux 6.1.0-57-arm64, QEMU 7.2.19 TCG with EL2, L1 GICv3)');
});
