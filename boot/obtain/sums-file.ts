import { UnsupportedError } from '../../bytes/errors.js';
import { algorithmOfHex, type Digests, type HashAlgorithm } from './digest.js';

/** One line of a checksum list: the digest the publisher gives for a file name. */
export interface SumsEntry {
  name: string;
  algorithm: HashAlgorithm;
  hex: string;
  /** 1-based line in the file, for messages. */
  line: number;
}

/** Lines longer than this are not checksum lines (a name is at most a few hundred bytes). */
const MAX_LINE = 4096;
/** Enough for any distribution's list; more is not a checksum file. */
const MAX_ENTRIES = 200_000;

// GNU coreutils: "HEX  name" (text) or "HEX *name" (binary); a leading "\" marks an escaped name.
const GNU = /^(\\?)([0-9a-fA-F]{64}|[0-9a-fA-F]{128}) [ *](.+)$/;
// BSD / Fedora / CentOS CHECKSUM: "SHA256 (name) = HEX".
const BSD = /^(\\?)(SHA256|SHA512|SHA-256|SHA-512) \((.+)\) ?= ?([0-9a-fA-F]+)$/;

/**
 * Parse a SHA256SUMS / SHA512SUMS / CHECKSUM file: GNU lines, BSD lines and
 * Fedora's comment lines, inside or outside a PGP clear-signed wrapper (the
 * signature itself is not checked here: the digest is compared with the
 * image, and a pinned digest is the stronger guarantee). Lines that are
 * neither form are ignored.
 */
export function parseSumsFile(text: string): SumsEntry[] {
  const entries: SumsEntry[] = [];
  const lines = text.split('\n');
  let inSignature = false;
  let inArmorHeaders = false;
  for (const [i, rawLine] of lines.entries()) {
    let line = rawLine.replace(/\r$/, '');
    if (line === '-----BEGIN PGP SIGNED MESSAGE-----') {
      inArmorHeaders = true;
      continue;
    }
    if (inArmorHeaders) {
      // Armor headers ("Hash: SHA256") end at the first blank line.
      if (line.trim() === '') inArmorHeaders = false;
      continue;
    }
    if (line === '-----BEGIN PGP SIGNATURE-----') inSignature = true;
    if (inSignature) {
      if (line === '-----END PGP SIGNATURE-----') inSignature = false;
      continue;
    }
    if (line.startsWith('- ')) line = line.slice(2); // PGP dash-escaping
    if (line.length > MAX_LINE || line.startsWith('#') || line.trim() === '') continue;
    const entry = parseLine(line, i + 1);
    if (!entry) continue;
    entries.push(entry);
    if (entries.length > MAX_ENTRIES) {
      throw new UnsupportedError(`checksum file has more than ${MAX_ENTRIES} entries; this is not a checksum list`, 'point the sums URL at the SHA256SUMS/SHA512SUMS/CHECKSUM file next to the image');
    }
  }
  return entries;
}

function parseLine(line: string, lineNo: number): SumsEntry | undefined {
  const gnu = GNU.exec(line);
  if (gnu) {
    const hex = gnu[2]!.toLowerCase();
    const algorithm = algorithmOfHex(hex);
    if (!algorithm) return undefined;
    return { name: cleanName(gnu[3]!, gnu[1] === '\\'), algorithm, hex, line: lineNo };
  }
  const bsd = BSD.exec(line);
  if (bsd) {
    const algorithm: HashAlgorithm = bsd[2]!.replace('-', '').toLowerCase() === 'sha256' ? 'sha256' : 'sha512';
    const hex = bsd[4]!.toLowerCase();
    if (algorithmOfHex(hex) !== algorithm) return undefined;
    return { name: cleanName(bsd[3]!, bsd[1] === '\\'), algorithm, hex, line: lineNo };
  }
  return undefined;
}

/** Undo GNU escaping ("\\" and "\n" when the line starts with "\") and a leading "./". */
function cleanName(name: string, escaped: boolean): string {
  const unescaped = escaped ? name.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : name;
  return unescaped.startsWith('./') ? unescaped.slice(2) : unescaped;
}

/**
 * The digests a checksum list gives for `name` (exact match, after "./" is
 * dropped). Two different digests of one algorithm for the same name make
 * the list ambiguous: refused rather than guessed.
 */
export function digestsFor(entries: SumsEntry[], name: string, listUrl: string): Digests {
  const found: Digests = {};
  const lineOf: Partial<Record<HashAlgorithm, number>> = {};
  for (const e of entries) {
    if (e.name !== name) continue;
    const previous = found[e.algorithm];
    if (previous !== undefined && previous !== e.hex) {
      throw new UnsupportedError(
        `${listUrl}: lines ${lineOf[e.algorithm]} and ${e.line} give different ${e.algorithm} digests for "${name}"`,
        'the checksum list is inconsistent; pin the digest you trust with sha256/sha512 instead',
      );
    }
    found[e.algorithm] = e.hex;
    lineOf[e.algorithm] = e.line;
  }
  return found;
}

/** Names listed, for an error that says what the file does hold (a few, sorted). */
export function listedNames(entries: SumsEntry[], limit = 8): string[] {
  return [...new Set(entries.map((e) => e.name))].sort().slice(0, limit);
}
