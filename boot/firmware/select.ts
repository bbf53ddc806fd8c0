import { readFileSync, statSync } from 'node:fs';
import { ParseError, UnsupportedError } from '../../bytes/errors.js';
import { findQemu } from '../qemu-run.js';
import { parseDescriptor, MAX_DESCRIPTOR_BYTES, type DescriptorFlashFile, type FirmwareDescriptor } from './descriptor.js';
import { firmwareSearchDirs, listDescriptorFiles } from './descriptor-files.js';
import { featureRequirements, type FeatureRequirements } from './features.js';
import { flashFileProblem, sniffFlashFormat } from './flash-file.js';
import { globMatch } from './machine-glob.js';
import { resolveMachineType } from './machine-type.js';
import type { DiskFormat } from '../../probes/image/disk-format.js';
import type { FlashFile, FlashMode, SelectedFirmware } from './types.js';

/**
 * Firmware selection the way libvirt does it (src/qemu/qemu_firmware.c,
 * qemuFirmwareMatchDomain): walk the descriptors in file-name order and take
 * the first that offers UEFI on pflash for this architecture and machine
 * type with the features asked for. vmspec adds two checks libvirt leaves to
 * QEMU's failure at start-up: the files must exist and be readable, and
 * their real format must be the one declared.
 */

export interface FirmwareCriteria {
  /** Canonical machine type (resolveMachineType): "virt-7.2", not the alias "virt". */
  machine: string;
  /** QEMU target (SysEmuTarget); default aarch64. */
  architecture?: string;
  /** `--firmware-feature` values: F requires, no-F excludes (secure-boot excluded unless asked for). */
  features?: readonly string[];
  /** Flash modes accepted; default all three. */
  modes?: readonly FlashMode[];
}

export interface FirmwareSearchOptions {
  /** Descriptor directories, most specific first (tests); default firmwareSearchDirs(). */
  dirs?: readonly string[];
}

export type ConsiderationStatus = 'selected' | 'candidate' | 'rejected' | 'masked' | 'malformed';

/** One descriptor file and what selection made of it. */
export interface Consideration {
  path: string;
  status: ConsiderationStatus;
  /** Why it was rejected, masked or malformed (empty when it fits). */
  reasons: string[];
  descriptor?: FirmwareDescriptor;
  /** For malformed files: the parse error. */
  error?: ParseError;
}

const ACCEPTED_FORMATS: readonly DiskFormat[] = ['raw', 'qcow2'];

function flashFile(f: DescriptorFlashFile): FlashFile {
  return { filename: f.filename, format: f.format as DiskFormat };
}

function fileReasons(f: DescriptorFlashFile, what: string): string[] {
  if (!(ACCEPTED_FORMATS as readonly string[]).includes(f.format)) return [`${what} format "${f.format}" is not raw or qcow2`];
  const problem = flashFileProblem(f.filename, what);
  if (problem) return [problem];
  const real = sniffFlashFormat(f.filename);
  return real === f.format ? [] : [`${what} ${f.filename} is declared ${f.format} but is ${real}`];
}

/** Every reason `d` does not fit (empty when it does). */
export function rejectionReasons(d: FirmwareDescriptor, c: FirmwareCriteria, req: FeatureRequirements): string[] {
  const arch = c.architecture ?? 'aarch64';
  const reasons: string[] = [];
  if (!d.interfaceTypes.includes('uefi')) reasons.push(`interface-types [${d.interfaceTypes.join(', ')}] has no uefi`);
  const m = d.mapping;
  if (m.device !== 'flash') reasons.push(`mapping.device is ${m.device}, not flash (pflash)`);
  const forArch = d.targets.filter((t) => t.architecture === arch);
  if (forArch.length === 0) {
    reasons.push(`no target for ${arch} (targets: ${d.targets.map((t) => t.architecture).join(', ') || 'none'})`);
  } else if (!forArch.some((t) => t.machines.some((g) => globMatch(g, c.machine)))) {
    reasons.push(`${arch} machines [${forArch.flatMap((t) => t.machines).join(', ')}] do not match ${c.machine}`);
  }
  if (m.device === 'flash') {
    const modes = c.modes ?? ['split', 'combined', 'stateless'];
    if (!modes.includes(m.mode)) reasons.push(`flash mode ${m.mode} is not accepted (accepted: ${modes.join(', ')})`);
  }
  for (const f of req.require) if (!d.features.includes(f)) reasons.push(`lacks ${f} (${req.reasons[f]})`);
  for (const f of req.exclude) if (d.features.includes(f)) reasons.push(`has ${f} (${req.reasons[f]})`);
  // Files last, and only for otherwise fitting flash descriptors: no I/O for ones already out.
  if (reasons.length === 0 && m.device === 'flash') {
    reasons.push(...fileReasons(m.executable, 'executable'));
    if (m.nvramTemplate) reasons.push(...fileReasons(m.nvramTemplate, 'nvram-template'));
  }
  return reasons;
}

