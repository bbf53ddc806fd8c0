/**
 * What the kernel command line says about the root filesystem
 * (Documentation/admin-guide/kernel-parameters.txt): `root=` (the device),
 * `rootflags=` (its mount options, e.g. subvol=root for btrfs) and
 * `rootfstype=`. The last occurrence wins, as in the kernel's __setup
 * handlers.
 */

export interface RootArgs {
  root: string | null;
  /** rootflags= split at commas; [] when absent. */
  rootflags: string[];
  rootfstype: string | null;
}

export function rootArgs(args: readonly string[]): RootArgs {
  const out: RootArgs = { root: null, rootflags: [], rootfstype: null };
  for (const a of args) {
    if (a.startsWith('root=')) out.root = a.slice(5);
    else if (a.startsWith('rootflags=')) out.rootflags = a.slice(10).split(',').filter(Boolean);
    else if (a.startsWith('rootfstype=')) out.rootfstype = a.slice(11);
  }
  return out;
}
