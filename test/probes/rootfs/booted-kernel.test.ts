import t, { type Test } from 'tap';
import type { Result, RunResults } from '../../../engine/results.js';
import { vmspec } from '../../cli/cli-runner.js';
import { buildGptDisk } from '../../fixtures/disk-builder.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';
import { evidenceBundle, RECIPES, type BundleRecipe } from '../../fixtures/evidence-bundles.js';
import { buildFatImage } from '../../fixtures/fat-builder.js';

/**
 * GUEST-1..4 of an image whose root vmspec cannot read (here: an ESP and
 * nothing else), decided from the kernel the guest booted: `vmspec verify
 * IMAGE --evidence BUNDLE`, bundles from the real collector (its config,
 * /proc/modules, /proc/mounts and the running root's module files).
 */

const efi = efiBinaries();
const fat = buildFatImage('booted-kernel-esp', { fatBits: 32, sizeMiB: 40, sectorsPerCluster: 1, label: 'ESP', dirs: ['/EFI', '/EFI/BOOT'], files: [{ path: '/EFI/BOOT/BOOTAA64.EFI', from: efi.grubaa64 }] });
const image = buildGptDisk([{ type: 'EF00', sizeMiB: 48, name: 'EFI system', contentFile: fat }], { label: 'booted-kernel' });

const GUEST_1_3 = ['V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC'];
const GUEST_4_INITRD = ['V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-NET'];
const GUEST_4_BUILTIN = ['V2-GUEST-XEN-CONSOLE', 'V2-GUEST-XEN-BALLOON'];
const GUEST = [...GUEST_1_3, ...GUEST_4_INITRD, ...GUEST_4_BUILTIN];
const ALL_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_balloon', 'virtio_mmio', 'xen-blkfront', 'xen-netfront'];

function verify(t: Test, args: string[]): RunResults {
  const r = vmspec(['verify', image, ...args, '--format', 'json']);
  t.equal(r.stderr, '', 'nothing on stderr');
  const out = JSON.parse(r.stdout) as RunResults;
  t.equal(r.status, out.exitCode);
  return out;
}
const guest = (r: RunResults, status: Result['status']) => r.results.filter((x) => GUEST.includes(x.id) && x.status === status).map((x) => x.id).sort();
const result = (r: RunResults, id: string) => r.results.find((x) => x.id === id)!;
const bundle = (name: string, extra: Partial<BundleRecipe>) => evidenceBundle(`words-${name}`, { ...(RECIPES.acpiGicv2 as BundleRecipe), ...extra }).dir;

t.test('the image alone: undecided, and the message says how to decide', async (t) => {
  const r = verify(t, []);
  t.same(guest(r, 'undecided'), [...GUEST].sort());
  t.match(result(r, 'V2-GUEST-GICV3').message, /undecided: kernel\.configMissing is "no partition can hold a root filesystem/);
  t.match(result(r, 'V2-GUEST-GICV3').observed, { kernel: { configMissing: /boot the image \(vmspec boot\)/ } });
});

t.test('a guest running from its initramfs with every driver: all GUEST clauses pass', async (t) => {
  const r = verify(t, ['--evidence', bundle('initramfs-all', { initramfsModules: ALL_MODULES })]);
  t.same(guest(r, 'pass'), [...GUEST].sort());
  t.match(result(r, 'V2-GUEST-VIRTIO-PCI').observed, {
    initrdUndecided: false,
    kernel: { selectedBy: 'booted', version: '6.1.0-50-arm64', config: '/boot/config-6.1.0-50-arm64' },
    options: { CONFIG_VIRTIO_PCI: { state: 'm', available: 'initrd', inInitrd: true }, CONFIG_VIRTIO_NET: { state: 'm', available: 'initrd' } },
  });
  t.match(result(r, 'V2-GUEST-GICV3').observed, { options: { CONFIG_ARM_GIC_V3: { state: 'y', available: 'builtin' } } });
});

t.test('a booted kernel without GICv3 fails exactly GUEST-2\'s GICv3 clause', async (t) => {
  const r = verify(t, ['--evidence', bundle('initramfs-no-gicv3', { initramfsModules: ALL_MODULES, configEdits: { CONFIG_ARM_GIC_V3: null } })]);
  t.same(guest(r, 'fail'), ['V2-GUEST-GICV3']);
  t.match(result(r, 'V2-GUEST-GICV3').message, /CONFIG_ARM_GIC_V3\.available.*"missing"/);
  t.equal(r.exitCode, 1, 'a MUST failed');
});

t.test('an initramfs without virtio_net fails both virtio transports (GUEST-4 names network for each)', async (t) => {
  const r = verify(t, ['--evidence', bundle('initramfs-no-net', { initramfsModules: ALL_MODULES.filter((m) => m !== 'virtio_net') })]);
  t.same(guest(r, 'fail'), ['V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-VIRTIO-PCI']);
  t.match(result(r, 'V2-GUEST-VIRTIO-PCI').message, /CONFIG_VIRTIO_NET\.available.*"missing"/);
});

t.test('a guest on its own root: built-in drivers decide, initrd membership stays undecided', async (t) => {
  const r = verify(t, ['--evidence', evidenceBundle('acpiGicv2', RECIPES.acpiGicv2 as BundleRecipe).dir]);
  t.same(guest(r, 'pass'), [...GUEST_1_3, ...GUEST_4_BUILTIN].sort());
  t.same(guest(r, 'undecided'), [...GUEST_4_INITRD].sort());
  t.match(result(r, 'V2-GUEST-VIRTIO-PCI').message, /initrdUndecided/);
  const none = verify(t, ['--evidence', evidenceBundle('noConfig', RECIPES.noConfig as BundleRecipe).dir]);
  t.same(guest(none, 'undecided'), [...GUEST].sort(), 'no kernel config in the evidence: nothing decided');
  t.match(result(none, 'V2-GUEST-GICV2').message, /no kernel configuration/);
});
