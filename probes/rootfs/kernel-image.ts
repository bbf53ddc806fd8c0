import { zlib } from '../../bytes/lazy-builtins.js';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { zstdFrame } from '../../bytes/zstd.js';
import { kernelImageInfo } from './kernels.js';

/**
 * What is inside an installed kernel file, decompressed within bounds: the
 * arm64 Image itself (uncompressed "Image", Debian's gzip'd vmlinuz, or an
 * EFI zboot PE whose header names the payload), its "Linux version" banner
 * and the configuration built into it (CONFIG_IKCONFIG: kernel/configs.c
 * puts the gzip'd .config between the markers "IKCFG_ST" and "IKCFG_ED",
 * which is what scripts/extract-ikconfig looks for).
 */

/** Biggest kernel file read (Debian's arm64 Image is 32 MiB uncompressed). */
export const MAX_KERNEL_FILE_BYTES = 96 * 1024 * 1024;
/** Biggest decompressed Image. */
export const MAX_IMAGE_BYTES = 160 * 1024 * 1024;
/** Biggest embedded configuration, decompressed. */
export const MAX_IKCONFIG_BYTES = 8 * 1024 * 1024;

export interface KernelPayload {
  /** How the Image was wrapped: none (an Image), gzip (Debian's vmlinuz), zboot-gzip, zboot-zstd. */
  wrapping: 'none' | 'gzip' | 'zboot-gzip' | 'zboot-zstd';
  image: Uint8Array;
}

function gunzip(data: Uint8Array, max: number, what: string): Uint8Array {
  try {
    return zlib().gunzipSync(data, { maxOutputLength: max });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw new UnsupportedError(`${what}: decompresses to more than ${max} bytes, which vmspec does not read`);
    throw new ParseError(what, -1, `gzip data is corrupt: ${err.message}`);
  }
}

const u32 = (b: Uint8Array, o: number): number => ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) >>> 0) + b[o + 3]! * 0x1000000;

/**
 * The Image inside a kernel file. drivers/firmware/efi/libstub/zboot-header.S:
 * "MZ\0\0", "zimg", payload offset (u32), payload size (u32), two reserved
 * u32, the compression type as a NUL-terminated string at 0x18.
 */
export function kernelPayload(file: Uint8Array, what: string): KernelPayload {
  const info = kernelImageInfo(file.subarray(0, 1024));
  if (info.format === 'arm64-image') return { wrapping: 'none', image: file };
  if (info.format === 'gzip') return { wrapping: 'gzip', image: gunzip(file, MAX_IMAGE_BYTES, what) };
  if (info.format === 'efi-zboot') {
    if (file.length < 0x40) throw new ParseError(`${what}: EFI zboot header`, 0, 'shorter than the header');
    const offset = u32(file, 8);
    const size = u32(file, 12);
    if (offset < 0x40 || size === 0 || offset + size > file.length) {
      throw new ParseError(`${what}: EFI zboot header`, 8, `payload at ${offset} of ${size} bytes lies outside the ${file.length}-byte file`);
    }
    const payload = file.subarray(offset, offset + size);
    if (info.compression === 'gzip') return { wrapping: 'zboot-gzip', image: gunzip(payload, MAX_IMAGE_BYTES, `${what}: zboot payload`) };
    if (info.compression === 'zstd' || info.compression === 'zstd22') return { wrapping: 'zboot-zstd', image: zstdFrame(payload, MAX_IMAGE_BYTES, `${what}: zboot payload`) };
    throw new UnsupportedError(`${what}: an EFI zboot image compressed with "${info.compression ?? ''}" (vmspec decompresses gzip and zstd)`);
  }
  throw new UnsupportedError(`${what}: a ${info.format} kernel file, not an arm64 Image, a gzip'd Image or an EFI zboot image`);
}

function indexOf(hay: Uint8Array, needle: string, from = 0): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(needle, from, 'latin1');
}

/** The "Linux version …" banner (init/version.c linux_banner): the release is its third word. */
export function linuxBanner(image: Uint8Array): { banner: string; release: string } | null {
  let at = indexOf(image, 'Linux version ');
  while (at >= 0) {
    const end = Math.min(image.length, at + 512);
    let s = '';
    for (let i = at; i < end && image[i] !== 0 && image[i] !== 0x0a; i++) s += String.fromCharCode(image[i]!);
    const m = /^Linux version (\S+) \(/.exec(s);
    if (m) return { banner: s, release: m[1]! };
    at = indexOf(image, 'Linux version ', at + 1);
  }
  return null;
}

/** The configuration built into the Image (CONFIG_IKCONFIG), or null when it has none. */
export function ikconfig(image: Uint8Array, what: string): string | null {
  const st = indexOf(image, 'IKCFG_ST');
  if (st < 0) return null;
  const ed = indexOf(image, 'IKCFG_ED', st + 8);
  if (ed < 0) throw new ParseError(`${what}: IKCONFIG`, st, '"IKCFG_ST" without a closing "IKCFG_ED"');
  return new TextDecoder('utf-8', { fatal: false }).decode(gunzip(image.subarray(st + 8, ed), MAX_IKCONFIG_BYTES, `${what}: IKCONFIG`));
}