function readDescriptor(path: string): FirmwareDescriptor {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new ParseError('QEMU firmware descriptor', -1, `${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (size > MAX_DESCRIPTOR_BYTES) throw new ParseError('QEMU firmware descriptor', -1, `${path}: ${size} bytes is larger than the ${MAX_DESCRIPTOR_BYTES}-byte cap for a descriptor`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ParseError('QEMU firmware descriptor', -1, `${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseDescriptor(text, path);
}

/** Every descriptor in the search path, in order, with the verdict on each; the first fitting one is `selected`. */
export function considerFirmware(criteria: FirmwareCriteria, opts: FirmwareSearchOptions = {}): Consideration[] {
  const req = featureRequirements(criteria.features);
  const out: Consideration[] = [];
  let chosen = false;
  for (const f of listDescriptorFiles(opts.dirs ?? firmwareSearchDirs())) {
    if (f.masked) {
      out.push({ path: f.path, status: 'masked', reasons: [`empty file: masks ${f.shadows.join(', ') || 'nothing'}`] });
      continue;
    }
    let d: FirmwareDescriptor;
    try {
      d = readDescriptor(f.path);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.push({ path: f.path, status: 'malformed', reasons: [e.message], error: e });
      continue;
    }
    const reasons = rejectionReasons(d, criteria, req);
    const status: ConsiderationStatus = reasons.length > 0 ? 'rejected' : chosen ? 'candidate' : 'selected';
    if (status === 'selected') chosen = true;
    out.push({ path: f.path, status, reasons, descriptor: d });
  }
  return out;
}

function describeCriteria(c: FirmwareCriteria, req: FeatureRequirements): string {
  const parts = [`${c.architecture ?? 'aarch64'} machine ${c.machine}`];
  if (req.require.length) parts.push(`requiring ${req.require.join(', ')}`);
  if (req.exclude.length) parts.push(`without ${req.exclude.join(', ')}`);
  if (c.modes) parts.push(`flash mode ${c.modes.join('/')}`);
  return parts.join(', ');
}

/**
 * The first descriptor that fits. UnsupportedError when none does, listing
 * every descriptor and why it was passed over; a malformed descriptor is
 * skipped with a warning unless it was the only one, then its ParseError.
 */
export function selectFirmware(criteria: FirmwareCriteria, opts: FirmwareSearchOptions = {}): SelectedFirmware {
  const dirs = opts.dirs ?? firmwareSearchDirs();
  const considered = considerFirmware(criteria, { dirs });
  const warnings = considered.filter((c) => c.status === 'malformed').map((c) => `skipped malformed firmware descriptor: ${c.reasons[0]}`);
  const hit = considered.find((c) => c.status === 'selected');
  if (hit?.descriptor && hit.descriptor.mapping.device === 'flash') {
    const d = hit.descriptor;
    const m = hit.descriptor.mapping as Extract<FirmwareDescriptor['mapping'], { device: 'flash' }>;
    return {
      descriptorPath: d.path,
      description: d.description,
      code: flashFile(m.executable),
      ...(m.nvramTemplate ? { varsTemplate: flashFile(m.nvramTemplate) } : {}),
      features: [...d.features],
      mode: m.mode,
      warnings,
    };
  }
  const real = considered.filter((c) => c.status !== 'masked');
  if (real.length === 1 && real[0]!.status === 'malformed' && real[0]!.error) throw real[0]!.error;
  const req = featureRequirements(criteria.features);
  const hint = 'install qemu-efi-aarch64 (its descriptors are in /usr/share/qemu/firmware), change --firmware-feature, or name the files: --firmware CODE --vars-template VARS';
  if (considered.length === 0) {
    throw new UnsupportedError(`no QEMU firmware descriptors found (searched ${dirs.join(', ')})`, hint);
  }
  const lines = considered.map((c) => `  ${c.path}: ${c.status}: ${c.reasons.join('; ')}`);
  throw new UnsupportedError(
    `no QEMU firmware descriptor fits ${describeCriteria(criteria, req)}; considered (searched ${dirs.join(', ')}):\n${lines.join('\n')}`,
    hint,
  );
}

export interface FindFirmwareOptions extends FirmwareSearchOptions {
  /** Machine type as the user gives it (default "virt"); resolved through QEMU. */
  machine?: string;
  features?: readonly string[];
  modes?: readonly FlashMode[];
  qemu?: string;
}

/** resolveMachineType + selectFirmware: what `vmspec boot` calls when no --firmware is given. */
export async function findFirmware(opts: FindFirmwareOptions = {}): Promise<SelectedFirmware & { machine: string }> {
  const machine = await resolveMachineType(opts.machine ?? 'virt', opts.qemu ?? findQemu());
  const sel = selectFirmware(
    { machine: machine.canonical, ...(opts.features ? { features: opts.features } : {}), ...(opts.modes ? { modes: opts.modes } : {}) },
    opts.dirs ? { dirs: opts.dirs } : {},
  );
  return { ...sel, machine: machine.canonical };
}
