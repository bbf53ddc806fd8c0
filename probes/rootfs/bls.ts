/**
 * Boot Loader Specification type #1 entries (uapi-group.org BLS:
 * /loader/entries/*.conf): "key value" lines; `initrd` and `options` may
 * repeat. Used by systemd-boot (on the ESP) and by Fedora/RHEL GRUB's
 * blscfg (/boot/loader/entries).
 */
export interface BlsEntry {
  title: string | null;
  version: string | null;
  linux: string | null;
  initrd: string[];
  options: string[];
  efi: string | null;
  sortKey: string | null;
}

export function parseBlsEntry(text: string): BlsEntry {
  const e: BlsEntry = { title: null, version: null, linux: null, initrd: [], options: [], efi: null, sortKey: null };
  for (const raw of text.split('\n').slice(0, 1000)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    switch (key) {
      case 'title': e.title = value; break;
      case 'version': e.version = value; break;
      case 'linux': e.linux = value; break;
      case 'initrd': e.initrd.push(...value.split(/\s+/).filter(Boolean)); break;
      case 'options': e.options.push(value); break;
      case 'efi': e.efi = value; break;
      case 'sort-key': e.sortKey = value; break;
      default: break;
    }
  }
  return e;
}

/** systemd-boot's loader.conf: `default` (a glob over entry ids), `timeout`. */
export function parseLoaderConf(text: string): { default: string | null } {
  let def: string | null = null;
  for (const raw of text.split('\n').slice(0, 1000)) {
    const m = /^\s*default\s+(\S+)/.exec(raw);
    if (m) def = m[1]!;
  }
  return { default: def };
}
