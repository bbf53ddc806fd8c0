import { UnsupportedError } from '../../bytes/errors.js';
import { arr, bool, dict, enumOf, type FactsOf, int, nbool, nint, nobj, nstr, obj, str } from '../facts-schema.js';
import { defineProbe } from '../types.js';
import { defaultInitrdFacts, defaultInitrdJob, endLikelyInitrd, guestView, kernelDetails, startLikelyInitrd, type DefaultKernel, type InitrdFacts } from './guest.js';
import type { ReadOnlyFilesystem } from '../fs/filesystem.js';
import { lookupModule, normaliseModuleName } from './modules.js';
import { bootedModules, guestKernel } from '../evidence/kernel.js';
import { tracker } from '../evidence/read.js';
import type { RunInputs } from '../types.js';

/**
 * `image.kernel-drivers`: for the kernel the image boots by default, what
 * its configuration says about each named option (=y built in, =m a module,
 * not set), whether the module file is installed, and whether it (with
 * every module it depends on) is in that kernel's initrd. The spec judges
 * which of these suffices: a console or interrupt controller must be built
 * in; "in the kernel or initrd" accepts built in or in the initrd.
 */

const option = obj({
  state: enumOf(['y', 'm', 'n', 'value', 'absent'], 'y built in, m module, n "is not set", value a non-tristate value, absent not mentioned'),
  value: nstr('the text after "=" (null for "is not set" and absent)'),
  line: nstr('the config line, e.g. "CONFIG_VIRTIO_PCI=m"'),
  lineNumber: nint('1-based line in the config file'),
  module: nstr('module name asked for (params), "-" folded to "_"'),
  moduleFile: nstr('the module file in the root filesystem (via modules.dep), null when absent'),
  moduleBuiltin: bool('modules.builtin lists the module'),
  inInitrd: nbool('the module and every module it depends on are in the initrd (null: not a module, or no module name given)'),
  initrdPath: nstr('the module inside the initrd'),
  missingDeps: arr(str(), 'dependencies (modules.dep) neither in the initrd nor built in'),
  available: enumOf(
    ['builtin', 'initrd', 'module', 'missing'],
    'builtin: =y; initrd: =m and loadable from the initrd; module: =m, only in the root filesystem; missing: not set, absent, or =m without the module file',
  ),
});

const kernel = obj({
  version: nstr('kernel release of the judged (default) kernel'),
  image: nstr(),
  config: nstr('the config file read (for an embedded one: the kernel image)'),
  configFrom: enumOf(['file', 'ikconfig', null], 'the config file, or the configuration built into the kernel image (CONFIG_IKCONFIG)'),
  initrd: nstr('the initrd that boots with the kernel: its file in the view, or "(hd0,gpt1)/EFI/Linux/x.efi:.initrd" for a unified kernel image\'s'),
  modulesDir: nstr(),
  selectedBy: enumOf(['bootloader', 'symlink', 'newest', 'only', 'booted', null], 'how the default kernel was chosen; booted: the image has no readable root and the kernel the guest booted (in-guest evidence) is judged'),
  why: nstr('the choice in words (bootloader entry, symlink, version order)'),
  configMissing: nstr('why there is no kernel configuration to judge (no kernel, no config file), or null'),
  imageFormat: enumOf(['arm64-image', 'efi-zboot', 'gzip', 'x86-bzimage', 'elf', 'unknown', null]),
  arch: enumOf(['arm64', 'x86', null]),
});

