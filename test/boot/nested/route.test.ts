/**
 * `vmspec boot --accel kvm` on a host without an aarch64 /dev/kvm takes the
 * nested route (boot/nested/route.ts): said on stderr, shown by --dry-run,
 * documented in --help. The built CLI, as a user runs it; no boot.
 */
import t from 'tap';
import { vmspec } from '../../cli/cli-runner.js';
import { realBootSkip } from '../../fixtures/real-boot-skip.js';

const here = realBootSkip();
const skip = process.arch === 'arm64' ? 'this host may have its own aarch64 KVM' : here.skip;

t.test('--accel kvm --dry-run shows the nested route', { skip }, async (t) => {
  const r = vmspec(['boot', '--accel', 'kvm', '--dry-run']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, new RegExp(`this ${process.arch} host has no aarch64 /dev/kvm; each boot runs under KVM inside a nested L1 aarch64 host \\(QEMU TCG with EL2, L1 GICv3\\)`));
  t.match(r.stdout, /^hypervisor:\s+KVM nested in a TCG L1 aarch64 host/m);
  t.match(r.stdout, /^route:\s+L0 \S+ -M virt,virtualization=on,gic-version=3 \(TCG\) boots the L1 KVM host; inside it qemu-system-aarch64 -accel kvm -cpu host runs each boot/m);
  t.match(r.stdout, /^boots:.*boot 2.*then resets the VM \(PSCI SYSTEM_RESET\)$/m, 'boot 2 resets under KVM too: the route watches the VM start again');
  const m = vmspec(['boot', '--accel', 'kvm', '--kvm-host-gic', 'match', '--dry-run']);
  t.match(m.stderr, /L1 GIC = each boot's/);
  const tcg = vmspec(['boot', '--accel', 'tcg', '--dry-run']);
  t.notMatch(tcg.stdout + tcg.stderr, /nested/, 'TCG stays TCG');
});

t.test('--help documents the route; a bad --kvm-host-gic is a usage error', async (t) => {
  const help = vmspec(['boot', '--help']);
  t.match(help.stdout.replace(/\s+/g, ' '), /elsewhere KVM inside a nested aarch64 host emulated with TCG, docs\/kvm\.md/);
  t.match(help.stdout.replace(/\s+/g, ' '), /--kvm-host-gic <gic> .*3 offers only vGICv3/);
  const bad = vmspec(['boot', '--accel', 'kvm', '--kvm-host-gic', '4', '--dry-run']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--kvm-host-gic/);
});
