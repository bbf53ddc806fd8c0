/**
 * Kernel config parsing against the real Debian arm64 configs (both
 * flavours), with grep/sed over the same files as the oracle, and the
 * option states the guest clauses depend on as the notes measured them.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKernelConfig, MAX_CONFIG_LINES } from '../../../probes/rootfs/kernel-config.js';
import { run } from '../../fixtures/cache.js';
import { debianKernel, editConfig, fastFixturesUnavailable } from '../../fixtures/rootfs-builder.js';

const unavailable = fastFixturesUnavailable();

t.test('real Debian arm64 configs: every line agrees with grep', { skip: unavailable }, async (t) => {
  for (const flavour of ['arm64', 'cloud-arm64'] as const) {
    const k = debianKernel(flavour);
    const path = join(k.root, 'boot', `config-${k.version}`);
    const cfg = parseKernelConfig(readFileSync(path, 'utf8'));
    // Oracle: the lines as grep sees them.
    const set = new Map<string, string>();
    for (const line of run('grep', ['-E', '^CONFIG_[A-Za-z0-9_]+=', path]).split('\n').filter(Boolean)) {
      const i = line.indexOf('=');
      set.set(line.slice(0, i), line.slice(i + 1));
    }
    const unset = run('sed', ['-n', 's/^# \\(CONFIG_[A-Za-z0-9_]*\\) is not set$/\\1/p', path]).split('\n').filter(Boolean);
    t.equal(cfg.options.size, set.size + unset.length, `${flavour}: ${set.size} set + ${unset.length} unset options`);
    let mismatches = 0;
    for (const [name, value] of set) {
      const o = cfg.get(name);
      const state = value === 'y' ? 'y' : value === 'm' ? 'm' : value === 'n' ? 'n' : 'value';
      if (o.state !== state || o.value !== value || o.line !== `${name}=${value}`) mismatches++;
    }
    for (const name of unset) if (cfg.get(name).state !== 'n' || cfg.get(name).value !== null) mismatches++;
    t.equal(mismatches, 0, `${flavour}: every option agrees with grep`);
    t.equal(cfg.malformedLines, 0, `${flavour}: no malformed lines`);
    // Line numbers: grep -n is the oracle.
    for (const name of ['CONFIG_SERIAL_AMBA_PL011', 'CONFIG_VIRTIO_PCI', 'CONFIG_IKCONFIG']) {
      const n = Number(run('grep', ['-n', '-E', `^(${name}=|# ${name} is not set)`, path]).split(':')[0]);
      t.equal(cfg.get(name).lineNumber, n, `${flavour}: ${name} on line ${n}`);
    }
    // What the guest clauses read (the notes measured these for 6.1 arm64).
    const want: Record<string, string> = {
      CONFIG_SERIAL_AMBA_PL011: 'y', CONFIG_SERIAL_AMBA_PL011_CONSOLE: 'y', CONFIG_ARM_GIC: 'y', CONFIG_ARM_GIC_V3: 'y',
      CONFIG_RTC_DRV_EFI: 'y', CONFIG_EFI: 'y', CONFIG_XEN: 'y', CONFIG_HVC_XEN: 'y', CONFIG_XEN_BALLOON: 'y',
      CONFIG_VIRTIO_PCI: 'm', CONFIG_VIRTIO_MMIO: 'm', CONFIG_VIRTIO_BLK: 'm', CONFIG_VIRTIO_NET: 'm',
      CONFIG_XEN_BLKDEV_FRONTEND: 'm', CONFIG_XEN_NETDEV_FRONTEND: 'm', CONFIG_IKCONFIG: 'n',
    };
    for (const [name, state] of Object.entries(want)) t.equal(cfg.get(name).state, state, `${flavour}: ${name} is ${state}`);
    t.equal(cfg.get('CONFIG_EXT4_FS').state, flavour === 'cloud-arm64' ? 'y' : 'm', `${flavour}: ext4 built in only in the cloud flavour`);
    t.same(cfg.get('CONFIG_NOT_A_REAL_OPTION'), { name: 'CONFIG_NOT_A_REAL_OPTION', state: 'absent', value: null, lineNumber: null, line: null });
    t.equal(cfg.get('CONFIG_CMDLINE').state, 'value', 'a string option is a value');
  }
});

t.test('edited configs read as the editor left them', { skip: unavailable }, async (t) => {
  const k = debianKernel('arm64');
  const text = readFileSync(join(k.root, 'boot', `config-${k.version}`), 'utf8');
  const edited = parseKernelConfig(editConfig(text, { CONFIG_SERIAL_AMBA_PL011: 'n', CONFIG_ARM_GIC_V3: null, CONFIG_VIRTIO_PCI: 'y', CONFIG_NEW_THING: 'm' }));
  t.match(edited.get('CONFIG_SERIAL_AMBA_PL011'), { state: 'n', line: '# CONFIG_SERIAL_AMBA_PL011 is not set' });
  t.equal(edited.get('CONFIG_ARM_GIC_V3').state, 'absent');
  t.equal(edited.get('CONFIG_VIRTIO_PCI').state, 'y');
  t.equal(edited.get('CONFIG_NEW_THING').state, 'm');
});

t.test('odd input: later lines win, CRLF, garbage, empty', async (t) => {
  const c = parseKernelConfig('CONFIG_A=y\r\n# CONFIG_A is not set\nCONFIG_B="str with = sign"\n  CONFIG_C=m  \nnot a config line\n#comment\n\nCONFIG_D=0x10\n');
  t.match(c.get('CONFIG_A'), { state: 'n', lineNumber: 2 });
  t.match(c.get('CONFIG_B'), { state: 'value', value: '"str with = sign"' });
  t.match(c.get('CONFIG_C'), { state: 'm' });
  t.match(c.get('CONFIG_D'), { state: 'value', value: '0x10' });
  t.equal(c.malformedLines, 1);
  t.equal(parseKernelConfig('').options.size, 0);
  t.equal(parseKernelConfig('\0\0\0binary').malformedLines, 1);
});

/** Every option name in `text` (and each altered), looked up alone, is what reading every line says; returns how many were present. */
function lookupsAgree(t: Test, text: string, what: string): number {
  const full = parseKernelConfig(text);
  const every = full.options;
  const alone = parseKernelConfig(text);
  // Every name, and each (every tenth of a real config's) altered three ways: near misses.
  const step = every.size > 100 ? 10 : 1;
  const names = [...every.keys()].flatMap((n, i) => (i % step ? [n] : [n, n.slice(0, -1), `${n}X`, n.replace('CONFIG_', 'CONFIG_X')]));
  const differ = names.filter((n) => JSON.stringify(alone.get(n)) !== JSON.stringify(full.get(n)));
  t.same(differ, [], `${what}: ${names.length} names (${every.size} present) looked up alone agree with reading every line`);
  return every.size;
}

