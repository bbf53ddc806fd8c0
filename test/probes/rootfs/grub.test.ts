/**
 * The GRUB configuration subset: parsing checked against grub-script-check
 * (GRUB's own parser) on real and broken scripts, and the static evaluation
 * (variables, search, configfile/source, load_env, if, menus, defaults, BLS)
 * on in-memory volumes. The GRUB image reader runs on Debian's real
 * monolithic grubaa64.efi.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferByteSource } from '../../../bytes/byte-source.js';
import { readPe } from '../../../probes/image/pe.js';
import { readGrubCore } from '../../../probes/rootfs/grub-core.js';
import { GrubEvaluator, parseGrubenv, pickDefault, type GrubVolume } from '../../../probes/rootfs/grub-eval.js';
import { expandWord, GrubSyntaxError, parseScript, tokenize } from '../../../probes/rootfs/grub-script.js';
import { memdiskVolume, tarVolume } from '../../../probes/rootfs/volumes.js';
import { efiBinaries } from '../../fixtures/efi-binaries.js';
import { debianGrubCfg, espStubGrubCfg, have, ROOT_UUID } from '../../fixtures/rootfs-builder.js';

/** An in-memory volume: path → text. */
function mem(name: string, partition: number | null, files: Record<string, string>, ids: { uuid?: string; label?: string } = {}): GrubVolume {
  const enc = new TextEncoder();
  const norm = (p: string) => ('/' + p).replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  const dirs = new Set(['/']);
  for (const f of Object.keys(files)) {
    const parts = norm(f).split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/') || '/');
  }
  return {
    name, partition, uuid: ids.uuid ?? null, label: ids.label ?? null,
    kind: (p) => (norm(p) in Object.fromEntries(Object.keys(files).map((f) => [norm(f), 1])) ? 'file' : dirs.has(norm(p)) ? 'dir' : null),
    size: (p) => { const e = Object.entries(files).find(([f]) => norm(f) === norm(p)); return e ? enc.encode(e[1]).length : null; },
    read: (p, max) => { const e = Object.entries(files).find(([f]) => norm(f) === norm(p)); return e ? enc.encode(e[1]).subarray(0, max) : null; },
    readAt: (p, offset, length) => { const e = Object.entries(files).find(([f]) => norm(f) === norm(p)); const b = e ? enc.encode(e[1]) : null; return b && offset + length <= b.length ? b.subarray(offset, offset + length) : null; },
    list: (p) => {
      const d = norm(p);
      if (!dirs.has(d)) return null;
      const pre = d === '/' ? '/' : `${d}/`;
      return [...new Set(Object.keys(files).map(norm).filter((f) => f.startsWith(pre)).map((f) => f.slice(pre.length).split('/')[0]!))];
    },
  };
}

const KERNEL = '6.1.0-50-arm64';

const grubScriptCheck = have('grub-script-check') ? false : 'grub-script-check not installed (Debian package grub-common)';

t.test('parsing agrees with grub-script-check on valid and broken scripts', { skip: grubScriptCheck }, async (t) => {
  const efi = efiBinaries();
  const bytes = readFileSync(efi.grubaa64);
  const core = readGrubCore(bytes, readPe(bytes.subarray(0, 65536), bytes.length))!;
  const memdiskCfg = new TextDecoder().decode(memdiskVolume(core.memdisk!)!.read('/grub.cfg', 65536)!);
  const scripts: Record<string, string> = {
    'debian grub.cfg': debianGrubCfg([KERNEL, '6.1.0-9-arm64']),
    'esp stub': espStubGrubCfg(),
    'debian memdisk grub.cfg': memdiskCfg,
    'embedded config': core.config!,
    quoting: `set a='single $x "q"'\nset b="double \\"$a\\" \${a}"\necho \\$not a\\ var # comment\nmenuentry "x y" --id=xy {\n  linux /v root=UUID=1 "quoted arg" \\\n    continued\n}\n`,
    'nested if': 'if [ -e /a ]; then\n if true; then echo; elif false; then echo; else echo; fi\nfi\n',
    functions: 'function f {\n  echo $1\n}\nf 1\n',
    loops: 'for x in a b; do echo $x; done\nwhile false; do echo; done\n',
  };
  const broken: Record<string, string> = {
    'unterminated quote': "set a='oops\n",
    'missing fi': 'if true; then\necho\n',
    'missing brace': "menuentry 'x' {\n linux /v\n",
    'missing then': 'if true\nfi\n',
  };
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-grub-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const check = (name: string, text: string): boolean => {
    const f = join(dir, name.replace(/\W/g, '_'));
    writeFileSync(f, text);
    return spawnSync('grub-script-check', [f]).status === 0;
  };
  for (const [name, text] of Object.entries(scripts)) {
    t.ok(check(name, text), `${name}: grub-script-check accepts it`);
    t.doesNotThrow(() => parseScript(text), `${name}: we parse it`);
  }
  for (const [name, text] of Object.entries(broken)) {
    t.notOk(check(name, text), `${name}: grub-script-check rejects it`);
    t.throws(() => parseScript(text), GrubSyntaxError, `${name}: we reject it`);
  }
});

