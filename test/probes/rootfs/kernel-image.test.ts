/**
 * Kernel files as distributions install them, read within bounds: Debian's
 * real arm64 Image, the same gzip'd (Debian/Ubuntu vmlinuz), wrapped as an
 * EFI zboot image with a gzip and a zstd payload (Fedora), and with its
 * configuration embedded (IKCONFIG). The kernel's own banner names the
 * release; the embedded configuration is byte-identical to the config
 * file; Debian's Image (CONFIG_IKCONFIG not set) has none. Malformed files
 * (a payload outside the file, an unknown compression, a truncated gzip,
 * an unclosed IKCONFIG, a gzip bomb) are clear errors.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError, UnsupportedError } from '../../../bytes/errors.js';
import { ikconfig, kernelPayload, linuxBanner, MAX_IMAGE_BYTES } from '../../../probes/rootfs/kernel-image.js';
import { kernelImageInfo } from '../../../probes/rootfs/kernels.js';
import { kernelFiles } from '../../fixtures/kernel-image-builder.js';
import { buildSyntheticRoot, debianKernel, fastFixturesUnavailable, guestDisk } from '../../fixtures/rootfs-builder.js';
import { openDisk } from '../../../probes/image/open-disk.js';
import { PROBES } from '../../../probes/registry.js';
import { Memo } from '../../../probes/types.js';
import { sha256File } from '../../fixtures/disk-builder.js';

const unavailable = fastFixturesUnavailable();

t.test('kernel files', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const files = kernelFiles(k);
  const config = readFileSync(join(k.root, 'boot', `config-${k.version}`), 'utf8');
  const image = readFileSync(files.image);

  t.test('Debian\'s Image: the banner names the release; no embedded config, as its config says', async (t) => {
    const p = kernelPayload(image, 'vmlinuz');
    t.equal(p.wrapping, 'none');
    t.equal(linuxBanner(p.image)?.release, k.version, 'the banner is the installed release');
    t.match(config, /^# CONFIG_IKCONFIG is not set$/m, 'Debian builds without IKCONFIG');
    t.equal(ikconfig(p.image, 'vmlinuz'), null);
  });

  for (const [name, path, wrapping] of [['gzip', files.gzip, 'gzip'], ['zboot gzip', files.zbootGzip, 'zboot-gzip'], ['zboot zstd', files.zbootZstd, 'zboot-zstd']] as const) {
    t.test(`${name}: the Image decompressed is Debian's, byte for byte`, async (t) => {
      const bytes = readFileSync(path);
      const info = kernelImageInfo(bytes.subarray(0, 1024));
      t.equal(info.format, name === 'gzip' ? 'gzip' : 'efi-zboot');
      if (name !== 'gzip') t.equal(info.compression, name === 'zboot gzip' ? 'gzip' : 'zstd');
      const p = kernelPayload(bytes, name);
      t.equal(p.wrapping, wrapping);
      t.ok(Buffer.from(p.image).equals(image), 'identical to the Image');
      t.equal(linuxBanner(p.image)?.release, k.version);
      // The real tool agrees on what the payload is.
      if (name === 'gzip') t.ok(execFileSync('gzip', ['-dc', path], { maxBuffer: 256 << 20 }).equals(image), 'gzip -d gives the same Image');
    });
  }

  t.test('IKCONFIG in a zboot kernel: the embedded configuration is the config file', async (t) => {
    const p = kernelPayload(readFileSync(files.ikconfigZboot), 'vmlinuz');
    t.equal(ikconfig(p.image, 'vmlinuz'), config);
  });

  t.test('malformed kernel files are clear errors', async (t) => {
    t.throws(() => kernelPayload(readFileSync(files.zbootBadOffset), 'vmlinuz-x'), { name: 'ParseError', message: /vmlinuz-x: EFI zboot header at offset 8: payload at 1073741824 of 4096 bytes lies outside the \d+-byte file/ });
    t.throws(() => kernelPayload(readFileSync(files.zbootLz4), 'vmlinuz-x'), new UnsupportedError('vmlinuz-x: an EFI zboot image compressed with "lz4" (vmspec decompresses gzip and zstd)'));
    t.throws(() => kernelPayload(readFileSync(files.gzipTruncated), 'vmlinuz-x'), { name: 'ParseError', message: /^vmlinuz-x: gzip data is corrupt: / });
    t.throws(() => ikconfig(readFileSync(files.ikconfigUnclosed), 'vmlinuz-x'), ParseError);
    t.throws(() => kernelPayload(Buffer.from('hello world, not a kernel'), 'vmlinuz-x'), { name: 'UnsupportedError', message: /a unknown kernel file|not an arm64 Image/ });
  });

  t.test('no config file: the guest clauses read the configuration built into the kernel, or say it has none', async (t) => {
    const drivers = PROBES.find((p) => p.name === 'image.kernel-drivers')!;
    const judge = async (name: string, vmlinuz: string) => {
      const root = buildSyntheticRoot({ name: `ikconfig-${name}`, kernels: [{ kernel: k, noConfig: true }], copies: { [`/boot/vmlinuz-${k.version}`]: vmlinuz } }).image;
      const image = guestDisk({ name: `ikconfig-${name}`, rootContent: root });
      const before = sha256File(image);
      const d = openDisk(image);
      try {
        return await drivers.run({ image: d, memo: new Memo() }, { options: [{ config: 'CONFIG_ARM_GIC_V3' }, { config: 'CONFIG_IKCONFIG' }] }) as Record<string, any>;
      } finally {
        d.close();
        t.equal(sha256File(image), before, 'the image is not modified');
      }
    };
    const found = await judge('zboot', files.ikconfigZboot);
    t.match(found.kernel, { version: k.version, configFrom: 'ikconfig', config: `/boot/vmlinuz-${k.version}`, configMissing: null, imageFormat: 'efi-zboot' });
    t.match(found.options, { CONFIG_ARM_GIC_V3: { state: 'y' }, CONFIG_IKCONFIG: { state: 'n' } });
    const none = await judge('plain', files.image);
    t.match(none.kernel, { configFrom: null, configMissing: `no configuration for kernel ${k.version}: looked for /boot/config-${k.version} and /usr/lib/modules/${k.version}/config; /boot/vmlinuz-${k.version} has no embedded configuration (CONFIG_IKCONFIG)` });
  });

  t.test('decompression is capped: a gzip that expands past the cap is refused, not read', async (t) => {
    const bomb = execFileSync('sh', ['-c', `head -c ${MAX_IMAGE_BYTES + (1 << 20)} /dev/zero | gzip -1 -c`], { maxBuffer: 64 << 20 });
    t.ok(bomb.length < 1 << 20, `the bomb is small (${bomb.length} bytes)`);
    t.throws(() => kernelPayload(bomb, 'vmlinuz-bomb'), { name: 'UnsupportedError', message: `vmlinuz-bomb: decompresses to more than ${MAX_IMAGE_BYTES} bytes, which vmspec does not read` });
  });
});
