import { readFileSync, statSync } from 'node:fs';
import { validator } from '../requirements/schemas.js';
import { YAML_LIMITS, type YamlIssue } from '../requirements/yaml-document.js';
import { parseValidatedYaml } from '../requirements/yaml-validated.js';
import { LavaJobError, MatrixError } from './errors.js';
import type { DiskFormat } from '../probes/image/disk-format.js';
import { checkSha256, compressionOf, formatOf, workerUrl, type Compression } from './sources.js';

/** A downloadable file, as LAVA's deploy action takes it. */
export interface Artifact {
  url: string;
  sha256?: string;
}

/** How evidence leaves the guest: a LAVA test shell runs collect.sh, or the image prints the framed bundle itself. */
export type Collection = 'shell' | 'console';

export interface ImageAxis extends Artifact {
  name: string;
  format: DiskFormat;
  compression?: Compression;
  /** Absent: shell. */
  collects?: Collection;
}

export interface FirmwareAxis {
  name: string;
  code: Artifact;
  vars: Artifact;
}

export interface HypervisorAxis {
  name: string;
  /** QEMU from a container image (LAVA boot `docker`); absent: the worker's own QEMU. */
  docker?: { image: string; binary?: string; local?: boolean };
  /** LAVA device tags the job requires. */
  tags?: string[];
}

export type GicVersion = 2 | 3;

/** The axes of a test matrix (schema/lava-matrix.schema.json), sources resolved. */
export interface Matrix {
  images: ImageAxis[];
  firmware: FirmwareAxis[];
  gic: GicVersion[];
  acpi: boolean[];
  hypervisors: HypervisorAxis[];
}

/** One point of the matrix: what one LAVA job boots. */
export interface MatrixCell {
  image: ImageAxis;
  firmware: FirmwareAxis;
  gic: GicVersion;
  acpi: boolean;
  hypervisor: HypervisorAxis;
}

/** The hypervisor used when none is named: the worker's qemu-system-aarch64. */
export const WORKER_QEMU: HypervisorAxis = { name: 'worker' };

/** Jobs beyond this are refused: a typo in a matrix should not queue thousands of jobs. */
export const MAX_JOBS = 1000;

/** Every combination, images outermost, in the order the file lists them. */
export function expandMatrix(m: Matrix): MatrixCell[] {
  const count = m.images.length * m.firmware.length * m.gic.length * m.acpi.length * m.hypervisors.length;
  if (count > MAX_JOBS) throw new LavaJobError(`the matrix expands to ${count} jobs, over the limit of ${MAX_JOBS}; split it into several files`);
  const cells: MatrixCell[] = [];
  for (const image of m.images)
    for (const firmware of m.firmware)
      for (const gic of m.gic)
        for (const acpi of m.acpi)
          for (const hypervisor of m.hypervisors) cells.push({ image, firmware, gic, acpi, hypervisor });
  return cells;
}

interface RawArtifact { url: string; sha256?: string }
interface RawMatrix {
  images: { name: string; url: string; sha256?: string; format?: DiskFormat; compression?: Compression; collects?: Collection }[];
  firmware: { name: string; code: RawArtifact; vars: RawArtifact }[];
  gic?: GicVersion[];
  acpi?: boolean[];
  hypervisors?: HypervisorAxis[];
}

/** Parse and validate a matrix file's text. Throws MatrixError listing every problem with its line. */
export function parseMatrix(text: string, file: string): Matrix {
  const checked = parseValidatedYaml(text, file, { validate: validator('lava-matrix'), whenEmpty: 'expected a mapping with "images" and "firmware" lists' });
  if (!checked.ok) throw new MatrixError(checked.issues);
  const { parsed } = checked;
  const raw = parsed.value as RawMatrix;
  const issues: YamlIssue[] = [];
  // What a schema cannot say: resolvable URLs, unique names per axis.
  const at = (path: (string | number)[], message: string) => issues.push({ file, ...parsed.locate(path), message });
  const url = (value: string, path: (string | number)[]): string => {
    try {
      return workerUrl(value, path.join('.'));
    } catch (e) {
      at(path, (e as Error).message);
      return value;
    }
  };
  const artifact = (a: RawArtifact, path: (string | number)[]): Artifact => ({
    url: url(a.url, [...path, 'url']),
    ...(a.sha256 ? { sha256: checkSha256(a.sha256, [...path, 'sha256'].join('.')) } : {}),
  });
  const unique = (axis: string, names: string[]) => {
    const seen = new Map<string, number>();
    names.forEach((n, i) => {
      const key = n.toLowerCase();
      if (seen.has(key)) at([axis, i, 'name'], `${axis}.${i}.name: "${n}" is already used by ${axis}.${seen.get(key)} (names label jobs and report columns, so they must differ, ignoring case)`);
      else seen.set(key, i);
    });
  };
  const images = raw.images.map((img, i): ImageAxis => {
    const u = url(img.url, ['images', i, 'url']);
    const compression = img.compression ?? safe(() => compressionOf(u));
    return {
      name: img.name,
      url: u,
      format: img.format ?? safe(() => formatOf(u)) ?? 'raw',
      ...(compression ? { compression } : {}),
      ...(img.sha256 ? { sha256: img.sha256.toLowerCase() } : {}),
      ...(img.collects === 'console' ? { collects: 'console' as const } : {}),
    };
  });
  const firmware = raw.firmware.map((fw, i): FirmwareAxis => ({ name: fw.name, code: artifact(fw.code, ['firmware', i, 'code']), vars: artifact(fw.vars, ['firmware', i, 'vars']) }));
  const hypervisors = raw.hypervisors ?? [WORKER_QEMU];
  unique('images', images.map((x) => x.name));
  unique('firmware', firmware.map((x) => x.name));
  unique('hypervisors', hypervisors.map((x) => x.name));
  if (issues.length) throw new MatrixError(issues);
  return { images, firmware, gic: raw.gic ?? [3], acpi: raw.acpi ?? [true], hypervisors };
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** Read a matrix file (capped like every other YAML input). */
export function loadMatrix(path: string): Matrix {
  const st = statSync(path);
  if (!st.isFile()) throw new LavaJobError(`--matrix ${path} is not a file`);
  if (st.size > YAML_LIMITS.maxBytes) throw new LavaJobError(`--matrix ${path} is larger than ${YAML_LIMITS.maxBytes} bytes; split it`);
  return parseMatrix(readFileSync(path, 'utf8'), path);
}
