/**
 * The part of GRUB 2's configuration language that decides what boots
 * (GRUB manual, "Shell-like scripting"): words with '…' / "…" quoting,
 * backslash escapes and $var / ${var} expansion (unquoted expansions split on
 * blanks), `;` and newlines, comments, if/elif/else/fi, menuentry/submenu/
 * function blocks, and the commands that pick files and devices (set,
 * search, configfile, source, normal, load_env, test/[, linux, initrd,
 * blscfg, boot). Menu entries are not run; their bodies are evaluated
 * statically to learn the kernel, initrd and arguments they would load.
 * Everything is bounded: nesting depth, statements, files followed.
 */

export interface Segment {
  text: string;
  /** A variable reference ($x or ${x}) rather than literal text. */
  variable: boolean;
  /** Inside "…" (no word splitting) or '…' (no expansion: `variable` is then false). */
  quoted: boolean;
}

export interface Word {
  segments: Segment[];
  /** Unquoted literal text of the whole word, for keywords and braces; null when quoted or expanded. */
  bare: string | null;
}

export type Node =
  | { kind: 'command'; words: Word[]; line: number }
  | { kind: 'if'; branches: { cond: Node[]; body: Node[] }[]; otherwise: Node[] | null; line: number }
  | { kind: 'menu'; submenu: boolean; args: Word[]; body: Node[]; line: number }
  | { kind: 'function'; name: string; body: Node[]; line: number }
  | { kind: 'loop'; line: number };

