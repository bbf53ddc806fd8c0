/**
 * Hexadecimal text of numbers and bytes: one family, so facts and messages
 * print values the same way everywhere.
 */

type Letters = 'lower' | 'upper';

/** Hex digits of `v`, zero-padded to `digits`, without a prefix ("0000abcd"). */
export function hexDigits(v: number | bigint, digits = 0, letters: Letters = 'lower'): string {
  const s = v.toString(16).padStart(digits, '0');
  return letters === 'upper' ? s.toUpperCase() : s;
}

/**
 * `0x` + hex of `v`. Unpadded by default: the convention for addresses and
 * 64-bit fields in facts ("0x9000000"). With `digits`, a fixed-width field
 * ("0x00ee"); `upper` where the source spec prints values so (FAT).
 */
export function hex(v: number | bigint, digits = 0, letters: Letters = 'lower'): string {
  return `0x${hexDigits(v, digits, letters)}`;
}

/** A 32-bit value as `0x` + 8 lowercase digits: how CRCs appear in facts ("0x1a2b3c4d"). */
export function hex32(v: number): string {
  return hex(v >>> 0, 8);
}

/** Each byte as two lowercase hex digits, joined by `separator` (UUIDs, magic shown in messages). */
export function hexBytes(bytes: Uint8Array, separator = ''): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(separator);
}
