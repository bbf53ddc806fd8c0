import { readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where firmware descriptors live and which of them count, as QEMU's
 * docs/interop/firmware.json prescribes and libvirt implements
 * (src/qemu/qemu_interop_config.c): the same file name in a more specific
 * directory replaces the one below it, an empty file there masks it, and
 * the survivors are taken in file-name order across all directories.
 */

/** Most entries read from one directory. */
export const MAX_DESCRIPTOR_FILES = 1000;

/** Most specific first: $XDG_CONFIG_HOME/qemu/firmware (default ~/.config), /etc/qemu/firmware, /usr/share/qemu/firmware. */
export function firmwareSearchDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const xdg = env.XDG_CONFIG_HOME;
  const config = xdg && xdg.startsWith('/') ? xdg : join(env.HOME ?? homedir(), '.config');
  return [join(config, 'qemu', 'firmware'), '/etc/qemu/firmware', '/usr/share/qemu/firmware'];
}

export interface DescriptorFile {
  /** The file name: what sorting and overriding go by. */
  name: string;
  /** The path that takes effect. */
  path: string;
  /** Paths of the same name in less specific directories, replaced or masked by `path`. */
  shadows: string[];
  /** An empty file: it masks `shadows` and is not a descriptor itself. */
  masked: boolean;
}

/**
 * Every descriptor name across `dirs` (most specific first), sorted by
 * name, with the path that takes effect. Hidden files and anything that is
 * not a regular file (after symlinks) are skipped, as libvirt does; a
 * directory that does not exist or cannot be read counts as empty.
 */
export function listDescriptorFiles(dirs: readonly string[]): DescriptorFile[] {
  const byName = new Map<string, { path: string; size: number; shadows: string[] }>();
  // Least specific first, so a more specific file replaces what is there.
  for (const dir of [...dirs].reverse()) {
    let names: string[];
    try {
      names = readdirSync(dir).slice(0, MAX_DESCRIPTOR_FILES);
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      let size: number;
      try {
        const st = statSync(path);
        if (!st.isFile()) continue;
        size = st.size;
      } catch {
        continue; // a dangling symlink
      }
      const prev = byName.get(name);
      byName.set(name, { path, size, shadows: prev ? [prev.path, ...prev.shadows] : [] });
    }
  }
  // strcmp() order for ASCII names, as libvirt sorts (virHashGetItems(..., true)).
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, f]) => ({ name, path: f.path, shadows: f.shadows, masked: f.size === 0 }));
}
