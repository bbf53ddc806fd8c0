import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UnsupportedError } from '../../bytes/errors.js';
import { packageRoot } from '../../package/paths.js';

/**
 * The #cloud-config user-data of the vmspec NoCloud seed.
 *
 * Module and timing: `runcmd`, not `bootcmd`. bootcmd runs inside
 * cloud-init.service, early in boot and on every boot: drivers udev loads
 * may still be loading and consoles registering, and powering off from
 * there aborts cloud-init mid-stage. runcmd runs from scripts-user in
 * cloud-final.service (After=multi-user.target), once per instance: the
 * guest is fully booted, so the evidence shows the running system an
 * auditor would see, and a fresh instance id per boot makes it run again.
 * power_state_change comes after scripts-user in the same stage and runs
 * whatever runcmd's exit status was, so it powers the VM off even when the
 * seed cannot be mounted or the runner dies; run.sh powers off itself too,
 * and keeps a watchdog, so a hung collector cannot keep the VM up.
 *
 * Nothing else: no users, keys, passwords or packages. (`users: []` would
 * also stop the distribution's default user, which has no password and no
 * key, but cloud-init's schema refuses an empty list, so it is left alone.)
 */

/** Where the guest mounts the seed (a tmpfs: nothing lands on the image). */
export const SEED_MOUNT_POINT = '/run/vmspec/seed';
/** mkfs.vfat stores labels upper case; cloud-init looks for cidata and CIDATA. */
export const SEED_LABEL = 'CIDATA';
/** power_state: seconds to wait for cloud-init to finish before powering off anyway. */
export const DEFAULT_POWER_STATE_TIMEOUT = 120;

export interface UserDataOptions {
  /** power_state timeout in seconds (1-3600; default 120). */
  powerStateTimeout?: number;
}

export function mountSeedScriptPath(): string {
  return join(packageRoot, 'boot', 'cloud-init', 'mount-seed.sh');
}

function checkSeconds(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UnsupportedError(`${name} ${String(value)} must be a whole number of seconds from 1 to ${max}`);
  }
}

/** Indent a shell script as the body of a YAML literal block. */
function literalBlock(script: string, indent: string): string {
  if (/[^\t\n\x20-\x7e]/.test(script)) throw new UnsupportedError('the runcmd script must be printable ASCII (it goes into a YAML literal block)');
  if (!/^\S/.test(script)) throw new UnsupportedError('the runcmd script must start at column 0 (YAML takes the block indentation from its first line)');
  return script
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => (l === '' ? '' : `${indent}${l.replace(/\s+$/, '')}`))
    .join('\n');
}

export function userData(opts: UserDataOptions = {}): string {
  const timeout = opts.powerStateTimeout ?? DEFAULT_POWER_STATE_TIMEOUT;
  checkSeconds('power_state timeout', timeout, 3600);
  const script = readFileSync(mountSeedScriptPath(), 'utf8');
  const text = [
    '#cloud-config',
    '# vmspec evidence collection (boot/cloud-init; docs/cloud-init.md).',
    '# runcmd, not bootcmd: it runs in cloud-final, after multi-user.target,',
    '# once per instance id, so the evidence shows the fully booted guest.',
    '# power_state runs after it whatever its exit status: the VM powers off',
    '# even when collection fails.',
    'runcmd:',
    '  - - sh',
    '    - -c',
    '    - |',
    literalBlock(script, '      '),
    'power_state:',
    '  mode: poweroff',
    '  delay: now',
    `  timeout: ${timeout}`,
    '  condition: true',
    '  message: vmspec evidence collection finished',
    '',
  ].join('\n');
  // The script must come back out of the YAML byte for byte: a template
  // slip here would otherwise surface only inside a booting guest.
  const parsed = parseYaml(text) as { runcmd?: unknown };
  const cmd = Array.isArray(parsed.runcmd) ? (parsed.runcmd[0] as unknown) : undefined;
  const expected = `${script.replace(/\n+$/, '').split('\n').map((l) => l.replace(/\s+$/, '')).join('\n')}\n`;
  if (!Array.isArray(cmd) || cmd[0] !== 'sh' || cmd[1] !== '-c' || cmd[2] !== expected) {
    throw new Error('internal: the runcmd script does not survive the YAML round trip (boot/cloud-init/user-data.ts)');
  }
  return text;
}
