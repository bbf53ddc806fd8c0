import { UnsupportedError } from '../../bytes/errors.js';
import { arr, bool, enumOf, NO_PARAMS, nobj, nstr, obj, str } from '../facts-schema.js';
import { defineProbe } from '../types.js';
import { followRemovablePath, REMOVABLE_PATH } from './bootloader.js';
import { openRootfs } from './rootfs.js';

/**
 * `image.removable-boot` (FW-6): with no boot variables at all, UEFI starts
 * \EFI\BOOT\BOOTAA64.EFI. This probe follows that path through the image's
 * own files: what the loader is, which configuration it reads (GRUB's
 * embedded config, memdisk, prefix, search/configfile chain; shim's second
 * stage; systemd-boot's loader entries), and whether the default entry's
 * kernel exists. Nothing depends on NVRAM, which is the point.
 */

const fileProps = { path: str(), device: nstr(), exists: bool() };

const facts = obj({
  espFound: bool(),
  loaderPath: str(),
  loaderFound: bool(),
  loaderKind: enumOf(['grub', 'shim', 'systemd-boot', 'uki', 'linux', 'unknown', null]),
  loaderMachine: nstr('PE machine of the loader (ARM64...)'),
  sbat: arr(str(), 'SBAT components of the loader'),
  grubPrefix: nstr("GRUB's built-in prefix"),
  grubEmbeddedConfig: bool(),
  steps: arr(str(), 'the path followed, in words'),
  configFiles: arr(str(), 'configuration files read, "(device)/path"'),
  entries: arr(str(), 'menu entries found'),
  defaultEntry: nobj({
    title: str(),
    definedIn: str(),
    chosenBy: str(),
    linux: nobj(fileProps),
    initrds: arr(obj(fileProps)),
    cmdline: str(),
  }),
  kernelReached: bool('the default entry (or the loader itself) leads to a kernel that exists on the image'),
  unfollowable: nstr('why the path cannot be decided statically (unknown loader, kernel on a volume vmspec cannot read), or null'),
  problems: arr(str()),
});

export const removableBootProbe = defineProbe({
  name: 'image.removable-boot',
  summary: 'Follows \\EFI\\BOOT\\BOOTAA64.EFI through GRUB/shim/systemd-boot configuration on the image to the default kernel, without boot variables',
  input: 'image',
  params: NO_PARAMS,
  facts,
  run(inputs) {
    if (!inputs.image) throw new UnsupportedError('image.removable-boot needs an image');
    const chain = followRemovablePath(inputs.image, inputs.memo);
    let unfollowable = chain.unfollowable;
    if (!unfollowable && chain.loaderFound && !chain.kernelReached) {
      // GRUB reads filesystems vmspec does not (btrfs, LVM, f2fs...): a kernel may be there.
      const roots = openRootfs(inputs.image, inputs.memo);
      // An LVM2 PV is opaque only when none of its logical volumes was assembled.
      const lvsOn = (n: number | null): boolean => roots.scanned.some((l) => l.logicalVolume !== null && l.number === n);
      const opaque = roots.scanned.filter((s) => s.filesystem === null || ['btrfs', 'squashfs', 'crypto_LUKS'].includes(s.filesystem) || (s.filesystem === 'LVM2_member' && !lvsOn(s.number)) || /cannot read|damaged/.test(s.note ?? ''));
      if (opaque.length) {
        unfollowable = `${opaque.map((s) => `${s.logicalVolume ? `logical volume ${s.logicalVolume}` : s.number === null ? 'the disk' : `partition ${s.number}`} ${s.note ?? ''}`.trim()).join('; ')}: the loader may find a kernel there`;
      }
    }
    const d = chain.defaultBoot;
    const file = (f: { path: string; device: string | null; exists: boolean }) => ({ path: f.path, device: f.device, exists: f.exists });
    return {
      espFound: chain.espFound,
      loaderPath: REMOVABLE_PATH,
      loaderFound: chain.loaderFound,
      loaderKind: chain.loaderKind,
      loaderMachine: chain.loaderMachine,
      sbat: chain.sbat,
      grubPrefix: chain.grubPrefix,
      grubEmbeddedConfig: chain.grubEmbeddedConfig,
      steps: chain.steps,
      configFiles: chain.configFiles,
      entries: chain.entries,
      defaultEntry: d ? { title: d.title, definedIn: d.source, chosenBy: d.chosenBy, linux: d.linux ? file(d.linux) : null, initrds: d.initrds.map(file), cmdline: d.linux?.args.join(' ') ?? '' } : null,
      kernelReached: chain.kernelReached,
      unfollowable,
      problems: chain.problems,
    };
  },
});
