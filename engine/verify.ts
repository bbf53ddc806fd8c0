import { sha256File } from '../bytes/file-digest.js';
import { statSync } from 'node:fs';
import { UnsupportedError } from '../bytes/errors.js';
import { openDisk } from '../probes/image/open-disk.js';
import type { DiskImage } from '../probes/image/disk.js';
import { LiveSysroot, openSysroot } from '../probes/sysroot/open.js';
import type { IntegrityReport, Sysroot } from '../probes/sysroot/types.js';
import { evaluateUnlessWaived } from './evaluate.js';
import { runResults, type RunResults, type Selection, type TargetInfo } from './results.js';
import { observableFrom, select, selects, SelectionError } from './select.js';
import type { ProbeInputKind } from '../probes/types.js';
import type { Waiver } from './waivers.js';
import type { SpecSet } from '../requirements/spec-load.js';
import type { Requirement } from '../requirements/requirement.js';
import { monotonicMs } from './clock.js';

export interface VerifyOptions {
  spec: SpecSet;
  selection: Selection;
  image?: string;
  /** An evidence bundle: directory, tar (or raw evidence disk holding one), or a serial log with a console frame. */
  evidence?: string;
  /** Read the running system's own / as evidence (inside the guest). */
  live?: boolean;
  /** Hash the whole image (or evidence tar) file (reads every byte: only on request). */
  sha256?: boolean;
  backing?: 'follow' | 'refuse';
  /** Waivers with `runs: false` keep their clauses from being evaluated at all. */
  waivers?: Waiver[];
  /** The clauses to evaluate, already selected: `vmspec boot` judges one selection in every run it combines. */
  requirements?: Requirement[];
}

/** What the run was given to verify does not make sense (exit 2). */
export class TargetError extends SelectionError {}

/** Which of IMAGE / --evidence / --live may go together. */
export function checkTargets(o: { image?: string | undefined; evidence?: string | undefined; live?: boolean | undefined }): void {
  if (o.live && o.evidence !== undefined) throw new TargetError('--live and --evidence exclude each other: --live reads this system, --evidence a bundle collected elsewhere');
  if (o.live && o.image !== undefined) throw new TargetError('--live reads the running system; give a disk image in a separate run (vmspec verify IMAGE)');
  if (!o.live && o.evidence === undefined && o.image === undefined) {
    throw new TargetError('nothing to verify: give a disk IMAGE, --evidence BUNDLE (a bundle directory or tar from collect.sh), or --live (inside the guest), or IMAGE with --evidence');
  }
}

/** What the results record about the evidence: where it came from and whether it matches its manifest. */
export interface EvidenceInfo {
  path: string;
  kind: 'directory' | 'tar' | 'live';
  collector: { name: string; version: string } | null;
  collectedAt: string | null;
  efiVariableTest: { phase: string; nonce: string; result: string } | null;
  integrity: IntegrityReport;
}

/**
 * Open the evidence and check it against its manifest. A mismatch does not
 * stop the run: it is listed in `evidence.integrity` and as a warning, and
 * every probe that reads an altered, added or missing file errors on it
 * (probes/evidence/read.ts), so no verdict rests on altered evidence.
 */
function openEvidence(opts: VerifyOptions): { sysroot: Sysroot; info: EvidenceInfo; warnings: string[] } {
  const sysroot = opts.live ? new LiveSysroot() : openSysroot(opts.evidence as string);
  const warnings: string[] = [];
  let integrity: IntegrityReport;
  try {
    integrity = sysroot.verify();
  } catch (e) {
    sysroot.close();
    throw e;
  }
  if (sysroot.kind !== 'live' && !integrity.hasManifest) {
    warnings.push(`evidence ${sysroot.name} has no manifest.json: its files cannot be checked for alteration`);
  }
  if (!integrity.ok) {
    const shown = integrity.issues.slice(0, 5).map((i) => i.message).join('; ');
    const more = integrity.issues.length > 5 ? ` (+${integrity.issues.length - 5} more, see evidence.integrity)` : '';
    warnings.push(`evidence does not match its manifest: ${shown}${more}; clauses that read these files are errors`);
  }
  const m = sysroot.manifest;
  const t = m?.efiVariableTest;
  return {
    sysroot,
    warnings,
    info: {
      path: opts.live ? '/' : (opts.evidence as string),
      kind: sysroot.kind,
      collector: m ? { ...m.collector } : null,
      collectedAt: m?.startedAt ?? null,
      efiVariableTest: t ? { phase: t.phase, nonce: t.nonce, result: t.result } : null,
      // A badly damaged bundle can list thousands of issues: the first 200 are evidence enough.
      integrity: integrity.issues.length > 200 ? { ...integrity, issues: integrity.issues.slice(0, 200) } : integrity,
    },
  };
}

