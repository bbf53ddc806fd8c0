import { ParseError } from '../../bytes/errors.js';

/**
 * manifest.json of an evidence bundle, as written by probes/guest/collect.sh
 * (format "vmspec-evidence", formatVersion 1). Paths in `files` and
 * `symlinks` are bundle-relative ("sys/firmware/fdt"); paths in `absent`
 * and `unreadable` are guest paths ("/sys/firmware/fdt", or "cmd:NAME" for a
 * command that failed).
 */
export interface EvidenceManifest {
  format: 'vmspec-evidence';
  formatVersion: number;
  collector: { name: string; version: string };
  startedAt: string;
  startedAtEpoch: number | null;
  finishedAt: string;
  finishedAtEpoch: number | null;
  /** Where the collector read from ("/" for a live guest). */
  root: string;
  /** already-mounted | mounted | mount-failed | remounted-rw | no-efi | not-mounted-by-request */
  efivarfs: string;
  outputs: { tar: boolean; console: boolean };
  efiVariableTest: EfiVariableTest | null;
  files: Record<string, { size: number | null; sha256: string }>;
  symlinks: Record<string, string>;
  absent: string[];
  unreadable: { path: string; reason: string }[];
}

export interface EfiVariableTest {
  phase: 'write' | 'check';
  nonce: string;
  guid: string;
  /** efivarfs file name: VmspecNonce<nonce>-<guid> */
  name: string;
  /** write: written | already-present | write-failed | unavailable; check: present | absent | unavailable */
  result: string;
  /** Variable data (after the 4 attribute bytes) when it could be read. */
  content: string | null;
  /** The 4 attribute bytes as hex ("07000000"), when read. */
  attributes: string | null;
  reason: string | null;
}

export const MANIFEST_NAME = 'manifest.json';
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

type Obj = { [k: string]: unknown };

function fail(where: string, message: string): never {
  throw new ParseError(`evidence manifest (${where})`, -1, message);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(where, `"${key}" must be a string`);
  return v;
}

function numOrNull(o: Obj, key: string, where: string): number | null {
  const v = o[key];
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(where, `"${key}" must be a non-negative integer or null`);
  return v;
}

function strOrNull(o: Obj, key: string, where: string): string | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') fail(where, `"${key}" must be a string or null`);
  return v;
}

/** Parse and validate manifest.json. Throws ParseError naming the bad field. */
export function parseManifest(bytes: Uint8Array, where: string): EvidenceManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) fail(where, `larger than ${MAX_MANIFEST_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    fail(where, `not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!isObj(raw)) fail(where, 'top level must be an object');
  if (raw.format !== 'vmspec-evidence') fail(where, `"format" must be "vmspec-evidence", got ${JSON.stringify(raw.format)}`);
  const formatVersion = raw.formatVersion;
  if (formatVersion !== 1) fail(where, `unsupported formatVersion ${JSON.stringify(formatVersion)} (this reader knows 1)`);
  const collector = raw.collector;
  if (!isObj(collector)) fail(where, '"collector" must be an object');
  const outputs = raw.outputs;
  if (!isObj(outputs)) fail(where, '"outputs" must be an object');

  const filesRaw = raw.files;
  if (!isObj(filesRaw)) fail(where, '"files" must be an object');
  const files: EvidenceManifest['files'] = Object.create(null) as EvidenceManifest['files'];
  for (const [path, entry] of Object.entries(filesRaw)) {
    if (!isObj(entry)) fail(where, `files[${JSON.stringify(path)}] must be an object`);
    const sha256 = entry.sha256;
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) fail(where, `files[${JSON.stringify(path)}].sha256 must be 64 lowercase hex digits`);
    files[path] = { size: numOrNull(entry, 'size', where), sha256 };
  }
  const linksRaw = raw.symlinks;
  if (!isObj(linksRaw)) fail(where, '"symlinks" must be an object');
  const symlinks: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [path, target] of Object.entries(linksRaw)) {
    if (typeof target !== 'string') fail(where, `symlinks[${JSON.stringify(path)}] must be a string`);
    symlinks[path] = target;
  }
  const absent = raw.absent;
  if (!Array.isArray(absent) || !absent.every((a) => typeof a === 'string')) fail(where, '"absent" must be an array of strings');
  const unreadableRaw = raw.unreadable;
  if (!Array.isArray(unreadableRaw)) fail(where, '"unreadable" must be an array');
  const unreadable = unreadableRaw.map((u, i) => {
    if (!isObj(u)) fail(where, `unreadable[${i}] must be an object`);
    return { path: str(u, 'path', where), reason: str(u, 'reason', where) };
  });

  let efiVariableTest: EfiVariableTest | null = null;
  const evt = raw.efiVariableTest;
  if (evt !== null && evt !== undefined) {
    if (!isObj(evt)) fail(where, '"efiVariableTest" must be an object or null');
    const phase = evt.phase;
    if (phase !== 'write' && phase !== 'check') fail(where, 'efiVariableTest.phase must be "write" or "check"');
    efiVariableTest = {
      phase,
      nonce: str(evt, 'nonce', where),
      guid: str(evt, 'guid', where),
      name: str(evt, 'name', where),
      result: str(evt, 'result', where),
      content: strOrNull(evt, 'content', where),
      attributes: strOrNull(evt, 'attributes', where),
      reason: strOrNull(evt, 'reason', where),
    };
  }

  return {
    format: 'vmspec-evidence',
    formatVersion,
    collector: { name: str(collector, 'name', where), version: str(collector, 'version', where) },
    startedAt: str(raw, 'startedAt', where),
    startedAtEpoch: numOrNull(raw, 'startedAtEpoch', where),
    finishedAt: str(raw, 'finishedAt', where),
    finishedAtEpoch: numOrNull(raw, 'finishedAtEpoch', where),
    root: str(raw, 'root', where),
    efivarfs: str(raw, 'efivarfs', where),
    outputs: { tar: outputs.tar === true, console: outputs.console === true },
    efiVariableTest,
    files,
    symlinks,
    absent: absent as string[],
    unreadable,
  };
}
