/**
 * A shell-style glob as a whole-string, case-insensitive RegExp: `*` any run
 * of characters, `?` one character, everything else literal. Requirement ids
 * in selections and waivers, and systemd-boot's `default` in loader.conf
 * (loader.conf(5): "a glob pattern") are matched with it.
 */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}