t.test('an option looked up alone (found by a search of the text) is what reading every line gives', async (t) => {
  const awkward = [
    'CONFIG_A=y',
    'CONFIG_AB=m', // a name that starts with another
    '\tCONFIG_TAB=y\t',
    'CONFIG_LATER=y',
    '# CONFIG_LATER is not set', // the later line wins
    'CONFIG_X=1 # CONFIG_Y is not set', // one line, two names: only the first is an option
    '# CONFIG_Y is not set trailing words',
    'CONFIG_SEP=a\u2028b', // a line separator in a value: not an option line
    'CONFIG_CR=a\rb',
    'CONFIG_EMPTY=',
    'xCONFIG_PREFIXED=y',
    '#CONFIG_NOSPACE is not set',
    'CONFIG_LAST=y',
  ].join('\n');
  lookupsAgree(t, awkward, 'awkward');
  const c = parseKernelConfig(awkward);
  t.match(c.get('CONFIG_LATER'), { state: 'n', lineNumber: 5 });
  t.match(c.get('CONFIG_X'), { state: 'value', value: '1 # CONFIG_Y is not set' });
  t.equal(c.get('CONFIG_Y').state, 'absent');
  t.equal(c.get('CONFIG_SEP').state, 'absent');
  t.match(c.get('CONFIG_LAST'), { state: 'y', lineNumber: 13 });
  t.equal(c.get('lower_case').state, 'absent', 'a name that is not CONFIG_… is looked up by reading every line');
  t.equal(parseKernelConfig(Array.from({ length: 9 }, (_, i) => `CONFIG_O${i}=y`).join('\n')).hasOptions(10), false, 'nine options are not ten');
  t.equal(parseKernelConfig(Array.from({ length: 10 }, (_, i) => `CONFIG_O${i}=y`).join('\n')).hasOptions(10), true);
  t.equal(parseKernelConfig(Array.from({ length: 12 }, () => 'CONFIG_SAME=y').join('\n')).hasOptions(10), false, 'options are counted by name');
});

t.test('real configs: every option looked up alone agrees with reading every line, and line numbers with grep -n', { skip: unavailable }, async (t) => {
  for (const flavour of ['arm64', 'cloud-arm64'] as const) {
    const k = debianKernel(flavour);
    const path = join(k.root, 'boot', `config-${k.version}`);
    const text = readFileSync(path, 'utf8');
    t.ok(lookupsAgree(t, text, flavour) > 4000, `${flavour}: thousands of options`);
    const alone = parseKernelConfig(text);
    for (const name of ['CONFIG_SERIAL_AMBA_PL011', 'CONFIG_VIRTIO_PCI', 'CONFIG_IKCONFIG', 'CONFIG_CMDLINE']) {
      const n = Number(run('grep', ['-n', '-E', `^(${name}=|# ${name} is not set)`, path]).split(':')[0]);
      t.equal(alone.get(name).lineNumber, n, `${flavour}: ${name} on line ${n}, found alone`);
    }
  }
});

t.test(`lines past the first ${MAX_CONFIG_LINES} are not read, by a lookup as by reading every line`, async (t) => {
  const lines = ['CONFIG_LATE=y', ...Array.from({ length: MAX_CONFIG_LINES - 2 }, (_, i) => `# filler ${i}`), 'CONFIG_EDGE=m', '# past the limit', 'CONFIG_LATE=m', 'CONFIG_PAST=y'];
  const text = lines.join('\n');
  const lookup = parseKernelConfig(text);
  t.match(lookup.get('CONFIG_EDGE'), { state: 'm', lineNumber: MAX_CONFIG_LINES }, 'the last line read counts');
  t.match(lookup.get('CONFIG_LATE'), { state: 'y', lineNumber: 1 }, 'a setting past the limit does not override an earlier one');
  t.equal(lookup.get('CONFIG_PAST').state, 'absent', 'an option only past the limit is absent');
  const every = parseKernelConfig(text).options;
  t.same([every.get('CONFIG_EDGE')?.lineNumber, every.get('CONFIG_LATE')?.lineNumber, every.has('CONFIG_PAST')], [MAX_CONFIG_LINES, 1, false], 'as reading every line says');
});