const rootfsSummary = obj({
  unreadable: nstr('why no root filesystem could be read (LVM, LUKS, none), or null'),
  partition: nint('partition holding the root (null: whole disk, or none)'),
  filesystem: enumOf(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', null]),
  decidedBy: enumOf(['cmdline', 'fstab', 'search', null], "what named the root: the default entry's root=, the root's /etc/fstab, or the search (image.rootfs says more)"),
});

const facts = obj({
  initrdUndecided: bool('judged from a booted kernel whose root is not the initramfs: whether a loaded =m module came from the initrd cannot be told'),
  rootfs: rootfsSummary,
  kernel,
  otherKernels: arr(obj({ version: str(), image: nstr(), config: nstr(), initrd: nstr() }), 'kernels installed besides the judged one (not judged)'),
  options: dict(option, 'by Kconfig symbol (as in params)'),
  initrd: nobj({
    path: str(),
    size: int(),
    segments: arr(str(), 'e.g. "cpio newc at 0", "zstd at 512"'),
    entries: int(),
    modules: int('kernel modules for this release inside'),
  }, 'the judged kernel\'s initrd, when it was read (only when an option is =m)'),
});

export const kernelDriversProbe = defineProbe({
  name: 'image.kernel-drivers',
  summary: "The default kernel's config state of named options (=y/=m/unset), module files, and initrd membership (gzip/zstd/xz cpio)",
  input: 'image',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['options'],
    properties: {
      options: {
        type: 'array',
        minItems: 1,
        maxItems: 32,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['config'],
          properties: {
            config: { type: 'string', pattern: '^CONFIG_[A-Z0-9_]+$', description: 'Kconfig symbol, e.g. CONFIG_VIRTIO_PCI' },
            module: { type: 'string', pattern: '^[a-z0-9_-]+$', description: 'module the option builds (for tristate options), e.g. virtio_pci' },
          },
        },
      },
    },
  },
  facts,
  prepare(inputs, params) {
    // The initrd is listed (its gunzip on the thread pool) while the boot chain is followed, the kernel's
    // configuration and module lists are parsed and the probes before this one run. The one the image most likely
    // boots is read first, in parts handed to the gunzip as it takes them; the boot chain that names the initrd it
    // boots is followed once the last part is handed over, and the listing of that initrd adopts the likely one's (or starts its own,
    // read in parts, the last of which may be handed over in a turn of the event loop the engine gives between
    // clauses). It is read in vain when every named option is built in or its module file is missing.
    const wanted = (params.options as { config: string; module?: string }[]) ?? [];
    const image = inputs.image;
    if (!image || !wanted.some((o) => o.module)) return;
    const memo = inputs.memo;
    const started = startLikelyInitrd(image, memo).then(() => {
      try {
        const view = guestView(image, memo);
        const dk = view.defaultKernel;
        if (!view.os || !dk) return null;
        const job = defaultInitrdJob(view.os.fs, dk, memo);
        job.facts.catch(() => {}); // run awaits the same promise and reports its failure
        return { job, fs: view.os.fs, dk };
      } finally {
        endLikelyInitrd(memo);
      }
    });
    // Once the file is read, what run does without the initrd (the kernel's configuration, the modules' files) is done
    // while the gunzip runs: what is left when it ends is only the initrd's own part.
    const early = ({ fs, dk }: { fs: ReadOnlyFilesystem; dk: DefaultKernel }): void => {
      try {
        const details = kernelDetails(fs, dk.kernel, memo);
        for (const o of wanted) if (o.module && details.modules) lookupModule(fs, details.modules, normaliseModuleName(o.module));
      } catch {
        // run meets the same failure and reports it.
      }
    };
    return {
      ready: started.then(async (s) => {
        if (!s) return;
        await s.job.read;
        early(s);
      }),
      handing: started.then(async (s) => {
        await s?.job.fed;
      }),
    };
  },
  async run(inputs, params) {
    if (!inputs.image) throw new UnsupportedError('image.kernel-drivers needs an image');
    const wanted = (params.options as { config: string; module?: string }[]) ?? [];
    const view = guestView(inputs.image, inputs.memo);
    const kernelFacts: FactsOf<typeof kernel> = {
      version: null, image: null, config: null, configFrom: null, initrd: null, modulesDir: null, selectedBy: null, why: null, configMissing: null, imageFormat: null, arch: null,
    };
    const out: FactsOf<typeof facts> = {
      initrdUndecided: false,
      rootfs: {
        unreadable: view.rootfs.unreadable,
        partition: view.root?.partition?.number ?? null,
        filesystem: view.root?.filesystem ?? null,
        decidedBy: view.os?.decidedBy ?? null,
      },
      kernel: kernelFacts,
      otherKernels: [],
      options: {},
      initrd: null,
    };
    if (!view.os) {
      if (inputs.evidence) return fromBootedKernel(inputs, wanted, out);
      // The reason first: messages show the start of a long value.
      kernelFacts.configMissing = `${view.rootfs.unreadable ?? 'no readable root filesystem'}; boot the image (vmspec boot) to judge the kernel it boots`;
      return out;
    }
    const dk = view.defaultKernel;
    if (!dk) {
      kernelFacts.configMissing = 'no kernel installed (no /boot/vmlinuz-*, no module tree under /lib/modules or /usr/lib/modules)';
      return out;
    }
    const k = dk.kernel;
    out.otherKernels = view.kernels.filter((x) => x !== k).map((x) => ({ version: x.version, image: x.image, config: x.config, initrd: x.initrd }));
    // A UKI's kernel boots with the UKI's .initrd, not the root's /boot/initrd.img-V.
    const initrdPath = dk.initrd === undefined ? k.initrd : dk.initrd?.path ?? null;
    Object.assign(kernelFacts, { version: k.version, image: k.image, config: k.config, initrd: initrdPath, modulesDir: k.modulesDir, selectedBy: dk.selectedBy, why: dk.why });
    const details = kernelDetails(view.os.fs, k, inputs.memo);
    kernelFacts.configMissing = details.configMissing;
    kernelFacts.configFrom = details.configFrom;
    if (details.configFrom === 'ikconfig') kernelFacts.config = k.image;
    kernelFacts.imageFormat = details.image?.format ?? null;
    kernelFacts.arch = details.image?.arch ?? null;
    if (!details.config) return out;
    const config = details.config;
    let initrd: InitrdFacts | null | undefined;
    const options: FactsOf<typeof facts>['options'] = {};
    for (const o of wanted) {
      const c = config.get(o.config);
      const module = o.module ? normaliseModuleName(o.module) : null;
      const entry: FactsOf<typeof option> = {
        state: c.state, value: c.value, line: c.line, lineNumber: c.lineNumber, module,
        moduleFile: null, moduleBuiltin: false, inInitrd: null, initrdPath: null, missingDeps: [], available: 'missing',
      };
      options[o.config] = entry;
      const look = module && details.modules ? lookupModule(view.os.fs, details.modules, module) : null;
      if (look) {
        entry.moduleFile = look.file;
        entry.moduleBuiltin = look.builtin;
      }
      if (c.state === 'y') {
        entry.available = 'builtin';
        continue;
      }
      if (c.state !== 'm') continue;
      if (!module) {
        // A module without a name to look for: present as far as the config says.
        entry.available = 'module';
        continue;
      }
      if (!look?.file) continue; // =m but the module file is not installed: missing.
      entry.available = 'module';
      if (initrd === undefined) initrd = await defaultInitrdFacts(view.os.fs, dk, inputs.memo);
      if (!initrd) {
        entry.inInitrd = false;
        continue;
      }
      const inside = initrd.modules.get(module);
      entry.initrdPath = inside?.path ?? null;
      const builtin = details.modules?.builtin;
      const missingDeps = look.deps.filter((d) => !initrd!.modules.has(d) && !(builtin?.has(d) ?? false));
      entry.missingDeps = missingDeps;
      entry.inInitrd = Boolean(inside) && missingDeps.length === 0;
      if (entry.inInitrd) entry.available = 'initrd';
    }
    out.options = options;
    if (initrd) {
      out.initrd = {
        path: initrd.path,
        size: initrd.size,
        segments: initrd.listing.segments.map((s) => (s.compression ? `${s.compression} at ${s.offset}` : `cpio ${s.format ?? ''} at ${s.offset}`)),
        entries: initrd.listing.entries.length,
        modules: initrd.modules.size,
      };
    }
    return out;
  },
});

