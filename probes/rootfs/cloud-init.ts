import { parse as parseYaml } from 'yaml';
import { FsError, type ReadOnlyFilesystem } from '../fs/filesystem.js';

/**
 * Is cloud-init installed in the image, and would it run at boot? That is
 * what `vmspec boot`'s automatic path needs (it hands the guest a NoCloud
 * seed). Installed: the cloud-init program, package files or the Python
 * package. Disabled (cloud-init docs, "How to disable cloud-init"): the file
 * /etc/cloud/cloud-init.disabled, `cloud-init=disabled` on the kernel
 * command line, or none of its systemd units enabled (or masked).
 */

export interface CloudInitUnit {
  name: string;
  /** Symlinks in *.wants/ directories that enable it. */
  wantedBy: string[];
  masked: boolean;
}

export interface CloudInitFacts {
  installed: boolean;
  /** Files that show it is installed. */
  evidence: string[];
  /** Package version from the dpkg or rpm-less status file, when found. */
  version: string | null;
  enabled: boolean;
  /** Why it would not run (empty when enabled, or not installed). */
  disabledBy: string[];
  units: CloudInitUnit[];
  /** datasource_list from /etc/cloud/cloud.cfg and cloud.cfg.d/*.cfg (the last wins), null when not set (the default list includes NoCloud). */
  datasources: string[] | null;
  /** NoCloud (the seed `vmspec boot` gives) is allowed by the datasource list. */
  noCloud: boolean;
}

const UNITS = [
  'cloud-init-local.service', 'cloud-init.service', 'cloud-config.service', 'cloud-final.service',
  'cloud-init-main.service', 'cloud-init-network.service', 'cloud-init.target',
];
const UNIT_DIRS = ['/etc/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FsError) return fallback;
    throw e;
  }
}

const text = (fs: ReadOnlyFilesystem, p: string, max = 1024 * 1024): string | null =>
  safe(() => new TextDecoder('utf-8', { fatal: false }).decode(fs.readFile(p, { maxBytes: max, truncate: true })), null);

function dpkgVersion(fs: ReadOnlyFilesystem, pkg: string): string | null {
  const status = text(fs, '/var/lib/dpkg/status', 64 * 1024 * 1024);
  if (!status) return null;
  for (const stanza of status.split(/\n\n+/)) {
    if (!new RegExp(`^Package: ${pkg}$`, 'm').test(stanza)) continue;
    if (!/^Status: .* installed$/m.test(stanza)) continue;
    return /^Version: (.+)$/m.exec(stanza)?.[1] ?? null;
  }
  return null;
}

export function cloudInitFacts(fs: ReadOnlyFilesystem, cmdline: string[] | null): CloudInitFacts {
  const exists = (p: string): boolean => safe(() => fs.exists(p), false);
  const evidence = [
    '/usr/bin/cloud-init', '/usr/local/bin/cloud-init', '/var/lib/dpkg/info/cloud-init.list',
    '/usr/lib/python3/dist-packages/cloudinit', '/etc/cloud/cloud.cfg',
  ].filter(exists);
  const version = dpkgVersion(fs, 'cloud-init');
  const installed = evidence.some((e) => e.endsWith('/cloud-init') || e.endsWith('cloud-init.list') || e.endsWith('/cloudinit'));
  const units: CloudInitUnit[] = [];
  for (const name of UNITS) {
    const defined = UNIT_DIRS.some((d) => exists(`${d}/${name}`));
    if (!defined) continue;
    const wantedBy: string[] = [];
    for (const d of UNIT_DIRS) {
      for (const entry of safe(() => fs.readdir(d), [])) {
        if (!entry.name.endsWith('.wants') && !entry.name.endsWith('.requires')) continue;
        const link = `${d}/${entry.name}/${name}`;
        if (safe(() => fs.lstat(link).type, null) !== null) wantedBy.push(link);
      }
    }
    const masked = safe(() => fs.readlink(`/etc/systemd/system/${name}`), '') === '/dev/null';
    units.push({ name, wantedBy, masked });
  }
  const disabledBy: string[] = [];
  if (installed) {
    if (exists('/etc/cloud/cloud-init.disabled')) disabledBy.push('/etc/cloud/cloud-init.disabled exists');
    if (cmdline?.some((a) => a === 'cloud-init=disabled')) disabledBy.push('the default kernel command line has cloud-init=disabled');
    const masked = units.filter((u) => u.masked).map((u) => u.name);
    if (masked.length) disabledBy.push(`masked: ${masked.join(', ')}`);
    if (!units.some((u) => u.wantedBy.length > 0 && !u.masked)) disabledBy.push('no cloud-init systemd unit is enabled (no *.wants link)');
  }
  // datasource_list: cloud.cfg, then cloud.cfg.d/*.cfg in lexical order, later files overriding.
  let datasources: string[] | null = null;
  const cfgs = ['/etc/cloud/cloud.cfg', ...safe(() => fs.readdir('/etc/cloud/cloud.cfg.d').map((e) => e.name).filter((n) => n.endsWith('.cfg')).sort().map((n) => `/etc/cloud/cloud.cfg.d/${n}`), [])];
  for (const c of cfgs) {
    const t = text(fs, c);
    if (!t) continue;
    try {
      const doc = parseYaml(t, { maxAliasCount: 100 }) as unknown;
      if (doc && typeof doc === 'object' && 'datasource_list' in doc) {
        const list = (doc as { datasource_list: unknown }).datasource_list;
        if (Array.isArray(list)) datasources = list.map(String);
        else if (typeof list === 'string') datasources = list.replace(/[[\]]/g, '').split(',').map((s) => s.trim()).filter(Boolean);
      }
    } catch {
      // A config cloud-init itself could not parse is ignored by it too (with a warning).
    }
  }
  return {
    installed,
    evidence,
    version,
    enabled: installed && disabledBy.length === 0,
    disabledBy,
    units,
    datasources,
    noCloud: datasources === null || datasources.some((d) => d.toLowerCase() === 'nocloud'),
  };
}
