import { compareVersions } from './kernels.js';
import { expandWord, expandWords, GrubSyntaxError, parseScript, type Node, type Word } from './grub-script.js';
import { parseBlsEntry, type BlsEntry } from './bls.js';

/**
 * A static evaluation of GRUB configuration: runs the top-level script
 * (variables, search, configfile/source, load_env, if) over the image's
 * volumes, records the menu, and evaluates the default entry's body to
 * find the kernel, initrd and command line it would boot. Nothing outside
 * the image is consulted (no NVRAM, no hardware), which is exactly the
 * "no pre-configured environment" view FW-6 asks about.
 */

/** A volume GRUB can see: a partition, or the memdisk inside the GRUB image. */
export interface GrubVolume {
  /** GRUB device name without parentheses: "hd0,gpt2", "memdisk". */
  name: string;
  /** Partition number, or null (memdisk). */
  partition: number | null;
  /** As `search --fs-uuid` compares: ext UUID (lower case, dashed) or FAT serial "ABCD-1234". */
  uuid: string | null;
  label: string | null;
  /** 'file' | 'dir' | null (absent or unreadable). */
  kind(path: string): 'file' | 'dir' | null;
  size(path: string): number | null;
  /** A file's bytes (at most max), or null when absent. */
  read(path: string, max: number): Uint8Array | null;
  /** `length` bytes of a file from `offset` (a section of a big file), or null when absent or out of its bounds. */
  readAt(path: string, offset: number, length: number): Uint8Array | null;
  /** Names in a directory, or null. */
  list(path: string): string[] | null;
}

export interface GrubWorld {
  volumes: GrubVolume[];
}

export interface BootFile {
  /** The path as the config names it, expanded ("/boot/vmlinuz-6.1.0-50-arm64"). */
  path: string;
  /** GRUB device it is read from ("hd0,gpt2"), or null when unknown. */
  device: string | null;
  partition: number | null;
  exists: boolean;
}

export interface BootSpec {
  linux: (BootFile & { args: string[] }) | null;
  initrds: BootFile[];
  /** `chainloader` target, when the entry chains to another EFI binary. */
  chainloader: BootFile | null;
}

export interface MenuEntry {
  title: string;
  id: string | null;
  /** GRUB's menu path: "0", "1>2". */
  path: string;
  submenu: boolean;
  children: MenuEntry[];
  /** Source file and line. */
  source: string;
  boot: BootSpec | null;
}

export interface GrubEvaluation {
  /** Configuration files read, in order, as "(device)/path". */
  files: string[];
  /** Top-level menu (submenus hold children). */
  menu: MenuEntry[];
  /** The `default` variable as left by the script (after load_env), or null. */
  defaultSpec: string | null;
  /** The entry that boots by default (a submenu resolves to its first entry), or null for an empty menu. */
  defaultEntry: MenuEntry | null;
  /** The default named no entry, so GRUB falls back to the first. */
  defaultFellBack: boolean;
  /** Top-level `linux` + `boot` outside any menu entry (grub-mkstandalone style configs). */
  direct: BootSpec | null;
  problems: string[];
  /** Variables at the end (root, prefix, cmdpath, default, ...). */
  vars: Record<string, string>;
}

const MAX_FILES = 16;
const MAX_STATEMENTS = 100_000;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES = 2000;

interface Ctx {
  vars: Map<string, string>;
  menu: MenuEntry[];
  currentFile: string;
  pending: { linux: (BootFile & { args: string[] }) | null; initrds: BootFile[] };
  direct: BootSpec | null;
}

