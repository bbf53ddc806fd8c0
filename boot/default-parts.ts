import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UnsupportedError } from '../probes/errors.js';
import type { BootParts, BootRequest } from './request.js';
import { buildNoCloudSeed } from './cloud-init/seed.js';
import { firmwareFromPaths } from './firmware/from-paths.js';
import { runnerFirmware } from './firmware/runner-firmware.js';
import { findFirmware } from './firmware/select.js';
import type { SelectedFirmware } from './firmware/types.js';
import { firmwareVersion } from './firmware/version.js';
import { obtainImage, type ObtainRequest } from './obtain/obtain.js';
import { findReference, obtainRequestFor } from './obtain/references.js';
import { sniffImageFormat } from './obtain/image-format.js';
import { builtinReference, imageHasCloudInit } from './parts.js';
import type { GuestAgent } from './run.js';
import { varsFileFacts } from './vars-file.js';
import { xlConfig } from './xen/xl-config.js';

/** Where Debian's Xen would put edk2's ArmVirtXen build (override with --firmware). */
const XEN_EFI = '/usr/lib/xen/boot/XEN_EFI.fd';
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(0)} MiB`;
}

/** The real parts `vmspec boot` runs with: downloads, firmware descriptors, the varstore reader, cloud-init, xl. */
export const defaultParts: BootParts = {
  async resolveImage(image, o: BootRequest, onProgress, signal) {
    const fetchOne = async (req: ObtainRequest, cloudInit: boolean | null) => {
      const got = await obtainImage({
        ...req,
        ...(o.cacheDir ? { cacheDir: join(o.cacheDir, 'images') } : {}),
        ...(o.allowUnverified ? { allowUnverified: true } : {}),
        signal,
        onProgress: (p) => onProgress(`${p.phase === 'verify' ? 'checking' : 'downloading'} ${mib(p.received)}${p.total ? ` of ${mib(p.total)}` : ''}`),
      });
      return { path: got.path, format: got.format, source: req.source, sha256: got.sha256, cloudInit: cloudInit ?? (await imageHasCloudInit(got.path)) };
    };
    if (image === undefined) {
      const ref = findReference(o.reference ?? 'builtin');
      if (ref.kind === 'builtin') return builtinReference(o, onProgress);
      return fetchOne(obtainRequestFor(ref), ref.cloudInit);
    }
    if (URL_LIKE.test(image)) {
      return fetchOne({ source: image, ...(o.sha256 ? { sha256: o.sha256 } : {}), ...(o.sha512 ? { sha512: o.sha512 } : {}), ...(o.sums ? { sumsUrl: o.sums } : {}) }, null);
    }
    const path = resolve(image);
    if (!existsSync(path)) throw new UnsupportedError(`image ${image} does not exist`, 'give a disk image path, an http(s)/file URL, or --reference NAME');
    if (o.sha256 || o.sha512 || o.sums) return fetchOne({ source: path, ...(o.sha256 ? { sha256: o.sha256 } : {}), ...(o.sha512 ? { sha512: o.sha512 } : {}), ...(o.sums ? { sumsUrl: o.sums } : {}) }, null);
    return { path, format: sniffImageFormat(path), source: image, sha256: null, cloudInit: await imageHasCloudInit(path) };
  },

  async resolveFirmware(o: BootRequest, qemu: string) {
    let fw: SelectedFirmware;
    if (o.firmware) {
      if (!o.varsTemplate) throw new UnsupportedError('--firmware needs --vars-template too: every VM gets its own copy of a variable-store template', 'e.g. --firmware /usr/share/AAVMF/AAVMF_CODE.fd --vars-template /usr/share/AAVMF/AAVMF_VARS.fd');
      fw = firmwareFromPaths({ code: resolve(o.firmware), varsTemplate: resolve(o.varsTemplate) });
    } else {
      if (o.varsTemplate) throw new UnsupportedError('--vars-template goes with --firmware CODE');
      fw = await findFirmware({ features: o.firmwareFeature ?? [], modes: ['split'], qemu });
    }
    const runner = runnerFirmware(fw);
    const v = await firmwareVersion(fw);
    return {
      ...runner,
      descriptor: fw.descriptorPath ?? null,
      description: fw.description,
      version: v.package ? `${v.package.name} ${v.package.version}` : null,
      codeSha256: v.codeSha256,
      features: fw.features,
    };
  },

  varsFileFacts,

  cloudInitAgent(): GuestAgent {
    // One seed per boot: a new instance-id makes cloud-init run the collector again after the power cycle.
    return {
      kind: 'cloud-init',
      seed: async (dir, boot) => (await buildNoCloudSeed({ outDir: join(dir, `${boot.name.replace(/\s+/g, '')}-seed`) })).path,
    };
  },

  xlConfig(image, o) {
    return xlConfig({
      name: 'vmspec-boot',
      firmware: o.firmware ? resolve(o.firmware) : XEN_EFI,
      image: { path: image.path, format: image.format, readOnly: true },
      evidenceDisk: resolve('vmspec-evidence.img'),
      memoryMiB: Number(o.memory),
      vcpus: Number(o.cpus),
      gicVersion: o.gic === '2' ? 'v2' : o.gic === '3' ? 'v3' : 'default',
      acpi: o.acpi !== false,
    });
  },
};
