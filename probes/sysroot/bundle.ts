import { crypto } from '../../bytes/lazy-builtins.js';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { MAX_READ } from '../../bytes/byte-source.js';
import { MANIFEST_NAME, parseManifest, type EvidenceManifest } from './manifest.js';
import {
  DEFAULT_MAX_FILE_BYTES,
  NotFoundError,
  UnreadableInGuestError,
  guestPath,
  splitGuestPath,
  type IntegrityIssue,
  type IntegrityReport,
  type ReadFileOptions,
  type Sysroot,
  type SysrootKind,
  type SysrootStat,
} from './types.js';

/** What a bundle store knows about one path, without following a final symlink. */
export type BundleNode =
  | { type: 'file'; size: number }
  | { type: 'dir' }
  | { type: 'symlink'; target: string }
  | { type: 'other'; what: string };

/** Symlink hops before giving up (Linux uses 40). */
export const MAX_SYMLINK_HOPS = 40;

export function capOf(opts: ReadFileOptions | undefined): number {
  const cap = opts?.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Number.isSafeInteger(cap) || cap < 0) throw new UnsupportedError(`maxBytes must be a non-negative integer, got ${cap}`);
  return Math.min(cap, MAX_READ);
}

/**
 * A bundle (directory or tar): paths are resolved here, component by
 * component, so symlinks are followed only inside the bundle (an absolute
 * target is taken from the bundle's root, as in a chroot; a relative target
 * that climbs above the root is refused). Subclasses only look nodes up and
 * read bytes; they never let the OS follow a link.
 */
export abstract class BundleSysroot implements Sysroot {
  abstract readonly kind: SysrootKind;
  readonly manifest?: EvidenceManifest;
  readonly #issues: IntegrityIssue[] = [];
  readonly #verified = new Set<string>();
  readonly #unreadable = new Map<string, string>();

  protected constructor(readonly name: string) {}

  /** Look one bundle-relative path up (components, no final symlink followed). */
  protected abstract lstatNode(components: readonly string[]): BundleNode | undefined;
  /** Bytes of a regular file found by lstatNode (size already checked against the cap). */
  protected abstract readNode(components: readonly string[], size: number): Uint8Array;
  /** Names in a directory found by lstatNode. */
  protected abstract listNode(components: readonly string[]): string[];
  abstract close(): void;

  /** Subclasses call this once their store is open. */
  protected loadManifest(): void {
    const node = this.lstatNode([MANIFEST_NAME]);
    if (node === undefined) return;
    if (node.type !== 'file') throw new ParseError(this.name, -1, `${MANIFEST_NAME} is not a regular file`);
    const cap = 16 * 1024 * 1024;
    if (node.size > cap) throw new ParseError(this.name, -1, `${MANIFEST_NAME} is larger than ${cap} bytes`);
    const manifest = parseManifest(this.readNode([MANIFEST_NAME], node.size), this.name);
    (this as { manifest?: EvidenceManifest }).manifest = manifest;
    for (const u of manifest.unreadable) this.#unreadable.set(u.path, u.reason);
  }

  get issues(): readonly IntegrityIssue[] {
    return this.#issues;
  }

  #issue(issue: IntegrityIssue): void {
    if (!this.#issues.some((i) => i.path === issue.path && i.kind === issue.kind)) this.#issues.push(issue);
  }