type Flow = 'go' | 'stop';

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class GrubEvaluator {
  readonly files: string[] = [];
  readonly problems: string[] = [];
  #statements = 0;
  #blsAdded = false;

  constructor(readonly world: GrubWorld) {}

  volume(name: string): GrubVolume | null {
    const n = name.replace(/^\(|\)$/g, '');
    if (n === 'memdisk') return this.world.volumes.find((v) => v.name === 'memdisk') ?? null;
    // An LVM logical volume: lvm/VG-LV, by name.
    if (n.startsWith('lvm/')) return this.world.volumes.find((v) => v.name === n) ?? null;
    // hd0,gpt2 / hd0,msdos2 / hd0,2 (single-disk images: the disk number is not checked).
    const m = /^(?:hd|ahci|virtio|scsi|nvme)\d+,(?:gpt|msdos)?(\d+)$/.exec(n);
    if (!m) return null;
    const p = Number(m[1]);
    return this.world.volumes.find((v) => v.partition === p && !v.name.startsWith('lvm/')) ?? null;
  }

  /** "(dev)/path" or "/path" (on $root) → volume and path. */
  resolve(path: string, vars: ReadonlyMap<string, string>): { volume: GrubVolume | null; device: string | null; path: string } {
    const m = /^\(([^)]*)\)(.*)$/.exec(path);
    const device = m ? m[1]! : vars.get('root') ?? null;
    const rest = m ? m[2]! : path;
    const p = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
    return { volume: device ? this.volume(device) : null, device, path: p.replace(/\/+/g, '/') };
  }

  #file(path: string, vars: ReadonlyMap<string, string>): BootFile {
    const r = this.resolve(path, vars);
    return { path: r.path, device: r.volume?.name ?? r.device, partition: r.volume?.partition ?? null, exists: r.volume?.kind(r.path) === 'file' };
  }

  /**
   * Runs a configuration file the way `configfile` / `normal` does: a fresh
   * menu; variables shared. Returns the evaluation.
   */
  run(configPath: string, vars: Map<string, string>): GrubEvaluation {
    const ctx: Ctx = { vars, menu: [], currentFile: configPath, pending: { linux: null, initrds: [] }, direct: null };
    this.#configfile(configPath, ctx, 'configfile');
    return this.#finish(ctx);
  }

  /** Runs script text (an embedded config) then, unless it hands over, `normal`'s $prefix/grub.cfg. */
  runEmbedded(text: string, name: string, vars: Map<string, string>): GrubEvaluation {
    const ctx: Ctx = { vars, menu: [], currentFile: name, pending: { linux: null, initrds: [] }, direct: null };
    this.files.push(name);
    const flow = this.#evalText(text, name, ctx);
    if (flow === 'go' && ctx.menu.length === 0 && !ctx.direct) {
      // GRUB's kernel runs `normal` after the embedded config: $prefix/grub.cfg.
      const prefix = vars.get('prefix');
      if (prefix) this.#configfile(`${prefix}/grub.cfg`, ctx, 'normal');
    }
    return this.#finish(ctx);
  }

  #finish(ctx: Ctx): GrubEvaluation {
    const defaultSpec = ctx.vars.get('default') ?? null;
    const { entry, fellBack } = pickDefault(ctx.menu, defaultSpec);
    if (entry && !entry.boot) entry.boot = this.#entryBoot(entry, ctx);
    const vars: Record<string, string> = {};
    for (const k of ['root', 'prefix', 'cmdpath', 'default', 'saved_entry', 'next_entry', 'timeout']) {
      const v = ctx.vars.get(k);
      if (v !== undefined) vars[k] = v;
    }
    return { files: [...this.files], menu: ctx.menu, defaultSpec, defaultEntry: entry, defaultFellBack: fellBack, direct: ctx.direct, problems: [...this.problems], vars };
  }

  #bodies = new WeakMap<MenuEntry, Node[]>();

  /**
   * Evaluates an entry's body for what it loads; nothing is booted. Like
   * GRUB, the body runs with the variables as the whole configuration left
   * them (a copy: the entry's own `set root=...` stays inside it).
   */
  #entryBoot(entry: MenuEntry, ctx: Ctx): BootSpec {
    const body = this.#bodies.get(entry);
    if (!body) return { linux: null, initrds: [], chainloader: null };
    const sub: Ctx = { vars: new Map(ctx.vars), menu: [], currentFile: entry.source, pending: { linux: null, initrds: [] }, direct: null };
    const spec: BootSpec = { linux: null, initrds: [], chainloader: null };
    this.#evalNodes(body, sub, 1, spec);
    return spec;
  }

  #configfile(path: string, ctx: Ctx, how: string): Flow {
    const r = this.resolve(path, ctx.vars);
    const shown = `(${r.device ?? '?'})${r.path}`;
    if (this.files.length >= MAX_FILES) {
      this.problems.push(`${how} ${shown}: more than ${MAX_FILES} configuration files (a loop?)`);
      return 'stop';
    }
    const bytes = r.volume?.read(r.path, MAX_CONFIG_BYTES) ?? null;
    if (!bytes) {
      this.problems.push(`${how} ${shown}: ${r.volume ? 'no such file' : `device ${r.device ?? '(none)'} is not on this disk or not readable`}`);
      return 'go';
    }
    this.files.push(shown);
    const prevFile = ctx.currentFile;
    ctx.currentFile = shown;
    const flow = this.#evalText(utf8.decode(bytes), shown, ctx);
    ctx.currentFile = prevFile;
    return flow;
  }

  #evalText(text: string, name: string, ctx: Ctx): Flow {
    let nodes: Node[];
    try {
      nodes = parseScript(text);
    } catch (e) {
      if (e instanceof GrubSyntaxError) {
        this.problems.push(`${name}: ${e.message}`);
        return 'go';
      }
      throw e;
    }
    return this.#evalNodes(nodes, ctx, 0, null);
  }

  /** Evaluates statements. `spec` set: inside a menu entry (collect linux/initrd, do not recurse into menus). */
  #evalNodes(nodes: Node[], ctx: Ctx, depth: number, spec: BootSpec | null): Flow {
    for (const node of nodes) {
      if (++this.#statements > MAX_STATEMENTS) {
        this.problems.push(`more than ${MAX_STATEMENTS} statements evaluated`);
        return 'stop';
      }
      if (node.kind === 'if') {
        let ran = false;
        for (const b of node.branches) {
          if (this.#condition(b.cond, ctx, depth)) {
            if (this.#evalNodes(b.body, ctx, depth + 1, spec) === 'stop') return 'stop';
            ran = true;
            break;
          }
        }
        if (!ran && node.otherwise && this.#evalNodes(node.otherwise, ctx, depth + 1, spec) === 'stop') return 'stop';
        continue;
      }
      if (node.kind === 'menu') {
        if (spec) continue;
        this.#defineMenu(node, ctx, ctx.menu, '', depth);
        continue;
      }
      if (node.kind === 'function' || node.kind === 'loop') continue;
      const flow = this.#command(node.words, ctx, spec).flow;
      if (flow === 'stop') return 'stop';
    }
    return 'go';
  }

  #defineMenu(node: Extract<Node, { kind: 'menu' }>, ctx: Ctx, into: MenuEntry[], parentPath: string, depth: number): void {
    if (into.length >= MAX_ENTRIES) return;
    const args = expandWords(node.args, ctx.vars);
    let title = '';
    let id: string | null = null;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--id' || a === '--unrestricted' || a === '--users' || a === '--class' || a === '--hotkey') {
        if (a === '--id') id = args[i + 1] ?? null;
        if (a !== '--unrestricted') i++;
        continue;
      }
      if (a.startsWith('--id=')) {
        id = a.slice(5);
        continue;
      }
      if (a.startsWith('--')) continue;
      if (title === '') title = a;
    }
    const path = `${parentPath}${into.length}`;
    const entry: MenuEntry = { title, id, path, submenu: node.submenu, children: [], source: `${ctx.currentFile}:${node.line}`, boot: null };
    into.push(entry);
    if (node.submenu) {
      for (const child of node.body) {
        if (child.kind === 'menu' && depth < MAX_ENTRIES) this.#defineMenu(child, ctx, entry.children, `${path}>`, depth + 1);
      }
    } else {
      this.#bodies.set(entry, node.body);
    }
  }

  #condition(cond: Node[], ctx: Ctx, depth: number): boolean {
    let status = true;
    for (const n of cond) {
      if (n.kind === 'command') status = this.#command(n.words, ctx, null).ok;
      else if (n.kind === 'if') {
        this.#evalNodes([n], ctx, depth + 1, null);
        status = true;
      }
    }
    return status;
  }

  #command(words: Word[], ctx: Ctx, spec: BootSpec | null): { ok: boolean; flow: Flow } {
    if (words.length === 0) return { ok: true, flow: 'go' };
    let negate = false;
    let ws = words;
    if (ws[0]!.bare === '!') {
      negate = true;
      ws = ws.slice(1);
    }
    const argv = expandWords(ws, ctx.vars);
    const r = this.#run(argv, ws, ctx, spec);
    return { ok: negate ? !r.ok : r.ok, flow: r.flow };
  }

  #run(argv: string[], words: Word[], ctx: Ctx, spec: BootSpec | null): { ok: boolean; flow: Flow } {
    const ok = (b = true): { ok: boolean; flow: Flow } => ({ ok: b, flow: 'go' });
    const cmd = argv[0];
    if (cmd === undefined) return ok();
    const args = argv.slice(1);
    // NAME=value assignments (GRUB accepts them as statements).
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(cmd);
    if (assign && words[0]?.segments[0] && !words[0].segments[0].quoted) {
      ctx.vars.set(assign[1]!, assign[2]! + (args.length ? ` ${args.join(' ')}` : ''));
      return ok();
    }
    switch (cmd) {
      case 'set': {
        for (const a of args) {
          const i = a.indexOf('=');
          if (i > 0) ctx.vars.set(a.slice(0, i), a.slice(i + 1));
        }
        return ok();
      }
      case 'unset':
        for (const a of args) ctx.vars.delete(a);
        return ok();
      case 'true':
        return ok(true);
      case 'false':
        return ok(false);
      case '[':
      case 'test': {
        const list = cmd === '[' ? (args[args.length - 1] === ']' ? args.slice(0, -1) : args) : args;
        return ok(this.#test(list, ctx));
      }
      case 'search':
      case 'search.fs_uuid':
      case 'search.fs_label':
      case 'search.file':
      case 'search_fs_uuid':
      case 'search_label':
      case 'search_fs_file':
        return ok(this.#search(cmd, args, ctx));
      case 'probe':
        return ok(this.#probe(args, ctx));
      case 'configfile':
      case 'normal':
        if (spec) return ok();
        if (!args[0]) return ok();
        ctx.menu.length = 0;
        this.#configfile(args[0], ctx, cmd);
        return { ok: true, flow: 'stop' };
      case 'source':
      case '.':
        if (spec || !args[0]) return ok();
        return { ok: true, flow: this.#configfile(args[0], ctx, 'source') };
      case 'load_env':
        this.#loadEnv(args, ctx);
        return ok();
      case 'blscfg':
        if (!spec) this.#blscfg(ctx);
        return ok();
      case 'linux':
      case 'linuxefi':
      case 'linux16': {
        const files = args.filter((a) => !a.startsWith('--'));
        const path = files[0];
        if (!path) return ok(false);
        const f = { ...this.#file(path, ctx.vars), args: files.slice(1) };
        if (spec) spec.linux = f;
        else ctx.pending.linux = f;
        return ok(f.exists);
      }
      case 'initrd':
      case 'initrdefi':
      case 'initrd16': {
        const files = args.filter((a) => !a.startsWith('--')).map((p) => this.#file(p, ctx.vars));
        if (spec) spec.initrds = files;
        else ctx.pending.initrds = files;
        return ok(files.every((f) => f.exists));
      }
      case 'chainloader': {
        const path = args.filter((a) => !a.startsWith('--'))[0];
        if (spec && path) spec.chainloader = this.#file(path, ctx.vars);
        return ok();
      }
      case 'boot':
        if (!spec && ctx.pending.linux) {
          ctx.direct = { linux: ctx.pending.linux, initrds: ctx.pending.initrds, chainloader: null };
          return { ok: true, flow: 'stop' };
        }
        return ok();
      default:
        // insmod, echo, export, save_env, terminal_*, serial, loadfont, gfxmode, recordfail...: no effect on what boots.
        return ok();
    }
  }

  #test(list: string[], ctx: Ctx): boolean {
    // Split on -o (lowest precedence), then -a.
    const oi = list.indexOf('-o');
    if (oi >= 0) return this.#test(list.slice(0, oi), ctx) || this.#test(list.slice(oi + 1), ctx);
    const ai = list.indexOf('-a');
    if (ai >= 0) return this.#test(list.slice(0, ai), ctx) && this.#test(list.slice(ai + 1), ctx);
    if (list[0] === '!') return !this.#test(list.slice(1), ctx);
    if (list.length === 0) return false;
    if (list.length === 1) return list[0] !== '';
    const [a, b, c] = list as [string, string, string | undefined];
    if (list.length === 2) {
      switch (a) {
        case '-z': return b === '';
        case '-n': return b !== '';
        case '-e':
        case '-f':
        case '-d':
        case '-s': {
          const r = this.resolve(b, ctx.vars);
          if (!r.volume) return false;
          // A device alone ("(hd0,gpt1)") exists when the volume does.
          if (/^\([^)]*\)$/.test(b)) return a === '-e' || a === '-d';
          const kind = r.volume.kind(r.path);
          if (a === '-e') return kind !== null;
          if (a === '-f') return kind === 'file';
          if (a === '-d') return kind === 'dir';
          return kind === 'file' && (r.volume.size(r.path) ?? 0) > 0;
        }
        default: return false;
      }
    }
    switch (b) {
      case '=':
      case '==': return a === c;
      case '!=': return a !== c;
      case '-eq': return Number(a) === Number(c);
      case '-ne': return Number(a) !== Number(c);
      case '-lt': return Number(a) < Number(c);
      case '-le': return Number(a) <= Number(c);
      case '-gt': return Number(a) > Number(c);
      case '-ge': return Number(a) >= Number(c);
      default: return false;
    }
  }

  #search(cmd: string, args: string[], ctx: Ctx): boolean {
    let kind: 'uuid' | 'label' | 'file' = cmd.includes('uuid') ? 'uuid' : cmd.includes('label') ? 'label' : 'file';
    let setVar: string | null = null;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-u' || a === '--fs-uuid') kind = 'uuid';
      else if (a === '-l' || a === '--label') kind = 'label';
      else if (a === '-f' || a === '--file') kind = 'file';
      else if (a === '-s' || a === '--set') {
        // "--set var" or bare "--set" (then root); a following option or the value decides.
        const next = args[i + 1];
        if (next !== undefined && !next.startsWith('-') && i + 2 < args.length) {
          setVar = next;
          i++;
        } else setVar = 'root';
      } else if (a.startsWith('--set=')) setVar = a.slice(6);
      else if (a.startsWith('--hint') || a === '--no-floppy' || a === '-n' || a === '--efidisk-only') {
        if (a === '--hint' || /^--hint-[a-z]+$/.test(a) && !a.includes('=')) i++;
      } else if (!a.startsWith('-')) rest.push(a);
    }
    const value = rest[0];
    if (value === undefined) return false;
    // search.fs_uuid VALUE [VAR]: the variable comes positionally.
    if ((cmd.startsWith('search.') || cmd.startsWith('search_')) && rest[1]) setVar = rest[1];
    setVar ??= 'root';
    const found = this.world.volumes.find((v) => {
      if (kind === 'uuid') return v.uuid !== null && v.uuid.toLowerCase() === value.toLowerCase();
      if (kind === 'label') return v.label !== null && v.label === value;
      return v.kind(value) !== null;
    });
    if (!found) return false;
    ctx.vars.set(setVar, found.name);
    return true;
  }

  #probe(args: string[], ctx: Ctx): boolean {
    let setVar: string | null = null;
    let what: 'uuid' | 'label' | null = null;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--set' || a === '-s') setVar = args[++i] ?? null;
      else if (a.startsWith('--set=')) setVar = a.slice(6);
      else if (a === '--fs-uuid' || a === '-u') what = 'uuid';
      else if (a === '--label' || a === '-l') what = 'label';
      else if (!a.startsWith('-')) rest.push(a);
    }
    const v = rest[0] ? this.volume(rest[0]) : null;
    if (!v || !what) return false;
    const value = what === 'uuid' ? v.uuid : v.label;
    if (value === null) return false;
    if (setVar) ctx.vars.set(setVar, value);
    return true;
  }

  #loadEnv(args: string[], ctx: Ctx): void {
    let file: string | null = null;
    const only: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-f' || a === '--file') file = args[++i] ?? null;
      else if (a.startsWith('--file=')) file = a.slice(7);
      else if (!a.startsWith('-')) only.push(a);
    }
    file ??= `${ctx.vars.get('prefix') ?? ''}/grubenv`;
    const r = this.resolve(file, ctx.vars);
    const bytes = r.volume?.read(r.path, 64 * 1024);
    if (!bytes) return;
    this.files.push(`(${r.volume!.name})${r.path}`);
    for (const [k, v] of Object.entries(parseGrubenv(utf8.decode(bytes)))) {
      if (only.length === 0 || only.includes(k)) ctx.vars.set(k, v);
    }
  }

  /** Fedora/RHEL's blscfg: Boot Loader Specification entries become menu entries, newest first. */
  #blscfg(ctx: Ctx): void {
    if (this.#blsAdded) return;
    this.#blsAdded = true;
    const r = this.resolve(ctx.vars.get('blsdir') ?? '/loader/entries', ctx.vars);
    let dir = r.path;
    let names = r.volume?.list(dir) ?? null;
    if (!names && r.volume && !ctx.vars.get('blsdir')) {
      dir = '/boot/loader/entries';
      names = r.volume.list(dir);
    }
    if (!r.volume || !names) {
      this.problems.push(`blscfg: no ${r.path} on ${r.device ?? '(no device)'}`);
      return;
    }
    const prefixBoot = dir.startsWith('/boot/') ? '/boot' : '';
    const entries: { id: string; e: BlsEntry }[] = [];
    for (const n of names.filter((x) => x.endsWith('.conf')).slice(0, MAX_ENTRIES)) {
      const bytes = r.volume.read(`${dir}/${n}`, 64 * 1024);
      if (bytes) entries.push({ id: n.slice(0, -5), e: parseBlsEntry(utf8.decode(bytes)) });
    }
    entries.sort((a, b) => compareVersions(b.e.version ?? b.id, a.e.version ?? a.id));
    this.files.push(`(${r.volume.name})${dir}/*.conf`);
    for (const { id, e } of entries) {
      const path = String(ctx.menu.length);
      const vars = ctx.vars;
      const expandOpts = (s: string): string[] => s.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, v: string) => vars.get(v) ?? '').split(/\s+/).filter(Boolean);
      const linux = e.linux ? { ...this.#file(`(${r.volume.name})${prefixBoot}${e.linux}`, vars), args: e.options.flatMap(expandOpts) } : null;
      const entry: MenuEntry = {
        title: e.title ?? id, id, path, submenu: false, children: [], source: `(${r.volume.name})${dir}/${id}.conf`,
        boot: { linux, initrds: e.initrd.map((p) => this.#file(`(${r.volume!.name})${prefixBoot}${p}`, vars)), chainloader: null },
      };
      ctx.menu.push(entry);
    }
  }
}

