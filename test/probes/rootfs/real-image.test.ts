/**
 * A real Debian 12 arm64 image, end to end: mmdebstrap (root mode, under
 * qemu-user) with both kernel flavours, initramfs-tools, GRUB's own
 * grub-mkconfig output and cloud-init; an ESP with Debian's monolithic GRUB
 * at the removable path. `vmspec verify` must judge every image-side clause
 * without booting it, raw and qcow2 alike.
 *
 * Building it takes 6–25 minutes on 2 cores (385 s measured with another test run beside it), so the test runs when the
 * image is already cached, or when VMSPEC_SLOW_TESTS=1 asks for the build.
 */
import t from 'tap';
import { openDisk } from '../../../probes/image/open-disk.js';
import { rootfsProbe } from '../../../probes/rootfs/rootfs.probe.js';
import { Memo } from '../../../probes/types.js';
import type { RunResults } from '../../../engine/results.js';
import { vmspec } from '../../cli/cli-runner.js';
import { cachedRealImage, debianArm64Image, realImageUnavailable, REAL_CMDLINE, REAL_ROOT_UUID } from '../../fixtures/rootfs-builder.js';

const cached = cachedRealImage();
// Without VMSPEC_SLOW_TESTS the opt-in reason comes first: CI (.ci/closing-line) allows only that skip.
const skip = cached
  ? false
  : !process.env.VMSPEC_SLOW_TESTS ? 'the real Debian arm64 image is not built yet (6–25 min on 2 cores): set VMSPEC_SLOW_TESTS=1 to build and test it' : realImageUnavailable();

function verify(image: string, extra: string[] = []): RunResults {
  const r = vmspec(['verify', image, '--format', 'json', '--profile', 'image', ...extra]);
  if (r.stderr) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as RunResults;
}

const GUEST = ['V2-GUEST-CONSOLE-SBSA-UART', 'V2-GUEST-CONSOLE-PL011', 'V2-GUEST-GICV2', 'V2-GUEST-GICV3', 'V2-GUEST-UEFI-RTC',
  'V2-GUEST-VIRTIO-PCI', 'V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-XEN-BLOCK', 'V2-GUEST-XEN-NET', 'V2-GUEST-XEN-CONSOLE', 'V2-GUEST-XEN-BALLOON'];