  /**
   * Resolve a guest path to bundle components. Returns undefined when some
   * component is absent (or a non-directory is used as one).
   */
  protected resolve(path: string, followLast: boolean): { components: string[]; node: BundleNode } | undefined {
    const pending = splitGuestPath(path, this.name);
    let resolved: string[] = [];
    let node: BundleNode = { type: 'dir' };
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        // Only symlink targets bring ".." here (splitGuestPath resolved the caller's).
        if (resolved.length === 0) {
          throw new ParseError(this.name, -1, `symlink in ${JSON.stringify(path)} points above the bundle root: refused`);
        }
        resolved = resolved.slice(0, -1);
        node = { type: 'dir' };
        continue;
      }
      const candidate = [...resolved, part];
      const found = this.lstatNode(candidate);
      if (found === undefined) return undefined;
      if (found.type === 'symlink' && (pending.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new ParseError(this.name, -1, `too many levels of symlinks resolving ${JSON.stringify(path)}`);
        if (found.target.includes('\0')) throw new ParseError(this.name, -1, `symlink ${guestPath(candidate)} has a NUL byte in its target`);
        if (found.target.startsWith('/')) resolved = [];
        pending.unshift(...found.target.split('/'));
        node = { type: 'dir' };
        continue;
      }
      if (pending.length > 0 && found.type !== 'dir') return undefined;
      resolved = candidate;
      node = found;
    }
    return { components: resolved, node };
  }

  exists(path: string): boolean {
    return this.resolve(path, true) !== undefined;
  }

  stat(path: string): SysrootStat | undefined {
    const r = this.resolve(path, true);
    return r?.node;
  }

  readFile(path: string, opts?: ReadFileOptions): Uint8Array {
    const cap = capOf(opts);
    const r = this.resolve(path, true);
    if (r === undefined) {
      const norm = guestPath(splitGuestPath(path, this.name));
      const reason = this.#unreadable.get(norm);
      if (reason !== undefined) throw new UnreadableInGuestError(norm, reason, this.name);
      throw new NotFoundError(norm, this.name);
    }
    const { components, node } = r;
    const shown = guestPath(components);
    if (node.type === 'dir') throw new UnsupportedError(`${this.name}: ${shown} is a directory`);
    if (node.type !== 'file') throw new UnsupportedError(`${this.name}: ${shown} is not a regular file (${node.type === 'other' ? node.what : node.type}): refused`);
    if (node.size > cap) throw new ParseError(this.name, -1, `${shown} is ${node.size} bytes, more than the ${cap}-byte cap`);
    const bytes = this.readNode(components, node.size);
    this.#check(components.join('/'), bytes);
    return bytes;
  }

  readdir(path: string): string[] {
    const r = this.resolve(path, true);
    const shown = guestPath(splitGuestPath(path, this.name));
    if (r === undefined) throw new NotFoundError(shown, this.name);
    if (r.node.type !== 'dir') throw new UnsupportedError(`${this.name}: ${shown} is not a directory`);
    return this.listNode(r.components).sort();
  }

  readlink(path: string): string {
    const r = this.resolve(path, false);
    const shown = guestPath(splitGuestPath(path, this.name));
    if (r === undefined) throw new NotFoundError(shown, this.name);
    if (r.node.type !== 'symlink') throw new UnsupportedError(`${this.name}: ${shown} is not a symlink`);
    return r.node.target;
  }

  /** Compare bytes read with the manifest; a mismatch is recorded and returned. */
  #compare(rel: string, bytes: Uint8Array): IntegrityIssue | undefined {
    const m = this.manifest;
    if (m === undefined || rel === MANIFEST_NAME) return undefined;
    const entry = Object.hasOwn(m.files, rel) ? m.files[rel] : undefined;
    if (entry === undefined) {
      this.#issue({ path: rel, kind: 'unlisted', message: `${rel} is in the bundle but not in its manifest` });
      return undefined;
    }
    if (this.#verified.has(rel)) return undefined;
    let issue: IntegrityIssue | undefined;
    if (entry.size !== null && entry.size !== bytes.length) {
      issue = { path: rel, kind: 'size-mismatch', message: `${rel}: size ${bytes.length} does not match the manifest (${entry.size})` };
    } else {
      const sha = crypto().createHash('sha256').update(bytes).digest('hex');
      if (sha !== entry.sha256) {
        issue = { path: rel, kind: 'sha256-mismatch', message: `${rel}: sha256 ${sha} does not match the manifest (${entry.sha256})` };
      }
    }
    if (issue === undefined) {
      this.#verified.add(rel);
      return undefined;
    }
    this.#issue(issue);
    return issue;
  }

  #check(rel: string, bytes: Uint8Array): void {
    const issue = this.#compare(rel, bytes);
    if (issue !== undefined) throw new ParseError(this.name, -1, `${issue.message}: the bundle was altered or damaged`);
  }

  /** Every regular file in the bundle, bundle-relative (for verify). */
  protected abstract allFiles(): string[];

  verify(): IntegrityReport {
    const m = this.manifest;
    if (m === undefined) return { hasManifest: false, checked: 0, ok: true, issues: [] };
    const issues: IntegrityIssue[] = [];
    let checked = 0;
    for (const rel of Object.keys(m.files).sort()) {
      const comps = splitGuestPath(rel, this.name);
      const node = this.lstatNode(comps);
      if (node === undefined || node.type !== 'file') {
        const issue: IntegrityIssue = { path: rel, kind: 'missing', message: `${rel} is in the manifest but not in the bundle` };
        issues.push(issue);
        this.#issue(issue);
        continue;
      }
      checked++;
      const entry = m.files[rel];
      if (node.size > MAX_READ || (entry !== undefined && entry.size !== null && entry.size !== node.size)) {
        const issue: IntegrityIssue = { path: rel, kind: 'size-mismatch', message: `${rel}: size ${node.size} does not match the manifest (${entry?.size ?? 'unknown'})` };
        issues.push(issue);
        this.#issue(issue);
        continue;
      }
      const issue = this.#compare(comps.join('/'), this.readNode(comps, node.size));
      if (issue !== undefined) issues.push(issue);
    }
    for (const rel of this.allFiles()) {
      if (rel !== MANIFEST_NAME && !Object.hasOwn(m.files, rel)) {
        const issue: IntegrityIssue = { path: rel, kind: 'unlisted', message: `${rel} is in the bundle but not in its manifest` };
        issues.push(issue);
        this.#issue(issue);
      }
    }
    return { hasManifest: true, checked, ok: issues.length === 0, issues };
  }
}
