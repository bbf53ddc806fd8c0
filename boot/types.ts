import type { DiskFormat } from '../probes/image/disk-format.js';
import type { GuestDiskKind, HostBootRecord, VarsFileFacts } from '../probes/host/facts.js';
import type { RunResults, Selection } from '../engine/results.js';
import type { SpecSet } from '../requirements/spec-load.js';
import type { EvidenceInfo } from '../engine/verify.js';
import type { Waiver } from '../engine/waivers.js';
import type { CombinedResult } from './combine.js';
import type { BootPlanOptions, PlannedBoot } from './plan.js';
import type { Firmware, QemuRunOptions, QemuRunResult } from './qemu-run.js';

/** What a `vmspec boot` run takes (`runBoot`'s options) and gives (its results). */

export interface BootImage {
  path: string;
  format: DiskFormat;
  /** Where it came from: a path, a URL or `reference:NAME`. */
  source: string;
  sha256: string | null;
}

/** How the guest runs the collector: the built-in reference's /init, or cloud-init from a NoCloud seed. */
export type GuestAgent = { kind: 'reference-init' } | { kind: 'cloud-init'; seed: (dir: string, boot: PlannedBoot) => Promise<string> | string };

export interface BootEnvironment {
  hypervisor: string;
  qemu: { path: string; version: string };
  accelerator: 'kvm' | 'tcg';
  firmware: Firmware & { descriptor: string | null; description: string | null; version: string | null; codeSha256: string | null; features: string[] };
}

/**
 * How one planned boot runs: QEMU on this host (boot/qemu-run.ts runQemu,
 * the default), or another hypervisor route that takes the same request and
 * reports its end the same way (exit, timeout, its own messages), so the
 * host clauses judge every route alike. `watchesReset`: the route lets a
 * guest's reset restart the VM and stops it once it has started again
 * (`guestEnd: 'reset'`, `stoppedAfterReset`), as runQemu does.
 */
export type BootRunner = ((opts: QemuRunOptions) => Promise<QemuRunResult>) & { watchesReset?: true };

export interface BootRunOptions extends BootPlanOptions {
  spec: SpecSet;
  selection: Selection;
  waivers?: Waiver[];
  image: BootImage;
  agent: GuestAgent;
  env: BootEnvironment;
  /** The hypervisor route of each boot (default: runQemu, QEMU on this host). */
  runner?: BootRunner;
  /** How the route puts the disks on the VM (default virtio-blk-pci; a Xen domain's are xen-vbd): what PLAT-2 expects the guest to find. */
  guestDisks?: GuestDiskKind;
  /** Reads the persistence nonce back from an instance's variable-store file (edk2 varstore parser). */
  varsFileFacts: (varsPath: string, nonce: string) => VarsFileFacts;
  memoryMiB: number;
  cpus: number;
  timeoutMs: number;
  qemuArgs: string[];
  /** Boot even when a mandatory image clause fails. */
  force: boolean;
  /** qcow2 backing files: refuse (default; QEMU would open whatever path the image names) or follow. */
  backing?: 'follow' | 'refuse';
  /** Keep the work directory (vars copies, evidence disks, serial logs). */
  keep: boolean;
  workDir?: string;
  signal?: AbortSignal;
  onPhase?: (event: PhaseEvent) => void;
}

/** Progress of one step (verify image, each boot, each evaluation), for the spinner on stderr. */
export type PhaseEvent = { phase: string; state: 'start' } | { phase: string; state: 'done' | 'failed'; ms: number; detail?: string };

/** One boot as the results record it: the host's record, where its serial log is, and what its evidence disk held. */
export interface BootRecordOut extends HostBootRecord {
  serialLog: string;
  evidence: EvidenceInfo | null;
}

export interface BootRunResults extends RunResults {
  results: CombinedResult[];
  environment: Omit<BootEnvironment, 'firmware'> & { firmware: Omit<BootEnvironment['firmware'], 'code' | 'varsTemplate'> & { code: string; varsTemplate?: string }; machine: { memoryMiB: number; cpus: number; qemuArgs: string[] } };
  boot: { image: BootImage; nonce: string; workDir: string | null; boots: BootRecordOut[]; staticCheck: { mandatoryImageFailures: string[]; forced: boolean } };
  warnings?: string[];
}