export class GrubSyntaxError extends Error {
  override readonly name = 'GrubSyntaxError';
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

type Token = { kind: 'word'; word: Word; line: number } | { kind: 'sep'; line: number };

const MAX_TOKENS = 200_000;
const MAX_DEPTH = 32;

/** Splits GRUB script text into words and separators. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    if (out.length > MAX_TOKENS) throw new GrubSyntaxError(line, `more than ${MAX_TOKENS} tokens`);
    const c = text[i]!;
    if (c === '\n' || c === ';') {
      out.push({ kind: 'sep', line });
      if (c === '\n') line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    // A word: runs of literal, quoted and variable segments until a blank or separator.
    const segments: Segment[] = [];
    let bare = '';
    let isBare = true;
    const lit = (s: string, quoted: boolean): void => {
      const last = segments[segments.length - 1];
      if (last && !last.variable && last.quoted === quoted) last.text += s;
      else segments.push({ text: s, variable: false, quoted });
    };
    const startLine = line;
    while (i < n) {
      const ch = text[i]!;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === ';') break;
      if (ch === '\\') {
        if (text[i + 1] === '\n') {
          i += 2;
          line++;
          continue;
        }
        if (i + 1 < n) lit(text[i + 1]!, false);
        isBare = false;
        i += 2;
        continue;
      }
      if (ch === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) throw new GrubSyntaxError(line, 'unterminated single quote');
        const s = text.slice(i + 1, end);
        line += s.split('\n').length - 1;
        // An empty '' still makes an (empty) argument.
        if (s === '') segments.push({ text: '', variable: false, quoted: true });
        else lit(s, true);
        isBare = false;
        i = end + 1;
        continue;
      }
      if (ch === '"') {
        i++;
        let closed = false;
        // An empty "" (or "$empty") still makes an argument.
        segments.push({ text: '', variable: false, quoted: true });
        while (i < n) {
          const d = text[i]!;
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          if (d === '\\' && i + 1 < n && '"$\\\n'.includes(text[i + 1]!)) {
            if (text[i + 1] !== '\n') lit(text[i + 1]!, true);
            else line++;
            i += 2;
            continue;
          }
          if (d === '$') {
            const v = readVariable(text, i);
            if (v) {
              segments.push({ text: v.name, variable: true, quoted: true });
              i = v.end;
              continue;
            }
          }
          if (d === '\n') line++;
          lit(d, true);
          i++;
        }
        if (!closed) throw new GrubSyntaxError(startLine, 'unterminated double quote');
        isBare = false;
        continue;
      }
      if (ch === '$') {
        const v = readVariable(text, i);
        if (v) {
          segments.push({ text: v.name, variable: true, quoted: false });
          isBare = false;
          i = v.end;
          continue;
        }
      }
      lit(ch, false);
      bare += ch;
      i++;
    }
    out.push({ kind: 'word', word: { segments, bare: isBare ? bare : null }, line: startLine });
  }
  return out;
}

function readVariable(text: string, i: number): { name: string; end: number } | null {
  if (text[i + 1] === '{') {
    const end = text.indexOf('}', i + 2);
    if (end < 0) return null;
    return { name: text.slice(i + 2, end), end: end + 1 };
  }
  const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]+|^[?#@*]/.exec(text.slice(i + 1, i + 65));
  return m ? { name: m[0], end: i + 1 + m[0].length } : null;
}

/** Parses a GRUB script into statements. Throws GrubSyntaxError. */
export function parseScript(text: string): Node[] {
  const tokens = tokenize(text);
  let pos = 0;
  const peekWord = (): Extract<Token, { kind: 'word' }> | null => {
    const t = tokens[pos];
    return t && t.kind === 'word' ? t : null;
  };
  const skipSeps = (): void => {
    while (tokens[pos]?.kind === 'sep') pos++;
  };
  const parseList = (terminators: string[], depth: number): { nodes: Node[]; end: string | null } => {
    if (depth > MAX_DEPTH) throw new GrubSyntaxError(tokens[pos]?.line ?? 0, `blocks nest deeper than ${MAX_DEPTH}`);
    const nodes: Node[] = [];
    for (;;) {
      skipSeps();
      const t = peekWord();
      if (!t) {
        if (pos >= tokens.length) return { nodes, end: null };
        pos++;
        continue;
      }
      const kw = t.word.bare;
      if (kw !== null && terminators.includes(kw)) {
        pos++;
        return { nodes, end: kw };
      }
      nodes.push(parseCommand(depth));
    }
  };
  const expectEnd = (r: { end: string | null }, want: string, what: string, line: number): void => {
    if (r.end !== want) throw new GrubSyntaxError(line, `${what} is missing its "${want}"`);
  };
  const parseCommand = (depth: number): Node => {
    const first = peekWord()!;
    const kw = first.word.bare;
    const line = first.line;
    if (kw === 'if') {
      pos++;
      const branches: { cond: Node[]; body: Node[] }[] = [];
      let otherwise: Node[] | null = null;
      for (;;) {
        const cond = parseList(['then'], depth + 1);
        expectEnd(cond, 'then', '"if"', line);
        const body = parseList(['elif', 'else', 'fi'], depth + 1);
        branches.push({ cond: cond.nodes, body: body.nodes });
        if (body.end === 'elif') continue;
        if (body.end === 'else') {
          const e = parseList(['fi'], depth + 1);
          expectEnd(e, 'fi', '"else"', line);
          otherwise = e.nodes;
        } else expectEnd(body, 'fi', '"if"', line);
        break;
      }
      return { kind: 'if', branches, otherwise, line };
    }
    if (kw === 'menuentry' || kw === 'submenu' || kw === 'function') {
      pos++;
      const args: Word[] = [];
      for (;;) {
        const t = tokens[pos];
        if (!t) throw new GrubSyntaxError(line, `${kw} has no "{" block`);
        pos++;
        // Arguments may continue on the next line only through a backslash (handled by the tokenizer); a
        // newline before the "{" is tolerated, as GRUB does.
        if (t.kind === 'sep') continue;
        if (t.word.bare === '{') break;
        args.push(t.word);
      }
      const body = parseList(['}'], depth + 1);
      expectEnd(body, '}', kw, line);
      if (kw === 'function') return { kind: 'function', name: args[0]?.bare ?? '', body: body.nodes, line };
      return { kind: 'menu', submenu: kw === 'submenu', args, body: body.nodes, line };
    }
    if (kw === 'while' || kw === 'until' || kw === 'for') {
      pos++;
      const r = parseList(['done'], depth + 1);
      expectEnd(r, 'done', kw, line);
      return { kind: 'loop', line };
    }
    const words: Word[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (t.kind === 'sep') break;
      // A closing brace ends the command (e.g. "boot }" is unusual but "{ ... }" blocks end at a bare "}").
      if (t.word.bare === '}' && words.length > 0) break;
      words.push(t.word);
      pos++;
    }
    return { kind: 'command', words, line };
  };
  const r = parseList([], 0);
  return r.nodes;
}

/** Expands a word with the given variables: one or more fields (unquoted expansions split on blanks). */
export function expandWord(w: Word, vars: ReadonlyMap<string, string>): string[] {
  const fields: string[] = [];
  let cur = '';
  let has = false;
  for (const s of w.segments) {
    if (!s.variable) {
      cur += s.text;
      has = true;
      continue;
    }
    const v = vars.get(s.text) ?? '';
    if (s.quoted) {
      cur += v;
      has = true;
      continue;
    }
    const parts = v.split(/[ \t\n]+/);
    parts.forEach((p, idx) => {
      if (idx > 0) {
        if (has || cur !== '') fields.push(cur);
        cur = '';
        has = false;
      }
      if (p !== '') {
        cur += p;
        has = true;
      }
    });
  }
  if (has || cur !== '') fields.push(cur);
  return fields;
}

export function expandWords(ws: Word[], vars: ReadonlyMap<string, string>): string[] {
  return ws.flatMap((w) => expandWord(w, vars));
}