/**
 * grubenv (GRUB lib/envblk.c): "# GRUB Environment Block", then name=value
 * lines where a backslash escapes the next character (so "\\" is a
 * backslash and a backslash before a newline keeps it in the value), padded
 * with '#' to 1024 bytes.
 */
export function parseGrubenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = Math.min(text.length, 64 * 1024);
  while (i < n) {
    // One logical line: up to an unescaped newline.
    let line = '';
    let escaped = false;
    for (; i < n; i++) {
      const c = text[i]!;
      if (escaped) {
        line += c;
        escaped = false;
      } else if (c === '\\') escaped = true;
      else if (c === '\n') break;
      else line += c;
    }
    i++;
    if (line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** GRUB's choice of the default entry: index, "a>b" path, title or id; a submenu boots its first entry. */
export function pickDefault(menu: MenuEntry[], spec: string | null): { entry: MenuEntry | null; fellBack: boolean } {
  const firstLeaf = (e: MenuEntry | undefined): MenuEntry | null => {
    let cur = e;
    while (cur && cur.submenu) cur = cur.children[0];
    return cur ?? null;
  };
  if (menu.length === 0) return { entry: null, fellBack: false };
  if (spec === null || spec === '') return { entry: firstLeaf(menu[0]), fellBack: false };
  let level = menu;
  let found: MenuEntry | undefined;
  for (const part of spec.split('>')) {
    found = /^\d+$/.test(part) ? level[Number(part)] : level.find((e) => e.id === part || e.title === part);
    if (!found) break;
    level = found.children;
  }
  if (!found && !spec.includes('>')) {
    // An id or title anywhere in the tree (saved_entry often names a submenu's child by id).
    const all = (es: MenuEntry[]): MenuEntry[] => es.flatMap((e) => [e, ...all(e.children)]);
    found = all(menu).find((e) => e.id === spec || e.title === spec);
  }
  if (!found) return { entry: firstLeaf(menu[0]), fellBack: true };
  return { entry: firstLeaf(found), fellBack: false };
}

export function walkMenu(menu: MenuEntry[]): MenuEntry[] {
  return menu.flatMap((e) => [e, ...walkMenu(e.children)]);
}

export { expandWord };
