import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UnsupportedError } from '../../bytes/errors.js';
import { imageHasCloudInit } from '../cloud-init/image-has-cloud-init.js';
import { builtinReference } from '../reference/builtin-image.js';
import type { BootImage } from '../types.js';
import { sniffImageFormat } from './image-format.js';
import { obtainImage, type ObtainRequest } from './obtain.js';
import { findReference, obtainRequestFor } from './references.js';

/** The `vmspec boot` options that say which image to boot and how to check a download. */
export interface BootImageOptions {
  reference?: string;
  sha256?: string;
  sha512?: string;
  sums?: string;
  allowUnverified?: boolean;
  cacheDir?: string;
  /** qcow2 backing files (`--backing`): whether the root is read through the chain to tell cloud-init. */
  backing?: 'follow' | 'refuse';
}

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(0)} MiB`;
}

/**
 * The image `vmspec boot` boots, from its IMAGE argument: a local path
 * (hashed through the cache when a checksum is given), a URL (downloaded,
 * checked), or none: --reference NAME, by default the built-in reference.
 * `cloudInit` says whether the collector can run through cloud-init.
 */
export async function resolveBootImage(image: string | undefined, o: BootImageOptions, onProgress: (m: string) => void, signal: AbortSignal): Promise<BootImage & { cloudInit: boolean | null }> {
  const fetchOne = async (req: ObtainRequest, cloudInit: boolean | null) => {
    const got = await obtainImage({
      ...req,
      ...(o.cacheDir ? { cacheDir: join(o.cacheDir, 'images') } : {}),
      ...(o.allowUnverified ? { allowUnverified: true } : {}),
      signal,
      onProgress: (p) => onProgress(`${p.phase === 'verify' ? 'checking' : 'downloading'} ${mib(p.received)}${p.total ? ` of ${mib(p.total)}` : ''}`),
    });
    return { path: got.path, format: got.format, source: req.source, sha256: got.sha256, cloudInit: cloudInit ?? (await imageHasCloudInit(got.path, o.backing)) };
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
  return { path, format: sniffImageFormat(path), source: image, sha256: null, cloudInit: await imageHasCloudInit(path, o.backing) };
}
