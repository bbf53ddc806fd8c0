import { ParseError } from '../../bytes/errors.js';
import type { FlashMode } from './types.js';

/**
 * One QEMU firmware descriptor (QEMU docs/interop/firmware.json, @Firmware),
 * checked against that schema as far as selection depends on it. Unknown
 * members are ignored (newer QEMUs add some); wrong types are errors.
 */

export const DESCRIPTOR_STRUCTURE = 'QEMU firmware descriptor';
/** Descriptors are a few hundred bytes; anything this large is not one. */
export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;

/** FirmwareFlashFile: filename and BlockdevDriver format, as written. */
export interface DescriptorFlashFile {
  filename: string;
  format: string;
}

export type DescriptorMapping =
  /** FirmwareMappingFlash. nvram-template is required in split mode, absent otherwise. */
  | { device: 'flash'; mode: FlashMode; executable: DescriptorFlashFile; nvramTemplate?: DescriptorFlashFile }
  /** FirmwareMappingKernel / FirmwareMappingMemory: not pflash firmware. */
  | { device: 'kernel' | 'memory'; filename: string };

/** FirmwareTarget. */
export interface DescriptorTarget {
  architecture: string;
  machines: string[];
}

export interface FirmwareDescriptor {
  path: string;
  description: string;
  /** interface-types: FirmwareOSInterface values (bios, openfirmware, uboot, uefi). */
  interfaceTypes: string[];
  mapping: DescriptorMapping;
  targets: DescriptorTarget[];
  /** FirmwareFeature values, as listed. */
  features: string[];
  tags: string[];
}

type Obj = Record<string, unknown>;

function fail(path: string, why: string, offset = -1): never {
  throw new ParseError(DESCRIPTOR_STRUCTURE, offset, `${path}: ${why}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, where: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(path, `${where}"${key}" must be a string${v === undefined ? ' (it is missing)' : ''}`);
  return v;
}

function strList(o: Obj, key: string, where: string, path: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(path, `${where}"${key}" must be an array of strings${v === undefined ? ' (it is missing)' : ''}`);
  return v as string[];
}

function flashFile(o: Obj, key: string, path: string): DescriptorFlashFile {
  const v = o[key];
  if (!isObj(v)) fail(path, `mapping."${key}" must be an object with "filename" and "format"${v === undefined ? ' (it is missing)' : ''}`);
  return { filename: str(v, 'filename', `mapping.${key}.`, path), format: str(v, 'format', `mapping.${key}.`, path) };
}

/** Parse a descriptor's text; ParseError names the file, the member and what is wrong. */
export function parseDescriptor(text: string, path: string): FirmwareDescriptor {
  if (text.length > MAX_DESCRIPTOR_BYTES) fail(path, `${text.length} bytes is larger than the ${MAX_DESCRIPTOR_BYTES}-byte cap for a descriptor`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    fail(path, `not valid JSON: ${msg}`, at ? Number(at[1]) : -1);
  }
  if (!isObj(doc)) fail(path, 'the top level must be a JSON object (@Firmware)');

  const interfaceTypes = strList(doc, 'interface-types', '', path);
  if (interfaceTypes.length === 0) fail(path, '"interface-types" must not be empty');

  const m = doc.mapping;
  if (!isObj(m)) fail(path, `"mapping" must be an object${m === undefined ? ' (it is missing)' : ''}`);
  const device = str(m, 'device', 'mapping.', path);
  let mapping: DescriptorMapping;
  if (device === 'flash') {
    const modeRaw = m.mode ?? 'split';
    if (modeRaw !== 'split' && modeRaw !== 'combined' && modeRaw !== 'stateless') fail(path, `mapping.mode ${JSON.stringify(modeRaw)} is not split, combined or stateless`);
    const executable = flashFile(m, 'executable', path);
    if (modeRaw === 'split') {
      mapping = { device, mode: modeRaw, executable, nvramTemplate: flashFile(m, 'nvram-template', path) };
    } else {
      mapping = { device, mode: modeRaw, executable };
    }
  } else if (device === 'kernel' || device === 'memory') {
    mapping = { device, filename: str(m, 'filename', 'mapping.', path) };
  } else {
    fail(path, `mapping.device ${JSON.stringify(device)} is not flash, kernel or memory`);
  }

  const t = doc.targets;
  if (!Array.isArray(t)) fail(path, `"targets" must be an array${t === undefined ? ' (it is missing)' : ''}`);
  const targets = t.map((x, i): DescriptorTarget => {
    if (!isObj(x)) fail(path, `targets[${i}] must be an object`);
    return { architecture: str(x, 'architecture', `targets[${i}].`, path), machines: strList(x, 'machines', `targets[${i}].`, path) };
  });

  const features = strList(doc, 'features', '', path);
  const description = typeof doc.description === 'string' ? doc.description : '';
  const tags = Array.isArray(doc.tags) ? doc.tags.filter((x): x is string => typeof x === 'string') : [];
  return { path, description, interfaceTypes, mapping, targets, features, tags };
}
