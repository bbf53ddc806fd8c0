/**
 * fnmatch(3)-style matching of FirmwareTarget.machines globs ("virt-*")
 * against a machine type, without FNM_PATHNAME or FNM_PERIOD: `*` any run,
 * `?` one character, `[...]`/`[!...]` a set with ranges, `\` escapes.
 * (libvirt uses glib's g_pattern_match_simple, which knows only * and ?;
 * descriptors in the wild use only those.) Iterative, no backtracking
 * blow-up: O(pattern x text).
 */

type Token = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; c: string } | { kind: 'set'; negate: boolean; items: [string, string][] };

function tokenize(glob: string): Token[] {
  const out: Token[] = [];
  const chars = [...glob];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') {
      if (out[out.length - 1]?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === '?') {
      out.push({ kind: 'any' });
    } else if (c === '\\' && i + 1 < chars.length) {
      out.push({ kind: 'char', c: chars[++i]! });
    } else if (c === '[') {
      let j = i + 1;
      const negate = chars[j] === '!' || chars[j] === '^';
      if (negate) j++;
      const items: [string, string][] = [];
      let first = true;
      while (j < chars.length && (chars[j] !== ']' || first)) {
        const lo = chars[j]!;
        if (chars[j + 1] === '-' && j + 2 < chars.length && chars[j + 2] !== ']') {
          items.push([lo, chars[j + 2]!]);
          j += 3;
        } else {
          items.push([lo, lo]);
          j++;
        }
        first = false;
      }
      if (j >= chars.length) {
        out.push({ kind: 'char', c }); // unterminated: a literal '['
      } else {
        out.push({ kind: 'set', negate, items });
        i = j;
      }
    } else {
      out.push({ kind: 'char', c });
    }
  }
  return out;
}

function matchOne(t: Token, c: string): boolean {
  switch (t.kind) {
    case 'any':
      return true;
    case 'char':
      return t.c === c;
    case 'set': {
      const inSet = t.items.some(([lo, hi]) => c >= lo && c <= hi);
      return inSet !== t.negate;
    }
    case 'star':
      return false;
  }
}

/** Does `text` match the whole of `glob`? */
export function globMatch(glob: string, text: string): boolean {
  const p = tokenize(glob);
  const s = [...text];
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const tok = p[pi];
    if (tok !== undefined && tok.kind !== 'star' && matchOne(tok, s[si]!)) {
      pi++;
      si++;
    } else if (tok?.kind === 'star') {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (p[pi]?.kind === 'star') pi++;
  return pi === p.length;
}