t.test('words: quoting and expansion', async (t) => {
  const vars = new Map([['a', 'one two'], ['e', ''], ['menuentry_id_option', '--id']]);
  const words = (s: string) => tokenize(s).flatMap((x) => (x.kind === 'word' ? [expandWord(x.word, vars)] : []));
  t.same(words(`$a "$a" '$a' x\${a}y $e "" \\$a`), [['one', 'two'], ['one two'], ['$a'], ['xone', 'twoy'], [], [''], ['$a']]);
  t.same(words(`$menuentry_id_option 'gnulinux-simple'`), [['--id'], ['gnulinux-simple']]);
});

t.test('the real Debian monolithic GRUB: prefix, embedded config, FAT memdisk', async (t) => {
  const efi = efiBinaries();
  const bytes = readFileSync(efi.grubaa64);
  const core = readGrubCore(bytes, readPe(bytes.subarray(0, 65536), bytes.length));
  t.ok(core);
  t.equal(core!.prefix, '/EFI/debian');
  t.equal(core!.config?.trim(), 'normal (memdisk)/grub.cfg');
  t.ok(core!.modules > 10, `${core!.modules} modules built in`);
  const md = memdiskVolume(core!.memdisk!)!;
  t.equal(md.kind('/grub.cfg'), 'file');
  t.match(new TextDecoder().decode(md.read('/grub.cfg', 4096)!), /source \$cmdpath\/grub\.cfg/);
  t.equal(readGrubCore(readFileSync(efi.systemdBootAa64), readPe(readFileSync(efi.systemdBootAa64).subarray(0, 65536))), null, 'systemd-boot has no mods section');
});

t.test('read as ranges, the GRUB image gives the same core while reading a small part of the file', async (t) => {
  const efi = efiBinaries();
  const bytes = readFileSync(efi.grubaa64);
  const pe = readPe(bytes.subarray(0, 65536), bytes.length);
  const whole = readGrubCore(bytes, pe)!;
  // A real source that counts what is asked of it.
  const asked: [number, number][] = [];
  const file = new (class extends BufferByteSource {
    override read(offset: number, length: number): Uint8Array {
      asked.push([offset, length]);
      return super.read(offset, length);
    }
  })(bytes, 'grubaa64.efi');
  const lazy = readGrubCore(file, pe)!;
  t.same([lazy.prefix, lazy.config, lazy.modules], [whole.prefix, whole.config, whole.modules], 'prefix, config and module count as read whole');
  const cfg = (c: typeof whole): string => new TextDecoder().decode(memdiskVolume(c.memdisk!)!.read('/grub.cfg', 4096)!);
  t.equal(cfg(lazy), cfg(whole), "the memdisk's grub.cfg");
  const read = asked.reduce((n, [, len]) => n + len, 0);
  t.ok(read < bytes.length / 20, `${read} of ${bytes.length} bytes read: module bodies and the memdisk's font are left alone`);
  t.ok(asked.every(([o, n]) => o >= 0 && o + n <= bytes.length), 'every read within the file');
});

t.test('a ustar memdisk (grub-mkstandalone style) made by tar', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmspec-tar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'boot', 'grub'), { recursive: true });
  writeFileSync(join(dir, 'boot', 'grub', 'grub.cfg'), 'search --file --set=root /vmlinuz\nlinux /vmlinuz console=ttyAMA0\nboot\n');
  const tar = execFileSync('tar', ['--format=ustar', '-C', dir, '-cf', '-', 'boot']);
  const v = tarVolume('memdisk', tar)!;
  t.equal(v.kind('/boot/grub/grub.cfg'), 'file');
  t.equal(v.kind('/boot/grub'), 'dir');
  t.same(v.list('/boot'), ['grub']);
  t.equal(memdiskVolume(tar)?.kind('/boot/grub/grub.cfg'), 'file', 'memdiskVolume recognises tar');
  // Top-level linux + boot, as the reference image's standalone GRUB does.
  const esp = mem('hd0,gpt1', 1, { '/vmlinuz': 'MZ' });
  const ev = new GrubEvaluator({ volumes: [esp, v] });
  const r = ev.run('(memdisk)/boot/grub/grub.cfg', new Map([['root', 'memdisk']]));
  t.match(r.direct, { linux: { path: '/vmlinuz', device: 'hd0,gpt1', exists: true, args: ['console=ttyAMA0'] } });
});

