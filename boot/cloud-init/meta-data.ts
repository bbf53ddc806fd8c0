import { randomBytes } from 'node:crypto';
import { UnsupportedError } from '../../bytes/errors.js';

/**
 * NoCloud meta-data: the instance id and the hostname. cloud-init runs its
 * per-instance modules (runcmd, power_state) once per instance id, so every
 * boot gets a fresh one: a second boot of the same image (the persistence
 * check) must collect again.
 */

export const DEFAULT_HOSTNAME = 'vmspec-guest';

/** A fresh id: "vmspec-" and 16 random hex digits. */
export function newInstanceId(): string {
  return `vmspec-${randomBytes(8).toString('hex')}`;
}

/** Ids end up in a YAML scalar and in paths under /var/lib/cloud/instances/: keep them plain. */
export function checkInstanceId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(id)) {
    throw new UnsupportedError(
      `instance id ${JSON.stringify(id)} is not usable: give 1-63 characters A-Z a-z 0-9 . _ -, starting with a letter or digit (or leave it out for a fresh random one)`,
    );
  }
}

/** RFC 1123 host name: one label, as local-hostname sets /etc/hostname. */
export function checkHostname(name: string): void {
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name)) {
    throw new UnsupportedError(
      `hostname ${JSON.stringify(name)} is not usable: give one DNS label of 1-63 letters, digits and inner hyphens (default ${DEFAULT_HOSTNAME})`,
    );
  }
}

/** The meta-data file (YAML). Both values are checked, so they need no quoting. */
export function metaData(instanceId: string, hostname: string = DEFAULT_HOSTNAME): string {
  checkInstanceId(instanceId);
  checkHostname(hostname);
  return `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`;
}
