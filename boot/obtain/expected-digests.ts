import { UnsupportedError } from '../../bytes/errors.js';
import { HASH_ALGORITHMS, hasDigest, normaliseDigest, type Digests, type HashAlgorithm } from './digest.js';
import { fetchText, type FetchTextOptions } from './fetch-text.js';
import { parseUrl } from './source.js';
import { digestsFor, listedNames, parseSumsFile } from './sums-file.js';

/** How the expected digest is given: pinned, listed in a checksum file, or both (they must agree). */
export interface ChecksumSpec {
  sha256?: string;
  sha512?: string;
  /** A SHA256SUMS / SHA512SUMS / CHECKSUM file listing the image by name. */
  sumsUrl?: string;
  /** The algorithm the list must give (a reference declares it); default: whichever it gives. */
  sumsAlgorithm?: HashAlgorithm;
}

/** Largest checksum list accepted (CentOS's CHECKSUM lists years of builds in a few hundred KiB). */
export const MAX_SUMS_BYTES = 8 * 1024 * 1024;

/**
 * The digests the image must have: the pinned ones, and those a checksum
 * list gives for `imageName` (the decoded file name from the image URL).
 * A list that does not name the image, or disagrees with a pin, is an error.
 */
export async function expectedDigests(spec: ChecksumSpec, imageName: string, fetch: Omit<FetchTextOptions, 'maxBytes'>): Promise<Digests> {
  const pinned: Digests = {};
  for (const a of HASH_ALGORITHMS) {
    const v = spec[a];
    if (v !== undefined) pinned[a] = normaliseDigest(a, v, `pinned ${a}`);
  }
  if (spec.sumsUrl === undefined) return pinned;
  const listUrl = parseUrl(spec.sumsUrl, 'checksum list');
  const entries = parseSumsFile(await fetchText(listUrl, { ...fetch, maxBytes: MAX_SUMS_BYTES }));
  const listed = digestsFor(entries, imageName, listUrl.href);
  if (!hasDigest(listed)) {
    const names = listedNames(entries);
    throw new UnsupportedError(
      `${listUrl.href} does not list "${imageName}" (${entries.length ? `it lists ${names.map((n) => `"${n}"`).join(', ')}${entries.length > names.length ? ', …' : ''}` : 'no checksum lines were found in it'})`,
      'check that the checksum list belongs to the image URL (same directory, same release), or pin the digest with sha256/sha512',
    );
  }
  if (spec.sumsAlgorithm !== undefined && listed[spec.sumsAlgorithm] === undefined) {
    throw new UnsupportedError(
      `${listUrl.href} lists "${imageName}" but not with ${spec.sumsAlgorithm} (it gives ${HASH_ALGORITHMS.filter((a) => listed[a] !== undefined).join(', ')})`,
      'the checksum list changed format, or the wrong list is configured: fix the algorithm or the list URL',
    );
  }
  for (const a of HASH_ALGORITHMS) {
    const p = pinned[a];
    const l = listed[a];
    if (p !== undefined && l !== undefined && p !== l) {
      throw new UnsupportedError(
        `the pinned ${a} ${p} for "${imageName}" differs from the one ${listUrl.href} lists (${l})`,
        'the image was republished or the pin is wrong: check the publisher\'s list and update the pin',
      );
    }
  }
  return { ...listed, ...pinned };
}