t.test('Debian chain: embedded config → memdisk → ESP stub → root grub.cfg', async (t) => {
  const efi = efiBinaries();
  const bytes = readFileSync(efi.grubaa64);
  const core = readGrubCore(bytes, readPe(bytes.subarray(0, 65536), bytes.length))!;
  const uuid = ROOT_UUID;
  const root = mem('hd0,gpt2', 2, {
    '/boot/grub/grub.cfg': debianGrubCfg([KERNEL, '6.1.0-9-arm64'], { cmdline: 'ro console=ttyAMA0 console=hvc0' }),
    [`/boot/vmlinuz-${KERNEL}`]: 'k', [`/boot/initrd.img-${KERNEL}`]: 'i', '/boot/vmlinuz-6.1.0-9-arm64': 'k',
  }, { uuid });
  const run = (espFiles: Record<string, string>) => {
    const esp = mem('hd0,gpt1', 1, espFiles);
    const ev = new GrubEvaluator({ volumes: [esp, root, memdiskVolume(core.memdisk!)!] });
    return ev.runEmbedded(core.config!, '(embedded config)', new Map([['prefix', '(hd0,gpt1)/EFI/debian'], ['root', 'hd0,gpt1'], ['cmdpath', '(hd0,gpt1)/EFI/BOOT'], ['feature_menuentry_id', 'y']]));
  };
  const viaPrefix = run({ '/EFI/BOOT/BOOTAA64.EFI': 'x', '/EFI/debian/grub.cfg': espStubGrubCfg(uuid) });
  t.same(viaPrefix.files, ['(embedded config)', '(memdisk)/grub.cfg', '(hd0,gpt1)/EFI/debian/grub.cfg', '(hd0,gpt2)/boot/grub/grub.cfg']);
  t.equal(viaPrefix.defaultEntry?.title, 'Debian GNU/Linux');
  t.match(viaPrefix.defaultEntry?.boot, {
    linux: { path: `/boot/vmlinuz-${KERNEL}`, device: 'hd0,gpt2', partition: 2, exists: true, args: [`root=UUID=${uuid}`, 'ro', 'console=ttyAMA0', 'console=hvc0'] },
    initrds: [{ path: `/boot/initrd.img-${KERNEL}`, exists: true }],
  });
  t.same(viaPrefix.problems, []);
  // Without \EFI\debian the memdisk config falls back to $cmdpath/grub.cfg.
  const viaCmdpath = run({ '/EFI/BOOT/BOOTAA64.EFI': 'x', '/EFI/BOOT/grub.cfg': espStubGrubCfg(uuid) });
  t.ok(viaCmdpath.files.includes('(hd0,gpt1)/EFI/BOOT/grub.cfg'), 'reads \\EFI\\BOOT\\grub.cfg');
  t.equal(viaCmdpath.defaultEntry?.boot?.linux?.exists, true);
  // Neither: nothing to boot, and the reason is in the problems.
  const none = run({ '/EFI/BOOT/BOOTAA64.EFI': 'x' });
  t.equal(none.defaultEntry, null);
  t.match(none.problems.join('\n'), /source \(hd0,gpt1\)\/EFI\/BOOT\/grub\.cfg: no such file/);
  // The stub names a UUID no volume has.
  const wrongUuid = run({ '/EFI/debian/grub.cfg': espStubGrubCfg('00000000-0000-0000-0000-000000000000') });
  t.equal(wrongUuid.defaultEntry?.boot?.linux?.exists ?? false, false, 'a stub searching for another UUID reaches no kernel');
});

