/**
 * /etc/fstab as mount(8) reads it (fstab(5)): one mount per line, fields
 * separated by blanks — fs_spec, fs_file, fs_vfstype, fs_mntops, fs_freq,
 * fs_passno (the last three optional) — `#` starts a comment line, and
 * blanks inside a field are written as the octal escape `\040`.
 */

export interface FstabEntry {
  /** fs_spec: "UUID=…", "LABEL=…", "/dev/mapper/rhel-root"… */
  spec: string;
  /** fs_file: the mount point ("none" for swap). */
  file: string;
  /** fs_vfstype ("auto" when omitted). */
  vfstype: string;
  /** fs_mntops split at commas ("defaults" when omitted). */
  options: string[];
  /** 1-based line number. */
  line: number;
}

export interface Fstab {
  entries: FstabEntry[];
  /** Lines that are not mounts (fewer than two fields), as "line N: …". */
  problems: string[];
}

/** More lines than this are not read: a real fstab has tens. */
export const MAX_FSTAB_LINES = 2000;

/** fstab(5)'s octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseFstab(text: string): Fstab {
  const entries: FstabEntry[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < Math.min(lines.length, MAX_FSTAB_LINES); i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/[ \t]+/).map(unescape);
    if (fields.length < 2) {
      problems.push(`line ${i + 1}: "${line.slice(0, 80)}" has ${fields.length} field; a mount needs at least fs_spec and fs_file`);
      continue;
    }
    entries.push({
      spec: fields[0]!,
      file: fields[1]!,
      vfstype: fields[2] ?? 'auto',
      options: (fields[3] ?? 'defaults').split(',').filter(Boolean),
      line: i + 1,
    });
  }
  if (lines.length > MAX_FSTAB_LINES) problems.push(`only the first ${MAX_FSTAB_LINES} lines were read`);
  return { entries, problems };
}

/** The value of `name=` in a mount option list (the last one wins, as in the kernel's option parsing), or null. */
export function mountOption(options: string[], name: string): string | null {
  let value: string | null = null;
  for (const o of options) if (o.startsWith(`${name}=`)) value = o.slice(name.length + 1);
  return value;
}