/**
 * No readable root: the kernel the guest booted decides, from its own
 * configuration and modules in the evidence (probes/evidence/kernel.ts).
 * =y is built in; =m is "initrd" when the running root is the initramfs
 * and holds or loaded the module, "missing" when it has neither; with a
 * real root, where a loaded module came from cannot be told
 * (`initrdUndecided`).
 */
function fromBootedKernel(inputs: RunInputs, wanted: { config: string; module?: string }[], out: FactsOf<typeof facts>): FactsOf<typeof facts> {
  const t = tracker(inputs, 'image.kernel-drivers');
  const k = guestKernel(t);
  const booted = bootedModules(t);
  Object.assign(out.kernel, {
    version: k.release, config: k.configSource, selectedBy: 'booted',
    why: 'the image has no readable root filesystem: the kernel the guest booted, from its configuration and modules in the evidence',
  });
  if (!k.config) {
    out.kernel.configMissing = 'no readable root filesystem, and the evidence has no kernel configuration (/proc/config.gz or /boot/config-RELEASE)';
    return out;
  }
  for (const o of wanted) {
    const c = k.config.get(o.config);
    const module = o.module ? normaliseModuleName(o.module) : null;
    const loaded = module !== null && k.modules.includes(module);
    const hasFile = module !== null && (booted.files?.has(module) ?? false);
    const entry: FactsOf<typeof option> = {
      state: c.state, value: c.value, line: c.line, lineNumber: c.lineNumber, module,
      moduleFile: null, moduleBuiltin: module !== null && booted.builtin.has(module), inInitrd: null, initrdPath: null, missingDeps: [], available: 'missing',
    };
    out.options[o.config] = entry;
    if (c.state === 'y') entry.available = 'builtin';
    else if (c.state === 'm') {
      if (!module) entry.available = 'module';
      else if (booted.rootIsInitramfs === true) {
        entry.inInitrd = loaded || hasFile;
        entry.available = entry.inInitrd ? 'initrd' : booted.files === null && !loaded ? 'module' : 'missing';
        if (booted.files === null && !loaded) out.initrdUndecided = true;
      } else {
        entry.available = loaded || hasFile ? 'module' : 'missing';
        out.initrdUndecided = true;
      }
    }
  }
  return out;
}
