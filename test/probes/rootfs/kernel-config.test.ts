/**
 * Kernel config parsing against the real Debian arm64 configs (both
 * flavours), with grep/sed over the same files as the oracle, and the
 * option states the guest clauses depend on as the notes measured them.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKernelConfig } from '../../../probes/rootfs/kernel-config.js';
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
