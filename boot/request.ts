import { UnsupportedError } from '../bytes/errors.js';
import type { VarsFileFacts } from '../probes/host/facts.js';
import type { BootEnvironment, BootImage, GuestAgent } from './types.js';

/** What a user asks `vmspec boot` for: the image, firmware and VM options, as typed (the CLI parses the numbers). */
export interface BootRequest {
  reference?: string;
  sha256?: string;
  sha512?: string;
  sums?: string;
  allowUnverified?: boolean;
  firmware?: string;
  varsTemplate?: string;
  firmwareFeature?: string[];
  gic: '2' | '3' | 'both';
  /** undefined: the default, ACPI on. */
  acpi?: boolean;
  persistentVars: boolean;
  cloudInit: 'auto' | 'on' | 'off';
  hypervisor: 'qemu' | 'xen';
  dryRun?: boolean;
  qemu?: string;
  qemuArg?: string[];
  memory: string;
  cpus: string;
  timeout: string;
  accel: 'auto' | 'kvm' | 'tcg';
  force?: boolean;
  backing: 'follow' | 'refuse';
  keep?: boolean;
  workDir?: string;
  cacheDir?: string;
}

/** The pieces other modules provide (image obtaining, firmware selection, varstore, cloud-init seed, xl config). */
export interface BootParts {
  resolveImage(image: string | undefined, o: BootRequest, onProgress: (m: string) => void, signal: AbortSignal): Promise<BootImage & { cloudInit: boolean | null }>;
  resolveFirmware(o: BootRequest, qemu: string): Promise<BootEnvironment['firmware']>;
  varsFileFacts(varsPath: string, nonce: string): VarsFileFacts;
  cloudInitAgent(): GuestAgent;
  xlConfig(image: BootImage, o: BootRequest): string;
}

/** cloud-init for images that have it; the built-in reference runs the collector from its own /init. */
export function wantsCloudInit(mode: BootRequest['cloudInit'], image: { cloudInit: boolean | null; source: string }): boolean {
  if (mode === 'on') return true;
  if (mode === 'off') return false;
  if (image.cloudInit === null) {
    throw new UnsupportedError(
      `cannot tell how to run the evidence collector in ${image.source}: it is not the built-in reference and no cloud-init was found in its root filesystem`,
      'use --cloud-init on if it has cloud-init (NoCloud), or run probes/guest/collect.sh in the guest yourself and use `vmspec verify --evidence`',
    );
  }
  return image.cloudInit;
}