t.test('defaults: index, submenu path, id, title, grubenv saved_entry and next_entry', async (t) => {
  const cfg = debianGrubCfg([KERNEL, '6.1.0-9-arm64'], { defaultEntry: '${saved_entry}' });
  const files = { '/boot/grub/grub.cfg': cfg, [`/boot/vmlinuz-${KERNEL}`]: 'k', '/boot/vmlinuz-6.1.0-9-arm64': 'k' };
  const evalWith = (env: string | null, def?: string) => {
    const f: Record<string, string> = { ...files };
    if (def) f['/boot/grub/grub.cfg'] = debianGrubCfg([KERNEL, '6.1.0-9-arm64'], { defaultEntry: def });
    if (env !== null) f['/boot/grub/grubenv'] = `# GRUB Environment Block\n${env}\n${'#'.repeat(900)}`;
    const root = mem('hd0,gpt2', 2, f, { uuid: ROOT_UUID });
    return new GrubEvaluator({ volumes: [root] }).run('(hd0,gpt2)/boot/grub/grub.cfg', new Map([['root', 'hd0,gpt2'], ['prefix', '(hd0,gpt2)/boot/grub'], ['feature_menuentry_id', 'y']]));
  };
  const second = `gnulinux-6.1.0-9-arm64-advanced-${ROOT_UUID}`;
  const bySaved = evalWith(`saved_entry=${second}`);
  t.equal(bySaved.defaultSpec, second);
  t.equal(bySaved.defaultEntry?.boot?.linux?.path, '/boot/vmlinuz-6.1.0-9-arm64', 'saved_entry by id, inside the submenu');
  t.ok(bySaved.files.includes('(hd0,gpt2)/boot/grub/grubenv'));
  const byNext = evalWith(`next_entry=1>1`);
  t.equal(byNext.defaultSpec, '1>1');
  t.equal(byNext.defaultEntry?.boot?.linux?.path, '/boot/vmlinuz-6.1.0-9-arm64', 'next_entry overrides, as a submenu path');
  t.equal(evalWith(null, '1>0').defaultEntry?.boot?.linux?.path, `/boot/vmlinuz-${KERNEL}`, 'submenu path by index');
  t.equal(evalWith(null, 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-9-arm64').defaultEntry?.boot?.linux?.path, '/boot/vmlinuz-6.1.0-9-arm64', 'submenu path by titles');
  t.equal(evalWith(null, '1').defaultEntry?.title, `Debian GNU/Linux, with Linux ${KERNEL}`, 'a submenu as default boots its first entry');
  const bogus = evalWith(null, 'no such entry');
  t.ok(bogus.defaultFellBack);
  t.equal(bogus.defaultEntry?.title, 'Debian GNU/Linux', 'an unknown default falls back to the first entry');
  const empty = evalWith(null);
  t.equal(empty.defaultSpec, '', 'default="${saved_entry}" with no grubenv');
  t.equal(empty.defaultEntry?.title, 'Debian GNU/Linux');
  t.same(parseGrubenv('# GRUB Environment Block\nsaved_entry=a=b\nx=back\\\\slash\ny=two\\\nlines\n####'), { saved_entry: 'a=b', x: 'back\\slash', y: 'two\nlines' });
  t.same(pickDefault([], '0'), { entry: null, fellBack: false });
});

t.test('search variants, tests, source, and bounds', async (t) => {
  const esp = mem('hd0,gpt1', 1, { '/EFI/BOOT/x.cfg': 'set from_source=yes\n', '/marker': '' }, { uuid: 'ABCD-1234', label: 'ESP' });
  const root = mem('hd0,gpt2', 2, { '/etc/os-release': '', '/boot/grub/loop.cfg': 'configfile (hd0,gpt2)/boot/grub/loop.cfg\n' }, { uuid: ROOT_UUID, label: 'rootfs' });
  const ev = (script: string, vars: [string, string][] = [['root', 'hd0,gpt1']]) => {
    const e = new GrubEvaluator({ volumes: [esp, root] });
    const r = e.runEmbedded(script, '(test)', new Map(vars));
    return r;
  };
  t.equal(ev(`search --no-floppy --fs-uuid --set=dev ${ROOT_UUID.toUpperCase()}`).vars.root, 'hd0,gpt1', 'search --set=dev leaves root alone');
  const r1 = ev(`search.fs_uuid ${ROOT_UUID} root\nset prefix=($root)/boot/grub`);
  t.equal(r1.vars.root, 'hd0,gpt2');
  t.equal(r1.vars.prefix, '(hd0,gpt2)/boot/grub');
  t.equal(ev('search --label --set rootfs').vars.root, 'hd0,gpt2', 'search --label --set VALUE');
  t.equal(ev('search -l rootfs').vars.root, 'hd0,gpt2');
  t.equal(ev('search --file --set=root /etc/os-release').vars.root, 'hd0,gpt2');
  t.equal(ev('search.fs_label ESP found').vars.root, 'hd0,gpt1');
  t.equal(ev('if search --file --set=r /nope; then set a=1; else set root=hd0,gpt2; fi').vars.root, 'hd0,gpt2', 'a failing search is false');
  t.equal(ev('if ! search --file /nope; then set root=X; fi').vars.root, 'X', 'negated command');
  t.equal(ev('if [ -z "$prefix" -o ! -e "$prefix" ]; then set root=A; fi').vars.root, 'A', '-z -o ! -e');
  t.equal(ev('if [ -e (hd0,gpt1)/marker -a -d /EFI ]; then set root=B; fi').vars.root, 'B', '-e -a -d');
  t.equal(ev('if [ -s /marker ]; then set root=C; fi').vars.root, 'hd0,gpt1', '-s of an empty file is false');
  t.equal(ev('if [ "a" = "a" ]; then set root=D; elif true; then set root=E; fi').vars.root, 'D');
  t.equal(ev('if [ 3 -gt 2 ]; then set root=F; fi').vars.root, 'F');
  t.equal(ev('x=1\nif [ $x != 1 ]; then set root=G; fi').vars.root, 'hd0,gpt1', 'NAME=value assignment');
  const sourced = new GrubEvaluator({ volumes: [esp, root] });
  sourced.runEmbedded('source /EFI/BOOT/x.cfg\nif [ "$from_source" = yes ]; then set root=S; fi', '(t)', new Map([['root', 'hd0,gpt1']]));
  t.ok(sourced.files.includes('(hd0,gpt1)/EFI/BOOT/x.cfg'));
  const loop = ev('configfile (hd0,gpt2)/boot/grub/loop.cfg');
  t.match(loop.problems.join('\n'), /more than 16 configuration files/, 'a configfile loop ends');
  const long = ev('set a=1\n'.repeat(120_000));
  t.match(long.problems.join('\n'), /more than 200000 tokens/, 'script size is bounded');
  const bad = ev("menuentry 'x' {\n");
  t.match(bad.problems.join('\n'), /line 1: menuentry/, 'a syntax error is a problem, not an exception');
});

t.test('blscfg: Boot Loader Specification entries, newest first, saved_entry', async (t) => {
  const boot = mem('hd0,gpt2', 2, {
    '/loader/entries/abc-6.5.6-300.fc39.aarch64.conf': 'title Fedora (6.5.6-300.fc39.aarch64)\nversion 6.5.6-300.fc39.aarch64\nlinux /vmlinuz-6.5.6-300.fc39.aarch64\ninitrd /initramfs-6.5.6-300.fc39.aarch64.img\noptions root=UUID=x ro $tuned\n',
    '/loader/entries/abc-6.7.4-200.fc39.aarch64.conf': 'title Fedora (6.7.4-200.fc39.aarch64)\nversion 6.7.4-200.fc39.aarch64\nlinux /vmlinuz-6.7.4-200.fc39.aarch64\ninitrd /initramfs-6.7.4-200.fc39.aarch64.img\noptions root=UUID=x ro console=ttyAMA0\n',
    '/vmlinuz-6.7.4-200.fc39.aarch64': 'k', '/vmlinuz-6.5.6-300.fc39.aarch64': 'k',
    '/grub2/grubenv': '# GRUB Environment Block\nsaved_entry=abc-6.5.6-300.fc39.aarch64\n',
  });
  const script = 'load_env -f (hd0,gpt2)/grub2/grubenv\nset default="${saved_entry}"\nset tuned="quiet"\ninsmod blscfg\nblscfg\n';
  const r = new GrubEvaluator({ volumes: [boot] }).runEmbedded(script, '(t)', new Map([['root', 'hd0,gpt2']]));
  t.same(r.menu.map((e) => e.id), ['abc-6.7.4-200.fc39.aarch64', 'abc-6.5.6-300.fc39.aarch64'], 'newest first');
  t.equal(r.defaultEntry?.id, 'abc-6.5.6-300.fc39.aarch64', 'saved_entry names a BLS entry');
  t.same(r.defaultEntry?.boot?.linux?.args, ['root=UUID=x', 'ro', 'quiet'], '$variables in options expand');
  t.equal(r.defaultEntry?.boot?.linux?.exists, true);
});