t.test('a real Debian 12 arm64 image is judged without booting it', { skip, timeout: 90 * 60 * 1000 }, async (t) => {
  const started = performance.now();
  const img = cached ?? debianArm64Image((m) => t.comment(m));
  t.comment(`image ready in ${((performance.now() - started) / 1000).toFixed(0)} s: ${img.raw}`);
  const v0 = performance.now();
  const raw = verify(img.raw);
  t.comment(`verify (raw) took ${((performance.now() - v0) / 1000).toFixed(1)} s`);
  const q0 = performance.now();
  const qcow2 = verify(img.qcow2);
  t.comment(`verify (qcow2) took ${((performance.now() - q0) / 1000).toFixed(1)} s`);
  for (const r of raw.results) t.comment(`${r.status.toUpperCase().padEnd(6)} ${r.id}${r.status === 'pass' || r.status === 'manual' ? '' : ` — ${r.message}`}`);
  t.same(qcow2.results.map((r) => [r.id, r.status, r.message]), raw.results.map((r) => [r.id, r.status, r.message]), 'qcow2: the same verdicts and messages as raw');
  t.same(raw.results.filter((r) => r.status === 'error').map((r) => `${r.id}: ${r.message}`), [], 'no probe errors');
  // GUEST-4 names the virtio console and balloon drivers too: this image's MODULES=list initrd has neither.
  t.same(raw.results.filter((r) => r.status === 'fail').map((r) => r.id).sort(), ['V2-GUEST-VIRTIO-MMIO', 'V2-GUEST-VIRTIO-PCI'], 'only the virtio console/balloon recommendation fails');
  t.equal(raw.exitCode, 0);
  const status = (id: string) => raw.results.find((r) => r.id === id)!;
  for (const id of [...GUEST.filter((g) => !g.startsWith('V2-GUEST-VIRTIO')), 'V2-FW-NO-PRESET-BOOTVARS', 'V2-FW-NOT-IN-IMAGE', 'V2-FW-VARS-NOT-IN-IMAGE', 'V2-IMG-ESP-BOOT-FILE', 'V2-IMG-BOOTAA64-PATH']) {
    t.equal(status(id).status, 'pass', `${id} passes`);
  }
  // Evidence: the default kernel chosen through the real grub.cfg, the other flavour reported.
  const gic = status('V2-GUEST-GICV3').observed as { kernel: { version: string; selectedBy: string; why: string; config: string }; otherKernels: { version: string }[] };
  t.equal(gic.kernel.selectedBy, 'bootloader');
  t.match(gic.kernel.why, /\(hd0,gpt2\)\/boot\/grub\/grub\.cfg/);
  t.match(gic.kernel.version, /^6\.1\.0-\d+-cloud-arm64$/, 'grub-mkconfig puts the cloud flavour first (version sort)');
  t.same(gic.otherKernels.map((k) => k.version), [gic.kernel.version.replace('-cloud', '')], 'the generic flavour is reported, not judged');
  const virtio = status('V2-GUEST-VIRTIO-PCI').observed as { initrd: { segments: string[] }; options: Record<string, { available: string; initrdPath: string | null }> };
  t.match(virtio.initrd.segments, [/^(gzip|zstd) at 0$/], "Debian's compressed initramfs (one segment)");
  t.match(virtio.options, { CONFIG_VIRTIO_PCI: { available: 'initrd' }, CONFIG_VIRTIO_NET: { available: 'initrd' } });
  t.match(status('V2-FW-NO-PRESET-BOOTVARS').observed, {
    loaderKind: 'grub', grubPrefix: '/EFI/debian', kernelReached: true,
    configFiles: ['(embedded config)', '(memdisk)/grub.cfg', '(hd0,gpt1)/EFI/debian/grub.cfg', '(hd0,gpt2)/boot/grub/grub.cfg'],
  });
  // image.rootfs: what `vmspec boot` needs.
  const disk = openDisk(img.raw);
  t.teardown(() => disk.close());
  const facts = await rootfsProbe.run({ image: disk, memo: new Memo() }, {});
  t.comment(`image.rootfs: ${JSON.stringify({ os: facts.os, defaultKernel: facts.defaultKernel, boot: facts.boot, cloudInit: facts.cloudInit && { installed: (facts.cloudInit as { installed: boolean }).installed, enabled: (facts.cloudInit as { enabled: boolean }).enabled } })}`);
  t.match(facts, {
    rootfs: { readable: true, partition: 2, filesystem: 'ext4', uuid: REAL_ROOT_UUID },
    os: { id: 'debian', versionId: '12' },
    boot: { source: 'removable-path', consoles: ['ttyAMA0'], cmdline: new RegExp(`root=UUID=${REAL_ROOT_UUID} ro ${REAL_CMDLINE}`) },
    cmdlineDefaults: { grubCmdlineLinuxDefault: REAL_CMDLINE },
    cloudInit: { installed: true, enabled: true, disabledBy: [], noCloud: true, version: /^2\d\./ },
  });
  // v1 on the same image: judged too.
  const v1 = verify(img.raw, ['--spec', 'vmspec-v1']);
  for (const r of v1.results.filter((x) => x.status !== 'pass' && x.status !== 'manual')) t.comment(`v1 ${r.status.toUpperCase()} ${r.id} — ${r.message}`);
  t.same(v1.results.filter((r) => r.status === 'error').map((r) => r.id), [], 'v1: no probe errors');
  // v1 also wants virtio-console (a MUST, GUEST-1) and the virtio console and balloon drivers in the kernel or
  // initrd: this image's MODULES=list initrd has neither, so exactly these fail, for that reason.
  t.same(v1.results.filter((r) => r.status === 'fail').map((r) => r.id).sort(), ['V1-GUEST-CONSOLE-VIRTIO', 'V1-GUEST-VIRTIO-MMIO', 'V1-GUEST-VIRTIO-PCI']);
  t.match(v1.results.find((r) => r.id === 'V1-GUEST-CONSOLE-VIRTIO')!.observed, { options: { CONFIG_VIRTIO_CONSOLE: { state: 'm', available: 'module', inInitrd: false } } });
  t.equal(v1.exitCode, 1, 'v1: a MUST fails');
});