/** spec → selection → probes → verdicts: one run, as results JSON. */
export async function verify(opts: VerifyOptions): Promise<RunResults & { warnings?: string[]; evidence?: EvidenceInfo }> {
  const startedAt = new Date();
  const t0 = monotonicMs();
  checkTargets(opts);
  // No selection option: the clauses what was given can observe (an image alone is not flooded with guest-run clauses).
  const given: ProbeInputKind[] = [...(opts.image !== undefined ? ['image' as const] : []), ...(opts.evidence !== undefined || opts.live ? ['evidence' as const] : [])];
  const byDefault = !opts.requirements && !selects(opts.selection);
  const selection: Selection = byDefault ? { ...opts.selection, observableFrom: given } : opts.selection;
  const selected = opts.requirements ?? (byDefault ? observableFrom(opts.spec.requirements, given) : select(opts.spec.requirements, opts.selection));
  let image: DiskImage | undefined;
  let evidence: ReturnType<typeof openEvidence> | undefined;
  let target: TargetInfo = { kind: 'none', path: null, format: null, size: null, sha256: null };
  try {
    if (opts.evidence !== undefined || opts.live) {
      evidence = openEvidence(opts);
      const e = evidence.info;
      const size = e.kind === 'tar' ? fileSize(e.path) : null;
      target = {
        kind: e.kind === 'live' ? 'live' : 'evidence',
        path: e.path,
        format: e.kind === 'live' ? null : e.kind === 'directory' ? 'bundle directory' : evidence.sysroot.name.endsWith('(console frame)') ? 'bundle in a console log' : 'bundle tar',
        size,
        sha256: opts.sha256 && e.kind === 'tar' && size !== null ? await sha256File(e.path) : null,
      };
    }
    if (opts.image) {
      checkImagePath(opts.image);
      const opened = openDisk(opts.image, { backing: opts.backing ?? 'refuse' });
      image = opened;
      target = {
        kind: 'image',
        path: opts.image,
        format: opened.format,
        size: opened.disk.size,
        sha256: opts.sha256 ? await sha256File(opts.image) : null,
      };
    }
    const results = await evaluateUnlessWaived(selected, { ...(image ? { image } : {}), ...(evidence ? { evidence: evidence.sysroot } : {}) }, { waivers: opts.waivers, scope: { target, hypervisor: null }, now: startedAt });
    const warnings = evidence?.warnings ?? [];
    return {
      ...runResults({ spec: opts.spec, selection, target, startedAt, startedMs: t0, results }),
      ...(evidence ? { evidence: evidence.info } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
  } finally {
    image?.close();
    evidence?.sysroot.close();
  }
}

/** Say which argument is wrong, and what to give instead, before a bare ENOENT/EISDIR can. */
function checkImagePath(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UnsupportedError(`image ${path} does not exist`, 'give the path of a raw or qcow2 disk image');
    if (code === 'EACCES') throw new UnsupportedError(`image ${path} is not readable by this user`, 'check its permissions, or run as a user who can read it');
    throw e;
  }
  if (st.isDirectory()) throw new UnsupportedError(`image ${path} is a directory`, 'give a disk image file (raw or qcow2); for an evidence bundle directory use --evidence');
}

function fileSize(path: string): number | null {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

