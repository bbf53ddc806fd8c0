import { createHash, type Hash } from 'node:crypto';
import type { DigestAlgorithm } from '../../bytes/file-digest.js';
import { UnsupportedError } from '../../bytes/errors.js';

/** The hash algorithms an image can be pinned with. */
export type HashAlgorithm = DigestAlgorithm;

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha512'];

/** Hex length of each algorithm's digest. */
export const HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128 };

/** Digests by algorithm, lower-case hex. */
export type Digests = Partial<Record<HashAlgorithm, string>>;

/** Both digests of one byte stream, always computed together so a cache entry can answer either pin. */
export interface FullDigests {
  sha256: string;
  sha512: string;
}

/**
 * A pinned digest as lower-case hex, or a clear error saying where it came
 * from (`where`: "sha256", "references.yaml: debian-12 sha512"...).
 */
export function normaliseDigest(algorithm: HashAlgorithm, value: string, where: string): string {
  const hex = value.trim().toLowerCase();
  const want = HEX_LENGTH[algorithm];
  if (!new RegExp(`^[0-9a-f]{${want}}$`).test(hex)) {
    const shown = value.length > 140 ? `${value.slice(0, 140)}…` : value;
    throw new UnsupportedError(
      `${where}: "${shown}" is not a ${algorithm} digest (expected ${want} hexadecimal digits, got ${value.length} characters)`,
      `copy the ${algorithm} from the publisher's ${algorithm.toUpperCase()}SUMS file, or compute it with \`${algorithm}sum FILE\``,
    );
  }
  return hex;
}

/** The algorithm a hex digest of this length belongs to, if any. */
export function algorithmOfHex(hex: string): HashAlgorithm | undefined {
  return HASH_ALGORITHMS.find((a) => HEX_LENGTH[a] === hex.length);
}

/** sha256 and sha512 of a stream, fed chunk by chunk. */
export class DigestPair {
  private readonly hashes: Record<HashAlgorithm, Hash> = { sha256: createHash('sha256'), sha512: createHash('sha512') };

  update(chunk: Uint8Array): void {
    this.hashes.sha256.update(chunk);
    this.hashes.sha512.update(chunk);
  }

  digest(): FullDigests {
    return { sha256: this.hashes.sha256.digest('hex'), sha512: this.hashes.sha512.digest('hex') };
  }
}

/** The first expected digest the actual ones contradict, or undefined when all agree. */
export function firstMismatch(expected: Digests, actual: FullDigests): { algorithm: HashAlgorithm; expected: string; actual: string } | undefined {
  for (const algorithm of HASH_ALGORITHMS) {
    const want = expected[algorithm];
    if (want !== undefined && want !== actual[algorithm]) return { algorithm, expected: want, actual: actual[algorithm] };
  }
  return undefined;
}

export function hasDigest(d: Digests): boolean {
  return HASH_ALGORITHMS.some((a) => d[a] !== undefined);
}
